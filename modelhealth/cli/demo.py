"""``modelhealth demo``: a month of nightly checks on the shipped data, told as a story."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from modelhealth.cli.common import fail, load_or_exit, out
from modelhealth.cli.crash import remember_output_folder

__all__ = ["demo"]


def demo(
    data: Annotated[Path, typer.Option(help="Folder with register.yaml and demo/logs.")] = Path(
        "data"
    ),
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder (emptied).")] = Path(
        "demo-out"
    ),
    nights: Annotated[
        int | None, typer.Option(help="Only the first N nights (default: the whole month).")
    ] = None,
) -> None:
    """Run a month of nightly checks on the shipped data and tell the ladder's story."""
    import time

    from modelhealth.demo import run_demo

    register, logs = data / "register.yaml", data / "demo" / "logs"
    if not logs.is_dir():
        fail(f"demo logs not found at {logs}: run from the repository root, or pass --data")
    loaded = load_or_exit(register)
    remember_output_folder(out_dir)
    out.print(
        f"[bold]modelhealth demo[/] — register {escape(repr(loaded.register.name))} "
        f"({loaded.version}), logs {escape(str(logs))}",
        highlight=False,
    )
    started = time.perf_counter()
    result = run_demo(loaded, logs, out_dir, console=out, nights=nights)
    elapsed = time.perf_counter() - started
    out.print(
        f"\nHTML report of the last night: [bold]{escape(str(result.html))}[/]", highlight=False
    )
    out.print(
        f"Ladder state: {result.state_url}  (try: modelhealth ladder history "
        f"--register {register} --state {result.state_url})",
        highlight=False,
        markup=False,
    )
    for record in result.records:
        what = "Post-incident review" if "review" in record.name else "Stakeholder brief"
        out.print(f"{what}: {record}", highlight=False, markup=False)
    if result.records:
        out.print(
            f"  (read them from the store: modelhealth ladder brief esc-1 --register {register} "
            f"--state {result.state_url}; modelhealth ladder pir --list --register {register} "
            f"--state {result.state_url}; modelhealth ladder sla-review --week 2026-W42 "
            f"--register {register} --state {result.state_url})",
            highlight=False, markup=False,
        )
    out.print(
        f"MLflow runs: {result.tracking_uri}  (mlflow ui --backend-store-uri "
        f"{result.tracking_uri})",
        highlight=False,
        markup=False,
    )
    out.print(f"Done in {elapsed:.0f} s.", highlight=False)
    issued = result.desk_token
    if issued is not None:
        # Last, so a new user sees the desk in one step: the command and a ready token.
        out.print(
            f"\n[bold]See the month on the escalation desk[/] as {escape(issued.person)}, the "
            "demo's approver:",
            highlight=False,
        )
        out.print(
            f"  modelhealth serve --register {register} --state {result.state_url}\n"
            f"  then open http://127.0.0.1:8080/login and paste {issued.person}'s token "
            f"(valid until {issued.expires_at:%Y-%m-%d}):\n"
            f"  {issued.token}\n"
            f'  or: curl -H "Authorization: Bearer {issued.token}" '
            "http://127.0.0.1:8080/api/inbox",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
