"""The bad-input corpus, each item through ``python -m modelhealth check`` in its own process.

For every item of :data:`reliability_corpus.CASES` the user must get the documented exit
code and no traceback. A refused input (exit 2) is named in a one-line message that says
what is wrong and leaves no report behind. An input the check can use (exit 0, or 1 when
a model went blind or breached) must lose nothing silently:

* ``rows_read == rows_used + rows_quarantined + rows_duplicate + rows_out_of_window``,
  and ``rows_read`` is the number of rows the file really holds;
* the rows used are the models' current plus reference rows;
* ``quarantine.parquet`` holds exactly ``rows_quarantined`` rows, with the expected
  reason for each, and every ``row_json`` is strict, bounded JSON;
* the report validates against its JSON Schema and stays small whatever the cells held.

Row-level validation is unit-tested in ``tests/test_ingest.py``; this is the end-to-end
sweep. Configuration slips (a state file that is no database, ``--out`` naming a file,
typos in options) are at the end.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import jsonschema
import pyarrow.parquet as pq
import pytest
from reliability_corpus import (
    CASES,
    NIGHT,
    NOW,
    REGISTER_YAML,
    Case,
    CliProcesses,
    CliResult,
    check_args,
    night_rows,
    shared_cli,
    write_csv,
)

from monitor.ingest.quarantine import MAX_CELL_CHARS
from monitor.report import report_json_schema

IDENTITY = ("rows_used", "rows_quarantined", "rows_duplicate", "rows_out_of_window")


@pytest.fixture(scope="module")
def cli() -> CliProcesses:
    return shared_cli()


@pytest.fixture(scope="module")
def register(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("register") / "register.yaml"
    path.write_text(REGISTER_YAML)
    return path


@pytest.fixture(scope="module")
def outcomes(
    tmp_path_factory: pytest.TempPathFactory, cli: CliProcesses, register: Path
) -> dict[str, tuple[CliResult, Path, list[Path]]]:
    """Every case built and checked, two processes at a time (the machine has two cores)."""
    root = tmp_path_factory.mktemp("corpus")
    prepared = []
    for case in CASES:
        folder = root / case.name
        folder.mkdir()
        logs = case.build(folder)
        options = [o.replace("{folder}", str(folder)) for o in case.options]
        prepared.append((case, folder, logs, check_args(logs, folder / "out", register, *options)))
    results: dict[str, tuple[CliResult, Path, list[Path]]] = {}
    for start in range(0, len(prepared), 2):
        pair = prepared[start : start + 2]
        for (case, folder, logs, _), result in zip(
            pair, cli.run_together([args for *_, args in pair]), strict=True
        ):
            results[case.name] = (result, folder, logs)
    return results


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_bad_input_gets_its_exit_code_and_a_message_a_user_can_act_on(
    case: Case, outcomes: dict[str, tuple[CliResult, Path, list[Path]]]
) -> None:
    result, folder, logs = outcomes[case.name]
    said = result.stdout + result.stderr
    assert "Traceback" not in said, said
    assert result.code == case.exit_code, said
    words = [w.replace("{log}", str(logs[0])) for w in case.says]
    out = folder / "out"
    if case.exit_code == 2:
        assert result.stderr.startswith("error: "), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        for word in words:
            assert word in result.stderr, (word, result.stderr)
        # Nothing was decided: no report, no half-written quarantine.
        assert not (out / "report.json").exists()
        assert not list(out.glob("*.tmp")) if out.exists() else True
        return
    for word in words:
        assert word in said, (word, said)
    if case.exit_code == 1:
        assert "findings at or above --fail-on breach" in result.stderr
    report = json.loads((out / "report.json").read_text())
    jsonschema.validate(report, report_json_schema())
    assert (out / "report.json").stat().st_size < 250_000  # bounded whatever the cells held
    ingest = report["ingest"]
    assert ingest["rows_read"] == sum(ingest[k] for k in IDENTITY), ingest
    if case.rows_read is not None:
        assert ingest["rows_read"] == case.rows_read
    assert ingest["rows_duplicate"] == case.duplicates
    used = sum(m["n_rows"] + m["n_reference_rows"] for m in report["models"])
    assert used == ingest["rows_used"]
    assert len(ingest["unreadable"]) == case.unreadable
    statuses = {m["model_id"]: m["status"] for m in report["models"]}
    for model, status in case.statuses.items():
        assert statuses[model] == status, statuses

    quarantine = pq.read_table(out / "quarantine.parquet")
    assert quarantine.num_rows == ingest["rows_quarantined"]
    reasons = Counter(quarantine["reason"].to_pylist())
    assert reasons == Counter(ingest["quarantined_by_reason"])
    if case.reasons is not None:
        assert dict(reasons) == dict(case.reasons)
    for cell in quarantine["row_json"].to_pylist():
        row = json.loads(cell)  # strict JSON: NaN and inf become text
        assert isinstance(row, dict)
        assert all(len(str(v)) <= MAX_CELL_CHARS + 40 for v in row.values())
    attributed = sum(m["n_quarantined"] for m in report["models"])
    assert attributed <= ingest["rows_quarantined"]


def test_the_corpus_covers_the_issue(
    outcomes: dict[str, tuple[CliResult, Path, list[Path]]],
) -> None:
    """The count docs/reliability.md quotes, and every exit code exercised."""
    codes = Counter(result.code for result, _, _ in outcomes.values())
    assert set(codes) == {0, 1, 2}
    assert len(outcomes) >= 35
    seconds = sum(result.seconds for result, _, _ in outcomes.values())
    print(f"\ncorpus: {len(outcomes)} inputs, exit codes {dict(sorted(codes.items()))}, "
          f"{seconds:.1f} s of checks")


def test_labels_cut_from_five_megabyte_cells_keep_the_report_and_page_small(
    outcomes: dict[str, tuple[CliResult, Path, list[Path]]],
) -> None:
    for name in ("five-megabyte-cells", "five-megabyte-cells-csv", "five-megabyte-cells-jsonl"):
        _, folder, _ = outcomes[name]
        report = json.loads((folder / "out" / "report.json").read_text())
        [bot] = [m for m in report["models"] if m["model_id"] == "support-bot"]
        types = bot["metrics"]["error_rate"]["by_output_type"]
        assert any(t.endswith(f"…[+{5 * 1024 * 1024 - 200} chars]") for t in types), list(types)
        assert max(len(t) for t in types) < 250


def test_ten_thousand_output_types_are_folded(
    outcomes: dict[str, tuple[CliResult, Path, list[Path]]],
) -> None:
    _, folder, _ = outcomes["ten-thousand-output-types"]
    report = json.loads((folder / "out" / "report.json").read_text())
    [bot] = [m for m in report["models"] if m["model_id"] == "support-bot"]
    error_rate = bot["metrics"]["error_rate"]
    assert len(error_rate["by_output_type"]) <= 51
    assert error_rate["output_types_folded"] >= 10_000 - 50


# ------------------------------------------------------------- configuration slips


@pytest.fixture(scope="module")
def good_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_csv(tmp_path_factory.mktemp("good") / "logs.csv", night_rows())


def slips(folder: Path, register: Path, log: Path) -> list[tuple[list[str], tuple[str, ...]]]:
    """Options a tired engineer gets wrong, and what the error must say."""
    (folder / "not-a-db.db").write_text("this is a text file\n")
    (folder / "a-file").write_text("")
    (folder / "register-dir").mkdir()
    base = ["check", "--register", str(register), "--logs", str(log), "--as-of", NIGHT,
            "--now", NOW, "--no-drift"]
    out = ["--out", str(folder / "out")]
    return [
        ([*base, *out, "--state", f"sqlite:///{folder / 'not-a-db.db'}", "--no-tracking"],
         ("state store", "not-a-db.db", "file is not a database")),
        ([*base, "--out", str(folder / "a-file"), "--no-ladder"], ("--out", "is a file")),
        ([*base, "--out", "/proc/modelhealth-nowhere/out", "--no-ladder"],
         ("cannot use", "/proc/modelhealth-nowhere")),
        ([*base, *out, "--state", "not a url", "--no-tracking"], ("state store", "not a url")),
        ([*base, *out, "--state", "postgresql://db.invalid/x", "--no-tracking"],
         ("state store", "postgresql")),
        ([*base, *out, "--engine", "spark", "--no-ladder"], ("--engine", "spark")),
        ([*base, *out, "--fail-on", "breaches", "--no-ladder"], ("--fail-on", "breaches")),
        ([*base, *out, "--notify-level", "all", "--no-ladder"], ("--notify-level",)),
        ([*base, *out, "--scheduler", "tcp://x:8786", "--no-ladder"], ("--scheduler",)),
        (["check", "--register", str(register), "--logs", str(log), "--as-of", "2026-02-30",
          *out], ("--as-of", "2026-02-30")),
        (["check", "--register", str(register), "--logs", str(log), "--as-of", NIGHT,
          "--now", "half past two", *out, "--no-ladder"], ("--now", "half past two")),
        (["check", "--register", str(folder / "missing.yaml"), "--logs", str(log), *out],
         ("missing.yaml", "cannot read")),
        (["check", "--register", str(folder / "register-dir"), "--logs", str(log), *out],
         ("register-dir", "directory")),
        (["check", "--register", str(register), "--logs", str(log), *out, "--labels",
          str(folder / "labels.parquet")], ("labels file not found",)),
        ([*base, *out, "--tracking-uri", "sqlite:////proc/no/mlflow.db", "--state",
          f"sqlite:///{folder / 'state.db'}"], ("MLflow", "/proc/no")),
    ]


def test_configuration_slips_exit_2_with_a_reason(
    tmp_path: Path, cli: CliProcesses, register: Path, good_log: Path
) -> None:
    cases = slips(tmp_path, register, good_log)
    results = cli.run_together([args for args, _ in cases])
    for (args, words), result in zip(cases, results, strict=True):
        assert result.code == 2, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        for word in words:
            assert word in result.stderr, (word, result.stderr)
    print(f"\nconfiguration slips: {len(cases)} refused with a reason")

