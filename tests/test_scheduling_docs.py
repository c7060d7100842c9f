"""The Airflow DAG in docs/scheduling.md branches the way it says, on the real check.

Airflow is not a dependency: the test takes the DAG's ``check`` and ``route`` task
functions out of the page (their bodies as written, decorators dropped), points the
register, logs and output folder at the shipped demo month, and runs them.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "scheduling.md"


def dag_functions(out: Path) -> dict[str, Any]:
    text = PAGE.read_text(encoding="utf-8")
    block = next(b for b in text.split("```python\n")[1:] if "def modelhealth_branching" in b)
    source = block.split("```", 1)[0]
    source = (
        source.replace("/opt/airflow/register.yaml", str(ROOT / "data" / "register.yaml"))
        .replace("s3://acme-predictions/logs/", (ROOT / "data" / "demo" / "logs").as_uri())
        .replace("/data/modelhealth/", f"{out}/")
    )
    tree = ast.parse(source)
    dag = next(n for n in tree.body if isinstance(n, ast.FunctionDef))
    namespace: dict[str, Any] = {}
    for node in dag.body:
        if isinstance(node, ast.FunctionDef) and node.name in ("check", "route"):
            node.decorator_list = []
            code = textwrap.dedent(ast.unparse(node))
            exec(compile(code, str(PAGE), "exec"), namespace)  # the page's own code
    return namespace


@pytest.mark.parametrize(
    ("night", "branch"),
    [("2026-10-16", "page_on_call"), ("2026-10-05", "all_healthy")],
)
def test_the_documented_dag_pages_on_a_breach_and_passes_a_healthy_night(
    night: str, branch: str, tmp_path: Path
) -> None:
    tasks = dag_functions(tmp_path)

    result = tasks["check"](ds=night)

    assert tasks["route"](result) == branch
    assert (tmp_path / night / "report.json").is_file()
    if branch == "page_on_call":
        assert result["failing"] == ["support-assistant"]
