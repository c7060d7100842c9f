"""``modelhealth demo``: a month of nightly checks on the shipped data, told as a story."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from modelhealth.cli.common import fail, load_or_exit, out
from modelhealth.cli.crash import remember_output_folder

__all__ = ["demo"]


def demo(
    data: Annotated[
        Path | None,
        typer.Option(
            help="Folder with register.yaml and demo/logs. Default: the copy shipped in the "
            "package."
        ),
    ] = None,
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Output folder. Emptied first if it is empty or an earlier demo's; any "
            "other folder is refused unless --force.",
        ),
    ] = Path("demo-out"),
    force: Annotated[
        bool, typer.Option("--force", help="Empty --out even if the demo did not write it.")
    ] = False,
    nights: Annotated[
        int | None, typer.Option(help="Only the first N nights (default: the whole month).")
    ] = None,
) -> None:
    """Run a month of nightly checks on the shipped data and tell the ladder's story."""
    import time

    from modelhealth.demo import run_demo, shipped_data
    from modelhealth.demo.story import FIRST_NIGHT, DemoFolderRefused

    if data is None:
        try:
            shipped = shipped_data()
        except FileNotFoundError as exc:
            fail(str(exc))
        register, logs = shipped.register, shipped.logs
    else:
        register, logs = data / "register.yaml", data / "demo" / "logs"
    if not logs.is_dir():
        fail(f"demo logs not found at {logs}: pass --data with register.yaml and demo/logs")
    if nights is not None and not 1 <= nights <= 30:
        fail(f"--nights must be between 1 and 30, not {nights}")
    loaded = load_or_exit(register)
    remember_output_folder(out_dir)
    out.print(
        f"[bold]modelhealth demo[/] — register {escape(repr(loaded.register.name))} "
        f"({loaded.version}), logs {escape(str(logs))}",
        highlight=False,
    )
    started = time.perf_counter()
    try:
        result = run_demo(loaded, logs, out_dir, console=out, nights=nights, force=force)
    except DemoFolderRefused as exc:
        fail(str(exc))
    elapsed = time.perf_counter() - started
    reg, state = shlex.quote(str(register.resolve())), shlex.quote(result.state_url)
    night = result.last_report.as_of
    out.print(
        f"\nHTML report of the last night: [bold]{escape(str(result.html))}[/]", highlight=False
    )
    lines = [
        f"Ladder state: {result.state_url}",
        f"  modelhealth ladder status --register {reg} --state {state}",
        f"  modelhealth ladder history --register {reg} --state {state}",
    ]
    for record in result.records:
        what = "Post-incident review" if "review" in record.name else "Stakeholder brief"
        lines.append(f"{what}: {record}")
    if result.records:
        lines += [
            "  read them from the store:",
            f"  modelhealth ladder brief esc-1 --register {reg} --state {state}",
            f"  modelhealth ladder pir --list --register {reg} --state {state}",
            f"  modelhealth ladder sla-review --week 2026-W42 --register {reg} --state {state}",
        ]
    lines += [
        f"MLflow runs: {result.tracking_uri}",
        f"  mlflow ui --backend-store-uri {shlex.quote(result.tracking_uri)}",
        "Check a night of the shipped logs yourself (nothing recorded):",
        f"  modelhealth check --register {reg} --logs {shlex.quote(str(logs.resolve()))} "
        f"--as-of {night} --out {shlex.quote(str((out_dir / 'my-check').resolve()))} --no-ladder",
        f"Nights {FIRST_NIGHT} … {night} done in {elapsed:.0f} s.",
    ]
    for line in lines:
        out.print(line, highlight=False, markup=False, soft_wrap=True)
    issued = result.desk_token
    if issued is not None:
        # Last, so a new user sees the desk in one step: the command and a ready token.
        out.print(
            f"\n[bold]See the month on the escalation desk[/] as {escape(issued.person)}, the "
            "demo's approver:",
            highlight=False,
        )
        out.print(
            f"  modelhealth serve --register {reg} --state {state}\n"
            f"  then open http://127.0.0.1:8080/login and paste {issued.person}'s token "
            f"(valid until {issued.expires_at:%Y-%m-%d}):\n"
            f"  {issued.token}\n"
            f'  or: curl -H "Authorization: Bearer {issued.token}" '
            "http://127.0.0.1:8080/api/inbox",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
