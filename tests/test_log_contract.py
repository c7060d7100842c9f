"""docs/log-contract.md and `modelhealth schema logs` say what ingest does, and cannot drift."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import jsonschema
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from modelhealth.cli import app
from monitor.ingest import QUARANTINE_REASONS
from monitor.ingest.contract import CONTRACT_COLUMNS, log_row_json_schema
from monitor.ingest.validate import REASON_FIELD

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "log-contract.md"
EXAMPLES = ROOT / "docs" / "examples"
runner = CliRunner()


def table_names(section: str) -> list[str]:
    """The first-column names (`like_this`) of the table under a ``## section`` heading."""
    text = DOC.read_text(encoding="utf-8")
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([^`]+)` \|", body, flags=re.MULTILINE)


def test_every_quarantine_reason_of_the_code_is_documented_in_priority_order() -> None:
    assert table_names("Quarantine reasons") == list(QUARANTINE_REASONS)
    assert set(REASON_FIELD) == set(QUARANTINE_REASONS)


def test_every_contract_column_is_documented() -> None:
    documented = table_names("Columns")
    assert [c.name for c in CONTRACT_COLUMNS] == documented[: len(CONTRACT_COLUMNS)]
    assert documented[len(CONTRACT_COLUMNS) :] == ["feature.<name>"]


def test_schema_logs_prints_a_valid_json_schema_that_names_every_reason() -> None:
    done = runner.invoke(app, ["schema", "logs"])

    assert done.exit_code == 0, done.output
    schema = json.loads(done.output)
    assert schema == log_row_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["properties"]) == {c.name for c in CONTRACT_COLUMNS}
    for reason in QUARANTINE_REASONS:
        assert reason in schema["description"]


@pytest.mark.parametrize(
    ("change", "valid"),
    [
        ({}, True),
        ({"confidence": 1.5}, False),  # confidence_out_of_range
        ({"latency_ms": -1}, False),  # latency_negative
        ({"timestamp": "20/10/2026"}, False),  # bad_timestamp
        ({"timestamp": 1_792_454_400}, False),  # epoch seconds are refused
        ({"timestamp": 1_792_454_400_000}, True),  # epoch milliseconds
        ({"prediction_id": ""}, False),  # missing_prediction_id
        ({"confidence": None}, False),  # a successful row needs its confidence
        ({"confidence": None, "latency_ms": None, "error": True}, True),  # an errored row not
        ({"error": "maybe"}, False),  # error_not_boolean
        ({"quality_score": 2}, False),  # quality_score_out_of_range
    ],
)
def test_the_row_schema_accepts_and_refuses_what_ingest_does(
    change: dict[str, object], valid: bool
) -> None:
    row = json.loads((EXAMPLES / "logs.jsonl").read_text().splitlines()[0])
    row.update(change)
    errors = list(jsonschema.Draft202012Validator(log_row_json_schema()).iter_errors(row))
    assert (not errors) == valid, errors


def load_generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_examples", EXAMPLES / "make_examples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shipped_examples_are_what_the_generator_writes(tmp_path: Path) -> None:
    load_generator().write_examples(tmp_path)

    for name in ("logs.csv", "logs.jsonl", "register.yaml"):
        assert (tmp_path / name).read_bytes() == (EXAMPLES / name).read_bytes(), name
    assert pq.read_table(tmp_path / "logs.parquet").equals(pq.read_table(EXAMPLES / "logs.parquet"))


def test_the_doc_quotes_the_example_files_verbatim() -> None:
    text = DOC.read_text(encoding="utf-8")
    jsonl = text.split("```json\n", 1)[1].split("```", 1)[0].splitlines()
    csv = text.split("```csv\n", 1)[1].split("```", 1)[0].splitlines()
    assert jsonl == (EXAMPLES / "logs.jsonl").read_text().splitlines()[: len(jsonl)]
    assert csv == (EXAMPLES / "logs.csv").read_text().splitlines()[: len(csv)]


@pytest.mark.parametrize("name", ["logs.parquet", "logs.csv", "logs.jsonl"])
def test_each_example_file_passes_check_with_nothing_quarantined(name: str, tmp_path: Path) -> None:
    done = runner.invoke(
        app,
        ["check", "--register", str(EXAMPLES / "register.yaml"), "--logs", str(EXAMPLES / name),
         "--as-of", "2026-10-20", "--out", str(tmp_path), "--no-ladder", "--no-drift"],
    )  # fmt: skip

    assert done.exit_code == 0, done.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["ingest"]["rows_read"] == 10
    assert report["ingest"]["rows_used"] == 10
    assert report["ingest"]["rows_quarantined"] == 0
    assert report["ingest"]["naive_timestamps"] == 0
    rows = {m["model_id"]: m["n_rows"] for m in report["models"]}
    assert rows == {"support-bot": 5, "churn": 5}
    churn = next(m for m in report["models"] if m["model_id"] == "churn")
    # prediction == label on 3 of the 4 labeled rows (c-0003 is unlabeled).
    assert churn["n_labeled"] == 4
    assert churn["metrics"]["quality"]["value"] == pytest.approx(3 / 4)
