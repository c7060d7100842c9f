"""The install itself: dependency constraints that must not silently rot."""

from __future__ import annotations

import importlib.metadata as md
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_evidently_imports_with_the_pinned_pandas() -> None:
    # evidently 0.7 imports pandas' infer_dtype_from_object, which pandas 3 removed:
    # pyproject keeps pandas < 3. If either pin moves, this import is what breaks.
    import evidently
    import pandas

    assert int(pandas.__version__.split(".")[0]) < 3
    assert evidently.__version__.startswith("0.7")
    from evidently import Dataset, Report  # the 0.7 API the drift module uses

    assert Report is not None and Dataset is not None


def test_console_script_is_installed_and_answers_help() -> None:
    entry = [e for e in md.entry_points(group="console_scripts") if e.name == "modelhealth"]
    assert [e.value for e in entry] == ["modelhealth.cli:main"]
    done = subprocess.run([sys.executable, "-m", "modelhealth", "--help"], capture_output=True,
                          text=True, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    for command in ("check", "thresholds", "schema"):
        assert command in done.stdout


def test_import_contract_is_one_way() -> None:
    # thresholds <- monitor <- ladder <- modelhealth (the CLI): checked by import-linter.
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint)], capture_output=True, text=True, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "thresholds <- monitor <- ladder (one way) KEPT" in done.stdout
    assert ", 0 broken." in done.stdout
