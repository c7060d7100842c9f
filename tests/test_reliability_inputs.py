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
    write_jsonl,
    write_parquet,
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
    print(
        f"\ncorpus: {len(outcomes)} inputs, exit codes {dict(sorted(codes.items()))}, "
        f"{seconds:.1f} s of checks"
    )


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
    base = [
        "check",
        "--register",
        str(register),
        "--logs",
        str(log),
        "--as-of",
        NIGHT,
        "--now",
        NOW,
        "--no-drift",
    ]
    out = ["--out", str(folder / "out")]
    return [
        (
            [*base, *out, "--state", f"sqlite:///{folder / 'not-a-db.db'}", "--no-tracking"],
            ("state store", "not-a-db.db", "file is not a database"),
        ),
        ([*base, "--out", str(folder / "a-file"), "--no-ladder"], ("--out", "is a file")),
        (
            [*base, "--out", "/proc/modelhealth-nowhere/out", "--no-ladder"],
            ("cannot use", "/proc/modelhealth-nowhere"),
        ),
        ([*base, *out, "--state", "not a url", "--no-tracking"], ("state store", "not a url")),
        (
            [*base, *out, "--state", "postgresql://db.invalid/x", "--no-tracking"],
            ("state store", "postgresql"),
        ),
        ([*base, *out, "--engine", "spark", "--no-ladder"], ("--engine", "spark")),
        ([*base, *out, "--fail-on", "breaches", "--no-ladder"], ("--fail-on", "breaches")),
        ([*base, *out, "--notify-level", "all", "--no-ladder"], ("--notify-level",)),
        ([*base, *out, "--scheduler", "tcp://x:8786", "--no-ladder"], ("--scheduler",)),
        (
            [
                "check",
                "--register",
                str(register),
                "--logs",
                str(log),
                "--as-of",
                "2026-02-30",
                *out,
            ],
            ("--as-of", "2026-02-30"),
        ),
        (
            [
                "check",
                "--register",
                str(register),
                "--logs",
                str(log),
                "--as-of",
                NIGHT,
                "--now",
                "half past two",
                *out,
                "--no-ladder",
            ],
            ("--now", "half past two"),
        ),
        (
            ["check", "--register", str(folder / "missing.yaml"), "--logs", str(log), *out],
            ("missing.yaml", "cannot read"),
        ),
        (
            ["check", "--register", str(folder / "register-dir"), "--logs", str(log), *out],
            ("register-dir", "directory"),
        ),
        (
            [
                "check",
                "--register",
                str(register),
                "--logs",
                str(log),
                *out,
                "--labels",
                str(folder / "labels.parquet"),
            ],
            ("labels file not found",),
        ),
        (
            [
                *base,
                *out,
                "--tracking-uri",
                "sqlite:////proc/no/mlflow.db",
                "--state",
                f"sqlite:///{folder / 'state.db'}",
            ],
            ("MLflow", "/proc/no"),
        ),
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


# ------------------------------------------------- what one file may cost (issue 17)

LIMITED = REGISTER_YAML + "ingest:\n  max_line_bytes: 64KiB\n  max_decompressed_bytes: 1MiB\n"


def _gzip(path: Path, payload: bytes) -> Path:
    import gzip

    with gzip.open(path, "wb", compresslevel=9) as handle:
        handle.write(payload)
    return path


def test_the_registers_ingest_limits_bound_lines_and_inflation(
    tmp_path: Path, cli: CliProcesses
) -> None:
    """``ingest.max_line_bytes`` and ``ingest.max_decompressed_bytes``: a JSON line too
    long is quarantined alone; a CSV row too long, or a .gz file that inflates past the
    limit, is refused with the setting named (exit 2), or skipped and listed inside a
    folder, where the other files are still checked."""
    register = tmp_path / "register.yaml"
    register.write_text(LIMITED)
    rows = night_rows()
    long_row = dict(rows[3], segment="s" * (100 << 10))
    jsonl = write_jsonl(tmp_path / "long.jsonl", [*rows[:3], long_row, *rows[4:]])
    # CSV is parsed in blocks of at most the limit; a row that cannot fit one is refused.
    csv = write_csv(
        tmp_path / "long.csv", [*rows[:3], dict(rows[3], segment="s" * (1 << 20)), *rows[4:]]
    )
    # 4 MB of valid rows that gzip squeezes to a few kB: past the 1 MiB inflation limit.
    filler = (json.dumps(rows[0]) + "\n").encode() * (4 * 1024 * 1024 // len(json.dumps(rows[0])))
    bomb = _gzip(tmp_path / "bomb.jsonl.gz", filler)
    csv_bomb = _gzip(
        tmp_path / "bomb.csv.gz",
        csv.read_bytes().split(b"\n", 1)[0]
        + b"\n"
        + b"".join(
            line + b"\n"
            for line in write_csv(tmp_path / "rows.csv", rows).read_bytes().splitlines()[1:]
        )
        * 40,
    )
    folder = tmp_path / "folder"
    folder.mkdir()
    write_parquet(folder / "good.parquet", rows)
    (folder / "bomb.jsonl.gz").write_bytes(bomb.read_bytes())

    def check(logs: Path, name: str) -> list[str]:
        return check_args([logs], tmp_path / name, register)

    results = cli.run_together(
        [
            check(jsonl, "a"),
            check(csv, "b"),
            check(bomb, "c"),
            check(csv_bomb, "d"),
            check(folder, "e"),
        ]
    )
    line, row, inflated, csv_inflated, skipped = results
    for result in results:
        assert "Traceback" not in result.stderr, result.stderr
    assert line.code == 0, line.stderr
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    assert report["ingest"]["quarantined_by_reason"] == {"line_too_long": 1}
    assert report["ingest"]["rows_read"] == len(rows)
    [refused] = pq.read_table(tmp_path / "a" / "quarantine.parquet").to_pylist()
    assert refused["row_number"] == "3" and refused["reason"] == "line_too_long"
    assert len(refused["row_json"]) < 2_000  # a preview, not the 100 kB line

    assert row.code == 2
    assert "long.csv" in row.stderr and "ingest.max_line_bytes" in row.stderr
    assert "longer than 64 KiB" in row.stderr
    for result, name in ((inflated, "bomb.jsonl.gz"), (csv_inflated, "bomb.csv.gz")):
        assert result.code == 2, result.stderr
        assert name in result.stderr
        assert "decompresses to more than 1 MiB" in result.stderr
        assert "ingest.max_decompressed_bytes" in result.stderr
    assert skipped.code == 0, skipped.stderr
    report = json.loads((tmp_path / "e" / "report.json").read_text())
    assert [Path(p).name for p in report["ingest"]["unreadable"]] == ["bomb.jsonl.gz"]
    assert report["ingest"]["rows_used"] == len(rows)


@pytest.mark.slow
def test_a_small_gzip_with_one_huge_line_costs_bounded_memory(tmp_path: Path) -> None:
    """Issue 17: a 1.5 MB .jsonl.gz holding one 1.5 GiB line peaked at 8 GB. Here a
    ~0.5 MB file holds a 512 MiB line: it is quarantined with a preview while peak memory
    stays within 256 MiB of the same night without it (a fresh interpreter each)."""
    import gzip

    lines = write_jsonl(tmp_path / "rows.jsonl", night_rows()).read_bytes()
    clean = _gzip(tmp_path / "clean.jsonl.gz", lines)
    huge = tmp_path / "huge.jsonl.gz"
    with gzip.open(huge, "wb", compresslevel=6) as handle:
        for i, line in enumerate(lines.splitlines(keepends=True)):
            if i == 11:
                handle.write(b'{"prediction_id": "huge", "segment": "')
                block = b"a" * (1 << 20)
                for _ in range(512):
                    handle.write(block)
                handle.write(b'"}\n')
            handle.write(line)
    assert huge.stat().st_size < 1_000_000
    register = tmp_path / "register.yaml"
    register.write_text(REGISTER_YAML)
    peaks = {}
    for logs in (clean, huge):
        out = tmp_path / logs.name.split(".")[0]
        code, peak, stderr = _peak_of(check_args([logs], out, register))
        assert code == 0, stderr
        peaks[logs.name] = peak
    report = json.loads((tmp_path / "huge" / "report.json").read_text())
    assert report["ingest"]["quarantined_by_reason"] == {"line_too_long": 1}
    extra = peaks["huge.jsonl.gz"] - peaks["clean.jsonl.gz"]
    assert extra < 256 * 1024, peaks  # KiB
    print(
        f"\na 512 MiB line in {huge.stat().st_size / 1e6:.1f} MB of gzip: "
        f"{extra / 1024:+.0f} MiB over the clean night "
        f"({peaks['clean.jsonl.gz'] / 1024:.0f} MiB)"
    )


def _peak_of(args: list[str]) -> tuple[int, int, str]:
    """Exit code, peak RSS in KiB (VmHWM) and stderr of a fresh ``modelhealth`` process."""
    import re
    import subprocess
    import sys

    probe = (
        "import atexit, re, runpy, sys\n"
        "atexit.register(lambda: sys.stderr.write('PEAK ' + re.search("
        "r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1) + '\\n'))\n"
        f"sys.argv = ['modelhealth', *{args!r}]\n"
        "runpy.run_module('modelhealth', run_name='__main__')\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=root,
        check=False,
    )
    found = re.search(r"PEAK (\d+)", done.stderr)
    return done.returncode, int(found.group(1)) if found else 0, done.stderr


@pytest.mark.slow
def test_two_thousand_feature_columns_are_capped_with_a_note(
    tmp_path: Path, cli: CliProcesses, register: Path
) -> None:
    """Issue 17: 2,000 feature columns took 606 s and wrote a 75 MB drift page. The
    default ``thresholds.drift.max_columns`` (100) compares the first 100 by name and the
    report says which were left out."""
    rows = night_rows()
    for i, row in enumerate(rows):
        for j in range(2000):
            row[f"feature.w{j:04d}"] = float((i * (j + 1)) % 17)
    logs = write_parquet(tmp_path / "wide.parquet", rows)
    args = check_args([logs], tmp_path / "out", register)
    args.remove("--no-drift")
    result = cli.run(args)
    assert result.code == 0, result.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    for model in report["models"]:
        drift = model["drift"]
        features = [c["column"] for c in drift["columns"] if c["kind"] == "feature"]
        assert len(features) == 100
        assert features == sorted(features)
        assert features[0] == "feature.plan" and features[-1] == "feature.w0097"
        assert drift["columns_not_compared"] == 2002 - 100
        assert drift["note"] in model["notes"]
        assert "feature.w0098" in drift["note"]
        # Evidently's page is drawn only for a model with a drifted column, and then only
        # for those columns, so its size is bounded by the cap too.
        drifted = [c for c in drift["columns"] if c["drifted"]]
        assert (drift["html"] is not None) == bool(drifted)
        if drifted:
            assert (tmp_path / "out" / drift["html"]).stat().st_size < 12_000_000
    pages = sum(
        (tmp_path / "out" / m["drift"]["html"]).stat().st_size
        for m in report["models"]
        if m["drift"]["html"]
    )
    print(
        f"\n2,000 feature columns: {result.seconds:.0f} s, drift pages {pages / 1e6:.1f} MB, "
        f"report {len(json.dumps(report)) / 1e3:.0f} kB"
    )
