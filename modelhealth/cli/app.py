"""The ``modelhealth`` command line: the composition root of thresholds, monitor and ladder.

Each command group lives in its own module (``check``, ``thresholds``, ``ladder``,
``drift``, ``schema``, ``demo``, ``people``, ``serve``); this one mounts them. Exit codes
are listed in :mod:`modelhealth.cli.common` and README.md.

An uncaught exception never exits 1 or 0: :func:`modelhealth.cli.crash.run_app` turns it
into exit 3 with the path of a log file that holds the traceback.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperGroup
from typer.main import get_group_from_info
from typer.models import TyperInfo

from modelhealth.cli import schema, thresholds
from modelhealth.cli.check import check
from modelhealth.cli.demo import demo
from modelhealth.cli.drift import app as drift_app
from modelhealth.cli.init import init
from modelhealth.cli.serve import serve

if TYPE_CHECKING:
    from typer import _click as click  # the click typer builds on (vendored in typer)

__all__ = ["app", "main"]

#: Command groups mounted when they are named (or listed by ``--help``), not on every
#: start: their modules import the ladder package and SQLAlchemy, about 0.35 s that
#: ``check`` and ``demo`` do not need. Name -> (module, Typer attribute, help, the
#: command ``--help`` lists it after).
LAZY_GROUPS: dict[str, tuple[str, str, str | None, str]] = {
    "ladder": (
        "modelhealth.cli.ladder",
        "app",
        "Escalation ladder: status, approvals, history, diagram, stats, events, audit.",
        "thresholds",
    ),
    "people": ("modelhealth.cli.people", "people_app", None, "drift"),
}


class _Commands(TyperGroup):
    """The top-level group: the groups of :data:`LAZY_GROUPS` are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = [name for name in super().list_commands(ctx) if name not in LAZY_GROUPS]
        for name, (*_, after) in LAZY_GROUPS.items():
            names.insert(names.index(after) + 1 if after in names else len(names), name)
        return names

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_GROUPS and cmd_name not in self.commands:
            module, attribute, help_text, _ = LAZY_GROUPS[cmd_name]
            sub = getattr(importlib.import_module(module), attribute)
            info = (
                TyperInfo(sub, name=cmd_name)
                if help_text is None
                else TyperInfo(sub, name=cmd_name, help=help_text)
            )
            self.add_command(
                get_group_from_info(
                    info,
                    pretty_exceptions_short=app.pretty_exceptions_short,
                    suggest_commands=app.suggest_commands,
                    rich_markup_mode=app.rich_markup_mode,
                ),
                cmd_name,
            )
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    cls=_Commands,
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
app.add_typer(schema.app, name="schema")
app.add_typer(drift_app, name="drift")
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
