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


def test_reading_the_report_model_does_not_load_the_check_machinery() -> None:
    # The ladder and the CLI import monitor.report on every command; the package must
    # not drag Arrow, SciPy or Evidently in with it.
    code = (
        "import sys, monitor.report, monitor\n"
        "heavy = [m for m in ('pyarrow', 'scipy', 'evidently', 'monitor.check') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == ""
