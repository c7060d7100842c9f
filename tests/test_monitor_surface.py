"""monitor's public surface: a few names, each where __all__ says, none paid for until used."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import monitor
from monitor.check import run_check
from monitor.engines.dask import DaskEngine
from monitor.report import Report

ROOT = Path(__file__).resolve().parents[1]


def test_every_public_name_resolves_to_the_object_its_module_defines() -> None:
    assert monitor.run_check is run_check
    assert monitor.Report is Report
    assert monitor.DaskEngine is DaskEngine
    for name in monitor.__all__:
        assert getattr(monitor, name) is not None, name
    assert len(monitor.__all__) <= 12
    with pytest.raises(AttributeError, match="no attribute 'read_logs'"):
        _ = monitor.read_logs  # type: ignore[attr-defined]


def _loaded_after(imports: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a fresh interpreter holds after running ``imports``."""
    code = f"import sys\n{imports}\nprint(','.join(m for m in {modules!r} if m in sys.modules))\n"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return [name for name in done.stdout.strip().split(",") if name]


def test_reading_the_report_model_does_not_load_the_check_machinery() -> None:
    # The ladder and the CLI import monitor.report on every command; the package must
    # not drag Arrow, SciPy or Evidently in with it.
    heavy = ("pyarrow", "scipy", "evidently", "monitor.check")
    assert _loaded_after("import monitor.report, monitor", heavy) == []


def test_starting_a_check_imports_neither_the_ladder_nor_scipy_stats_nor_pandas() -> None:
    # The check's command line, machinery and HTML page load in ~0.8 s; SciPy's stats
    # (~0.45 s over scipy.special), pandas (~0.2 s) and the ladder with SQLAlchemy
    # (~0.35 s, which the CLI's ladder group and the page's process panel import) are
    # imported where they are used, and `check --no-ladder` never touches the ladder.
    imports = (
        "from modelhealth.cli.app import app\n"
        "import monitor.check, monitor.engines.local, modelhealth.outputs.html"
    )
    heavy = (
        "scipy.stats", "scipy.optimize", "scipy.spatial", "pandas",
        "ladder", "sqlalchemy", "mlflow", "evidently", "dask.distributed",
    )  # fmt: skip
    assert _loaded_after(imports, heavy) == []
    # and the helper sees what is there: the CLI does load typer and pyarrow
    assert _loaded_after(imports, ("typer", "pyarrow", "ladder")) == ["typer", "pyarrow"]


def test_the_ladder_and_people_groups_mount_when_named() -> None:
    # They are lazy (modelhealth.cli.app.LAZY_GROUPS) but a user cannot tell: the top-level
    # help lists them with their help, in the order they always had, and they run.
    from typer.testing import CliRunner

    from modelhealth.cli.app import app

    runner = CliRunner()
    top = runner.invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert top.exit_code == 0, top.output
    names = [
        line.split()[1]
        for line in top.output.splitlines()
        if line.startswith("│ ") and len(line.split()) > 2 and line.split()[1][0] != "-"
    ]
    assert names == [
        "check", "demo", "serve", "init", "thresholds", "ladder", "schema", "drift", "people",
    ]  # fmt: skip
    assert "Escalation ladder: status, approvals" in top.output
    assert "People of the pinned register" in top.output
    ladder = runner.invoke(app, ["ladder", "--help"], env={"COLUMNS": "120"})
    assert ladder.exit_code == 0, ladder.output
    assert "approve" in ladder.output and "--install-completion" not in ladder.output
    token = runner.invoke(app, ["people", "token", "--help"], env={"COLUMNS": "120"})
    assert token.exit_code == 0, token.output
    assert "Personal tokens for the escalation desk." in token.output
