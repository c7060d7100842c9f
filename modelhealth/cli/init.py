"""``modelhealth init``: write a starting register from a sample of your own logs."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from modelhealth.cli.common import err, fail, out

__all__ = ["init"]


def init(
    logs: Annotated[
        list[str],
        typer.Option(
            "--logs",
            "-l",
            help="A sample of your prediction logs: Parquet, CSV or JSON Lines file or folder, "
            "or an fsspec URL (s3://, gs://, abfs://, file://). Repeat for several.",
        ),
    ],
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="Only this model (or its id when the logs have none)."),
    ] = None,
    output: Annotated[Path, typer.Option("--out", "-o", help="Register file to write.")] = Path(
        "register.yaml"
    ),
    name: Annotated[
        str | None, typer.Option("--name", help="Register name. Default: the output file's stem.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a starting register inferred from a sample of your logs.

    Infers the column mapping (score → confidence, duration_ms → latency_ms …), the latency
    unit, error from a status column, output types, and limits from the sample's own
    distribution, with a comment on where each number came from; states what it could not
    infer. The register it writes validates; next: thresholds validate, then check.
    """
    from modelhealth.onboard import infer_register, read_sample, render_register
    from monitor.errors import MonitorError
    from thresholds.errors import RegisterError
    from thresholds.loader import parse_register

    if output.exists() and not force:
        fail(f"{output} exists; give another --out, or --force to overwrite it")
    try:
        sample = read_sample(logs)
    except MonitorError as exc:
        fail(str(exc))
    except (OSError, ValueError) as exc:
        fail(f"cannot read the sample: {exc}")
    if sample.empty:
        fail(f"no rows in {', '.join(logs)}: give a sample with predictions in it")
    inferred = infer_register(sample, model=model)
    if not inferred.models:
        for text in inferred.unknown:
            err.print(f"could not infer {text}", markup=False, soft_wrap=True)
        fail("no model to write: see above")
    text = render_register(inferred, name=name or output.stem, source=", ".join(logs))
    try:
        parse_register(text, source=str(output))
    except RegisterError as exc:  # a bug here, not the user's: say so plainly
        problems = "; ".join(str(p) for p in exc.problems)
        fail(f"the inferred register does not validate ({problems}); please report this", 3)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    models = ", ".join(p.model_id for p in inferred.models)
    out.print(
        f"wrote {output}: {len(inferred.models)} model(s) ({models}) from "
        f"{inferred.rows:,} sample rows",
        markup=False,
        soft_wrap=True,
    )
    for field_name, column in inferred.columns.items():
        if field_name != column:
            out.print(f"  {field_name} ← {column}", markup=False)
    if inferred.latency_unit != "ms":
        out.print(
            f"  latency unit: {inferred.latency_unit} ({inferred.latency_unit_why})",
            markup=False,
            soft_wrap=True,
        )
    if inferred.status_column:
        out.print(f"  error ← {inferred.status_column} in {inferred.failing}", markup=False)
    for text_line in inferred.unknown:
        err.print(f"could not infer {text_line}", markup=False, soft_wrap=True)
    night = f" --as-of {inferred.last_day}" if inferred.last_day else ""
    register, sample_logs = (
        shlex.quote(str(output)),
        " ".join(f"--logs {shlex.quote(path)}" for path in logs),
    )
    out.print(
        f"next: modelhealth thresholds validate {register}\n"
        f"      modelhealth check --register {register} {sample_logs}{night} --no-ladder",
        markup=False,
        soft_wrap=True,
    )
