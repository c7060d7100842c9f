"""A real package: the built wheel, installed in a fresh venv, runs the demo and a check
from an empty folder outside the repository.

The wheel is built from a copy of the working tree (so the repository gets no ``build/``
litter) and installed with ``--no-deps`` into a new venv. Its dependencies are the ones
this test environment already has: a ``.pth`` line puts this environment's
site-packages on the new venv's path *without* processing the ``.pth`` files in it, so
the editable install of the repository is not visible there. Whatever the demo and the
check need from modelhealth must therefore come from the wheel itself.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        origin = ROOT / name
        if not origin.exists() and not origin.is_symlink():
            continue  # deleted in the working tree
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_symlink():
            target.symlink_to(os.readlink(origin))
        elif origin.is_file():
            shutil.copy2(origin, target)
    dist = tmp_path_factory.mktemp("dist")
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)],
        cwd=source, env=env)  # fmt: skip
    (built,) = dist.glob("modelhealth-*.whl")
    return built


def test_the_wheel_carries_the_example_register_and_the_demo_month(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "modelhealth/demo/data/register.yaml" in names
    assert "modelhealth/demo/data/demo/labels.parquet" in names
    logs = [n for n in names if n.startswith("modelhealth/demo/data/demo/logs/")]
    assert len(logs) == 30  # one partition per night of October 2026
    assert "modelhealth/outputs/html/templates/report.html.j2" in names
    assert not any(n.startswith(("tests/", "data/", "docs/")) for n in names)


def test_the_installed_wheel_runs_the_demo_and_a_check_from_an_empty_folder(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
         str(wheel)], cwd=tmp_path, env=env)  # fmt: skip
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    # This environment's dependencies, as plain path entries (its .pth files not run).
    (Path(site) / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    modelhealth = str(venv / "bin" / "modelhealth")

    where = run([str(python), "-c", "import modelhealth, monitor, ladder, thresholds as t;"
                 "print(modelhealth.__file__); print(t.__file__)"], cwd=empty, env=env)  # fmt: skip
    assert all(line.startswith(site) for line in where.split())
    assert run([modelhealth, "--version"], cwd=empty, env=env).strip() == "modelhealth 0.1.0"

    told = run([modelhealth, "demo", "--nights", "2", "--out", "demo-out"], cwd=empty, env=env)

    assert "night 2026-10-02" in told
    assert (empty / "demo-out" / "report.html").is_file()
    # The closing lines are commands to paste: each works as printed, from this folder.
    commands = [line.strip() for line in told.splitlines() if line.startswith("  modelhealth ")]
    assert {c.split()[1] for c in commands} >= {"ladder", "check"}
    for command in commands:
        args = shlex.split(command)
        output = run([modelhealth, *args[1:]], cwd=empty, env=env)
        if args[1] == "check":
            assert "rows read" in output
    (check_out,) = (empty / "demo-out").glob("my-check/report.json")
    assert "support-assistant" in check_out.read_text()
    assert sorted(p.name for p in empty.iterdir()) == ["demo-out"]  # nothing else written
