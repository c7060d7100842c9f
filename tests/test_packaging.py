"""The install itself: dependency constraints that must not silently rot."""

from __future__ import annotations

import importlib.metadata as md
import subprocess
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest itself depends on tomli before 3.11
    import tomli as tomllib

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
    done = subprocess.run(
        [sys.executable, "-m", "modelhealth", "--help"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    for command in ("check", "thresholds", "schema"):
        assert command in done.stdout


def test_import_contracts_hold() -> None:
    # thresholds <- monitor <- ladder <- modelhealth, and presentation only in the shell:
    # checked by import-linter.
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint)], capture_output=True, text=True, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ", 0 broken." in done.stdout
    for contract in (
        "thresholds <- monitor <- ladder <- modelhealth (one way) KEPT",
        "ladder is domain only: no typer, no rich (presentation lives in modelhealth) KEPT",
        "monitor measures and judges: no CLI, terminal, HTML or MLflow KEPT",
    ):
        assert contract in done.stdout


def test_every_data_file_of_the_packages_is_shipped() -> None:
    # Templates, defaults and markers reach the wheel only through package-data globs:
    # a file that moves (or a new one) without its glob would be missing once installed.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]
    unshipped = []
    for package in ("thresholds", "monitor", "ladder", "modelhealth"):
        for path in sorted((ROOT / package).rglob("*")):
            relative = path.relative_to(ROOT / package)
            if path.is_dir() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
                continue
            if not any(relative.match(glob) for glob in globs.get(package, [])):
                unshipped.append(f"{package}/{relative}")
    assert unshipped == []
    assert "outputs/html/templates/*" in globs["modelhealth"]
