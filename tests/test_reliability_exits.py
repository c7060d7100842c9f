"""Exit codes a scheduler can trust: 1 is a finding, and nothing else is 1.

A nightly job reads one number. Before issue 17 a bug (an uncaught exception) and a
closed output pipe both exited 1, which cron and Airflow read as "a model breached".
Here every command runs as ``python -m modelhealth`` in a fresh interpreter, against a
real failure, never a stub:

* a damaged installation — a dependency that raises on import, shadowing the real one
  on ``PYTHONPATH`` — is an internal error: exit 3, one line on stderr naming the error
  and a log file that holds the traceback; the log is in ``--out`` when the command has
  one and in the temp folder otherwise;
* a reader that went away (``modelhealth … | true``) is exit 141, as a shell reports a
  process ended by SIGPIPE;
* the same check exits 0 healthy and 1 only with a finding at or above ``--fail-on``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from reliability_corpus import NIGHT, NOW, REGISTER_YAML, night_rows, write_parquet

ROOT = Path(__file__).resolve().parents[1]


def _run(
    args: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    stdin: int | None = None,
) -> subprocess.CompletedProcess[str]:
    base = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="200", OPENBLAS_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "modelhealth", *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        cwd=cwd,
        timeout=300,
        check=False,
        stdin=stdin,
    )


def _broken_package(folder: Path, name: str) -> Path:
    """A package ``name`` that raises on import: what a half-finished upgrade leaves."""
    package = folder / "site" / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        f"raise RuntimeError('{name} is damaged: a half-finished pip upgrade')\n"
    )
    return folder / "site"


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("night")
    register = folder / "register.yaml"
    register.write_text(REGISTER_YAML)
    return register, write_parquet(folder / "logs.parquet", night_rows())


def _check(register: Path, logs: Path, out: Path, *extra: str) -> list[str]:
    return [
        "check",
        "--register",
        str(register),
        "--logs",
        str(logs),
        "--as-of",
        NIGHT,
        "--out",
        str(out),
        "--now",
        NOW,
        "--no-ladder",
        *extra,
    ]


def test_a_bug_during_the_check_exits_3_with_its_traceback_in_the_output_folder(
    tmp_path: Path,
) -> None:
    # Evidently is imported only to draw the drift page of a model that drifted: the demo's
    # churn model on its last night.
    site = _broken_package(tmp_path, "evidently")
    out = tmp_path / "out"
    result = _run(
        [
            "check",
            "--register",
            str(ROOT / "data" / "register.yaml"),
            "--logs",
            str(ROOT / "data" / "demo" / "logs"),
            "--as-of",
            "2026-10-30",
            "--out",
            str(out),
            "--now",
            "2026-10-31T06:00:00+00:00",
            "--no-ladder",
            "--fail-on",
            "breach",
        ],
        env={"PYTHONPATH": f"{site}{os.pathsep}{ROOT}"},
    )
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: internal error (exit 3), a bug in modelhealth")
    assert "RuntimeError: evidently is damaged" in lines[0]
    assert "Traceback" not in result.stderr
    [log] = list(out.glob("modelhealth-crash-*.log"))
    assert f"traceback in {log}" in lines[0]
    text = log.read_text()
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError: evidently is damaged" in text
    assert "command: modelhealth check" in text
    assert not (out / "report.json").exists()  # nothing half-decided was published


def test_a_damaged_installation_exits_3_even_before_a_command_runs(tmp_path: Path) -> None:
    site = _broken_package(tmp_path, "yaml")  # every command imports the register loader
    temp = tmp_path / "tmp"
    temp.mkdir()
    result = _run(
        ["thresholds", "validate", str(ROOT / "data" / "register.yaml")],
        env={"PYTHONPATH": f"{site}{os.pathsep}{ROOT}", "TMPDIR": str(temp)},
    )
    assert result.returncode == 3, result.stderr
    assert "RuntimeError: yaml is damaged" in result.stderr
    [log] = list(temp.glob("modelhealth-crash-*.log"))
    assert f"traceback in {log}" in result.stderr
    assert "yaml is damaged" in log.read_text()


def test_a_reader_that_went_away_is_141_not_a_finding(tmp_path: Path) -> None:
    for args in (
        ["schema", "report"],
        ["thresholds", "show", str(ROOT / "data" / "register.yaml")],
    ):
        read, write = os.pipe()
        os.close(read)  # nobody will read: the first write fails with EPIPE
        try:
            result = subprocess.run(
                [sys.executable, "-m", "modelhealth", *args],
                stdout=write,
                stderr=subprocess.PIPE,
                text=True,
                timeout=300,
                check=False,
                cwd=ROOT,
                env=dict(os.environ, PYTHONPATH=str(ROOT)),
            )
        finally:
            os.close(write)
        assert result.returncode == 141, (args, result.returncode, result.stderr)
        assert "Traceback" not in result.stderr


def test_one_means_a_finding_and_zero_a_healthy_night(
    night: tuple[Path, Path], tmp_path: Path
) -> None:
    register, logs = night
    healthy = _run(_check(register, logs, tmp_path / "a", "--no-drift", "--fail-on", "breach"))
    assert healthy.returncode == 0, healthy.stderr
    # Tightening the error-rate ceiling below the logged 4 % makes the same night a breach.
    strict = tmp_path / "strict.yaml"
    strict.write_text(REGISTER_YAML.replace("error_rate: {max: 0.2}", "error_rate: {max: 0.001}"))
    finding = _run(_check(strict, logs, tmp_path / "b", "--no-drift", "--fail-on", "breach"))
    assert finding.returncode == 1, finding.stderr
    assert "findings at or above --fail-on breach" in finding.stderr


def test_after_the_command_shutdown_leaves_its_objects_to_reference_counting(
    night: tuple[Path, Path], tmp_path: Path
) -> None:
    """A finished command freezes what it left out of the collector's reach, so
    interpreter shutdown does not walk it (0.2 s of a 3 s check: modelhealth.cli.crash);
    atexit handlers still run, and the exit code and the outputs are the command's."""
    register, logs = night
    out = tmp_path / "out"
    probe = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count()))\n"
        "from modelhealth.cli import main\n"
        "sys.argv = ['modelhealth', *sys.argv[1:]]\n"
        "main()\n"
    )
    base = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="200", OPENBLAS_NUM_THREADS="1")
    args = [sys.executable, "-c", probe, *_check(register, logs, out, "--fail-on", "none")]
    result = subprocess.run(args, capture_output=True, text=True, env=base, timeout=300)
    assert result.returncode == 0, result.stderr
    frozen = [line for line in result.stdout.splitlines() if line.startswith("frozen at exit:")]
    assert len(frozen) == 1 and int(frozen[0].split(":")[1]) > 10_000, result.stdout
    assert json.loads((out / "report.json").read_text())["models"]
