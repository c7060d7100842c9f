"""The ``modelhealth`` command line: the composition root of thresholds, monitor and ladder.

Each command group lives in its own module (``check``, ``thresholds``, ``ladder``,
``drift``, ``schema``, ``demo``, ``people``, ``serve``); this one mounts them. Exit codes
are listed in :mod:`modelhealth.cli.common` and README.md.

An uncaught exception never exits 1 or 0: :func:`modelhealth.cli.crash.run_app` turns it
into exit 3 with the path of a log file that holds the traceback.
"""

from __future__ import annotations

from typing import Annotated

import typer

from modelhealth.cli import schema, thresholds
from modelhealth.cli.check import check
from modelhealth.cli.demo import demo
from modelhealth.cli.drift import app as drift_app
from modelhealth.cli.init import init
from modelhealth.cli.ladder import app as ladder_app
from modelhealth.cli.people import people_app
from modelhealth.cli.serve import serve

__all__ = ["app", "main"]

app = typer.Typer(
    name="modelhealth",
    help="Nightly health checks for production ML and LLM models, and the escalation ladder "
    "that turns a breach into an accountable, budgeted decision.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        from modelhealth import __version__

        try:
            installed = version("modelhealth")
        except PackageNotFoundError:  # run from a source tree without installing
            installed = __version__
        typer.echo(f"modelhealth {installed}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Nightly health checks for production ML and LLM models, and the escalation ladder
    that turns a breach into an accountable, budgeted decision."""


app.add_typer(thresholds.app, name="thresholds")
app.add_typer(
    ladder_app,
    name="ladder",
    help="Escalation ladder: status, approvals, history, diagram, stats, events, audit.",
)
app.add_typer(schema.app, name="schema")
app.add_typer(drift_app, name="drift")
app.add_typer(people_app, name="people")
app.command("check")(check)
app.command("demo")(demo)
app.command("serve")(serve)
app.command("init")(init)


def main() -> None:
    """Console-script entry point (exit codes: README.md, :mod:`modelhealth.cli.crash`)."""
    from modelhealth.cli.crash import main as guarded_main

    guarded_main()


if __name__ == "__main__":
    main()
