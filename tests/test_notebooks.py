"""The analyst notebooks run top to bottom on the shipped data, and are committed clean.

Each notebook is executed headless with nbclient in a kernel of *this* interpreter (a
kernel spec written for the test, so a ``python3`` kernel of another Python on the
machine cannot be picked up instead). Any cell that raises fails the test, and so does a
warning printed by a cell: the notebooks are held to the suite's warnings-as-errors.

The ladder notebook needs a ladder state. The demo month is run once per session
(shared with ``test_ladder_history.py``); the notebook is told, in a cell injected after
its parameters cell the way papermill injects parameters, that its state is missing and
that the demo month lives there, so it takes the fresh-clone path without running the
month a second time.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbformat.notebooknode import NotebookNode
from test_ladder_history import demo_month

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
KERNEL = "modelhealth-test-python"
#: What the three notebooks may take together on two cores, kernel start-up included.


def _generator() -> ModuleType:
    path = NOTEBOOKS / "build_notebooks.py"
    spec = importlib.util.spec_from_file_location("build_notebooks", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUILD = _generator()
NAMES = sorted(BUILD.NOTEBOOKS)


def _kernel_manager(directory: Path) -> AsyncKernelManager:
    """A kernel manager whose only kernel runs ``sys.executable -m ipykernel_launcher``."""
    spec_dir = directory / "kernels" / KERNEL
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "modelhealth tests",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    specs = KernelSpecManager(kernel_dirs=[str(directory / "kernels")], ensure_native_kernel=False)
    return AsyncKernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)


def _inject(notebook: NotebookNode, values: dict[str, Any]) -> NotebookNode:
    """Add a cell after the ``parameters`` cell that overrides ``values``."""
    index = next(
        i
        for i, cell in enumerate(notebook.cells)
        if "parameters" in cell.get("metadata", {}).get("tags", [])
    )
    lines = [
        f"{name} = Path({str(value)!r})" if isinstance(value, Path) else f"{name} = {value!r}"
        for name, value in values.items()
    ]
    cell = nbformat.v4.new_code_cell("# injected by tests/test_notebooks.py\n" + "\n".join(lines))
    cell.id = "injected-parameters"
    cell.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(index + 1, cell)
    return notebook


@pytest.fixture(scope="module")
def injected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Per-notebook parameter overrides: the shared demo state, and output folders in tmp.

    The ladder notebook is pointed at a state that does not exist, as on a fresh clone,
    and at the session's demo month as the place to build one: it finds the month
    complete there and uses it instead of running it again.
    """
    out = tmp_path_factory.mktemp("notebook-out")
    state = demo_month(tmp_path_factory)
    return {
        "ladder_history.ipynb": {"STATE": out / "missing" / "state.db", "DEMO_DIR": state.parent},
        "drift_exploration.ipynb": {"OUT_DIR": out},
        "calibration.ipynb": {},
    }


def _stderr_warnings(notebook: NotebookNode) -> list[str]:
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if (
                output.get("output_type") == "stream"
                and output.get("name") == "stderr"
                and ("Warning" in output.get("text", ""))
            ):
                found.append(f"cell {cell.id}: {output['text'].strip()[:500]}")
    return found


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_top_to_bottom(
    name: str,
    injected: dict[str, dict[str, Any]],
    tmp_path: Path,
) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    if injected[name]:
        notebook = _inject(notebook, injected[name])
    client = NotebookClient(
        notebook,
        km=_kernel_manager(tmp_path),
        timeout=600,
        # The kernel starts in the notebook's folder, as Jupyter starts it.
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    # Raises CellExecutionError on the first cell that fails. The kernel manager is ours,
    # so ask nbclient to shut the kernel down and close its channels all the same.
    client.execute(cleanup_kc=True)
    assert _stderr_warnings(notebook) == []
    if "DEMO_DIR" in injected[name]:
        printed = "".join(
            output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", [])
        )
        assert f"state: {injected[name]['DEMO_DIR'] / 'state.db'}" in printed
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code)
    images = sum("image/png" in output.get("data", {}) for cell in code for output in cell.outputs)
    assert images >= 3, f"{name} drew {images} figures"


# ------------------------------------------------------------------------ committed form


def test_there_is_a_generator_for_every_notebook_and_no_stray_one() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_is_stripped(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name} cell {cell.id} has outputs committed"
            assert cell.execution_count is None, f"{name} cell {cell.id} has an execution count"
        assert "execution" not in cell.metadata, f"{name} cell {cell.id} has timing metadata"
    first = notebook.cells[0]
    assert first.cell_type == "code" and "parameters" in first.metadata.get("tags", [])


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_is_what_the_generator_writes(name: str) -> None:
    assert (NOTEBOOKS / name).read_text(encoding="utf-8") == BUILD.render(name), (
        f"{name} is stale: run .venv/bin/python notebooks/build_notebooks.py"
    )


def test_readme_links_every_notebook() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in NAMES:
        assert f"](notebooks/{name})" in readme, name
