"""The Dask engine gives the local engine's report, on a real two-worker LocalCluster.

Nine days of the demo models' logs, one Parquet file per day, plus what a real log
folder holds: rows that break the contract, predictions logged twice in files days
apart (so the duplicates straddle partitions), a corrupt file, and late labels. Each
file is its own partition, so every cross-file rule is exercised across tasks.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from components import import_component
from typer.testing import CliRunner

distributed = import_component("distributed", "pip install -e '.[dask]'")

from modelhealth.cli import app  # noqa: E402
from modelhealth.demo import demo_profiles, late_labels, write_logs  # noqa: E402
from monitor.check import CheckOptions, build_report, plan_windows, run_check  # noqa: E402
from monitor.engines import LocalEngine  # noqa: E402
from monitor.engines.dask import DaskEngine  # noqa: E402
from monitor.engines.partitions import plan_partitions  # noqa: E402
from monitor.errors import UnreadableLogError  # noqa: E402
from monitor.ingest import IngestStats, QuarantineWriter  # noqa: E402
from monitor.report import Report  # noqa: E402
from thresholds.loader import LoadedRegister, load_register  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REGISTER = ROOT / "data" / "register.yaml"
START = date(2026, 10, 1)
NIGHT = date(2026, 10, 9)
NOW = datetime(2026, 10, 10, 6, tzinfo=timezone.utc)
#: Every file is a partition of its own.
ONE_FILE_PER_TASK = 1
#: Fields that differ between engines by design.
ENGINE_FIELDS = ("generated_at", "engine")
#: Sums are merged in a different order: equal up to float rounding.
REL_TOL = 1e-9


@pytest.fixture(scope="module")
def loaded() -> LoadedRegister:
    return load_register(REGISTER)


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Nine days of logs with bad rows, cross-file duplicates and a corrupt file."""
    folder = tmp_path_factory.mktemp("dask") / "logs"
    profiles = [
        dataclasses.replace(p, rows_per_day=600, degradations=()) for p in demo_profiles(START)
    ]
    files = write_logs(profiles, START, 9, folder, seed=11)
    day2, day5, night = (pq.read_table(files[i]) for i in (1, 4, 8))
    # Predictions logged again days later, in other files (other partitions): day 2's
    # rows on day 5 and tonight, day 5's tonight; and 25 of tonight's rows twice tonight.
    pq.write_table(pa.concat_tables([day5, day2.slice(100, 40)]), files[4])
    pq.write_table(
        pa.concat_tables([night, day5.slice(0, 10), day2.slice(120, 5), night.slice(0, 25)]),
        files[8],
    )
    # Rows that break the contract, in a file of their own on the last day.
    bad = night.slice(200, 6)
    confidence = pa.array([1.5, -0.1, None, 0.5, 0.5, 0.5], pa.float64())
    model = pa.array(
        [
            "support-assistant",
            "support-assistant",
            "support-assistant",
            "nobody",
            None,
            "churn-classifier",
        ]
    )
    bad = bad.set_column(bad.schema.get_field_index("confidence"), "confidence", confidence)
    bad = bad.set_column(bad.schema.get_field_index("model_id"), "model_id", model)
    latency = pc.if_else(pc.equal(bad["model_id"], "churn-classifier"), -1.0, bad["latency_ms"])
    bad = bad.set_column(bad.schema.get_field_index("latency_ms"), "latency_ms", latency)
    pq.write_table(bad, files[8].with_name("part-1.parquet"))
    # A corrupt file inside the folder is listed as unreadable, not fatal.
    (files[3].parent / "part-9.parquet").write_bytes(b"PAR1 this is not parquet")
    # What else a log folder holds is not a log: neither engine lists it.
    (folder / "README.md").write_text("nightly exports of the assistant's predictions\n")
    (files[0].parent / "_SUCCESS").touch()
    return folder


@pytest.fixture(scope="module")
def labels(logs: Path) -> Path:
    profiles = [
        dataclasses.replace(p, rows_per_day=600, degradations=()) for p in demo_profiles(START)
    ]
    path = logs.parent / "labels.parquet"
    pq.write_table(late_labels(profiles, START, 9, seed=11, share=0.3), path)
    return path


def check(
    loaded: LoadedRegister,
    logs: list[Path],
    out: Path,
    engine: Any,
    *,
    labels: Path | None = None,
    drift: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Report:
    options = CheckOptions(
        logs=logs,
        as_of=NIGHT,
        out_dir=out,
        now=NOW,
        labels=labels,
        drift=drift,
        drift_html=False,
    )
    return run_check(loaded, options, engine=engine, progress=progress)


def summarize(loaded: LoadedRegister, logs: Path | str, out: Path, engine: Any) -> Report:
    """The engine alone (``run_check`` names its inputs by local path) and the report."""
    options = CheckOptions(logs=[], as_of=NIGHT, out_dir=out, now=NOW, drift=False)
    stats = IngestStats()
    with QuarantineWriter(out / "quarantine.parquet") as quarantine:
        aggregates = engine.summarize(
            [logs],
            loaded.register,
            plan_windows(loaded.register, NIGHT),
            labels=None,
            quarantine=quarantine,
            stats=stats,
        )
    return build_report(loaded, aggregates, stats, options, run_id="run", engine=engine.name)


def report_json(out: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((out / "report.json").read_text())
    for name in ENGINE_FIELDS:
        report.pop(name, None)
    return report


def assert_same_report(local: Any, dask: Any, where: str = "report") -> None:
    """Counts, names and statuses exact; floats within float rounding of merge order.

    Latency quantiles are compared exactly too: the sketch's bucket counts are integers,
    so they merge exactly whatever the partitioning.
    """
    if isinstance(local, dict):
        assert isinstance(dask, dict) and local.keys() == dask.keys(), where
        for key in local:
            assert_same_report(local[key], dask[key], f"{where}.{key}")
    elif isinstance(local, list):
        assert isinstance(dask, list) and len(local) == len(dask), where
        for i, (a, b) in enumerate(zip(local, dask, strict=True)):
            assert_same_report(a, b, f"{where}[{i}]")
    elif isinstance(local, float) and not isinstance(local, bool):
        assert isinstance(dask, float), where
        assert math.isclose(local, dask, rel_tol=REL_TOL, abs_tol=1e-12), (where, local, dask)
    else:
        assert local == dask, (where, local, dask)


def test_the_dask_engine_reports_what_the_local_engine_reports(
    cluster: Any, loaded: LoadedRegister, logs: Path, labels: Path, tmp_path: Path
) -> None:
    check(loaded, [logs], tmp_path / "local", LocalEngine(), labels=labels, drift=True)
    engine = DaskEngine(scheduler=cluster.scheduler_address, partition_bytes=ONE_FILE_PER_TASK)
    advanced: list[int] = []
    report = check(
        loaded,
        [logs],
        tmp_path / "dask",
        engine,
        labels=labels,
        drift=True,
        progress=advanced.append,
    )

    assert report.engine == "dask"
    local, dask = report_json(tmp_path / "local"), report_json(tmp_path / "dask")
    ingest = dask["ingest"]
    # The logs exercise what must agree across partitions:
    assert ingest["rows_duplicate"] == 40 + 10 + 5 + 25
    assert sum(advanced) == ingest["rows_read"]
    assert ingest["quarantined_by_reason"] == {
        "confidence_out_of_range": 2,
        "confidence_missing": 1,
        "unknown_model": 1,
        "missing_model_id": 1,
        "latency_negative": 1,
    }
    assert ingest["unreadable"] == [str(logs / "date=2026-10-04" / "part-9.parquet")]
    assert ingest["labels_joined"] > 0
    assert all(m["drift"] and m["drift"]["columns"] for m in dask["models"])
    assert_same_report(local, dask)
    # Every quarantined row, in the same order, in the one file the report names.
    assert pq.read_table(tmp_path / "dask" / "quarantine.parquet").equals(
        pq.read_table(tmp_path / "local" / "quarantine.parquet")
    )


def test_duplicates_straddling_partitions_are_dropped_where_the_local_engine_drops_them(
    cluster: Any, loaded: LoadedRegister, logs: Path, tmp_path: Path
) -> None:
    # The first occurrence in read order wins: a row of day 2 logged again on day 5 and
    # tonight counts once, in day 2's reference window, and twice as a duplicate.
    local = check(loaded, [logs], tmp_path / "local", LocalEngine())
    for partition_bytes in (ONE_FILE_PER_TASK, 400_000, 10**12):
        engine = DaskEngine(scheduler=cluster.scheduler_address, partition_bytes=partition_bytes)
        dask = check(loaded, [logs], tmp_path / f"dask-{partition_bytes}", engine)
        for a, b in zip(local.models, dask.models, strict=True):
            assert (b.n_rows, b.n_reference_rows, b.n_duplicates) == (
                a.n_rows,
                a.n_reference_rows,
                a.n_duplicates,
            )
        assert dask.ingest == local.ingest


def test_logs_named_by_url_are_read_through_fsspec_like_local_paths(
    cluster: Any, loaded: LoadedRegister, logs: Path, tmp_path: Path
) -> None:
    engine = DaskEngine(scheduler=cluster.scheduler_address, partition_bytes=ONE_FILE_PER_TASK)
    by_path = summarize(loaded, logs, tmp_path / "path", engine)
    by_url = summarize(loaded, logs.as_uri(), tmp_path / "url", engine)
    assert by_url.ingest.files == [
        logs.as_uri() + name.removeprefix(str(logs)) for name in by_path.ingest.files
    ]
    assert by_url.ingest.rows_duplicate == by_path.ingest.rows_duplicate > 0
    # Named by their URLs, the same files give the same report.
    renamed = by_url.model_dump_json().replace(logs.as_uri(), str(logs))
    assert_same_report(by_path.model_dump(mode="json"), json.loads(renamed))


def test_a_corrupt_file_named_directly_stops_the_run_with_the_local_engines_message(
    cluster: Any, loaded: LoadedRegister, logs: Path, tmp_path: Path
) -> None:
    corrupt = logs / "date=2026-10-04" / "part-9.parquet"
    with pytest.raises(UnreadableLogError) as local:
        check(loaded, [corrupt], tmp_path / "local", LocalEngine())
    with pytest.raises(UnreadableLogError) as dask:
        engine = DaskEngine(scheduler=cluster.scheduler_address)
        check(loaded, [corrupt], tmp_path / "dask", engine)
    assert str(dask.value) == str(local.value)
    assert str(corrupt) in str(dask.value)


def test_a_file_named_by_a_relative_path_is_read_by_the_workers(
    cluster: Any, loaded: LoadedRegister, logs: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.chdir(logs.parent)
    relative = Path(logs.name) / "date=2026-10-09" / "part-0.parquet"
    local = check(loaded, [relative], tmp_path / "local", LocalEngine())
    engine = DaskEngine(scheduler=cluster.scheduler_address)
    dask = check(loaded, [relative], tmp_path / "dask", engine)
    assert dask.ingest.files == [str(relative)]
    assert dask.ingest.rows_read == local.ingest.rows_read > 600
    assert dask.ingest.unreadable == []


def test_partitions_are_consecutive_files_in_read_order(logs: Path) -> None:
    every = plan_partitions([logs], partition_bytes=ONE_FILE_PER_TASK)
    # A file named again after its folder is read once, where it first appears.
    again = plan_partitions([logs, logs / "date=2026-10-09" / "part-0.parquet"])
    files = [f.name for p in every for f in p.files]
    # Only log files, as ingest lists them (the README and the _SUCCESS marker are not).
    assert files == sorted(str(p) for p in logs.rglob("*.parquet"))
    assert [f.name for p in again for f in p.files] == files
    assert [p.index for p in every] == list(range(len(files)))
    halves = plan_partitions([logs], partition_bytes=sum(p.nbytes for p in every) // 2)
    assert [f.name for p in halves for f in p.files] == files
    assert 2 <= len(halves) <= 3


def test_modelhealth_check_engine_dask_writes_the_same_report_json(
    logs: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    outputs = {}
    for engine in ("local", "dask"):
        out = tmp_path / engine
        result = runner.invoke(
            app,
            [
                "check",
                "--register",
                str(REGISTER),
                "--logs",
                str(logs),
                "--as-of",
                NIGHT.isoformat(),
                "--out",
                str(out),
                "--no-ladder",
                "--no-drift",
                "--now",
                NOW.isoformat(),
                "--engine",
                engine,
            ],
        )
        assert result.exit_code == 0, result.output
        outputs[engine] = report_json(out)
    assert_same_report(outputs["local"], outputs["dask"])


def _fold_state(fold: Any) -> dict[str, Any]:
    """Everything a drift fold holds, comparable with ``==`` (floats as exact values)."""
    dists = fold.distributions
    state: dict[str, Any] = {
        "seen": sorted(fold.seen),
        "valued": sorted(fold.valued),
        "features": fold.feature_columns,
    }
    for name in dists.columns:
        numeric, text = dists.numeric(name), dists.categorical(name)
        if numeric is not None:
            bins = numeric.bins()
            state[f"{name}:num"] = (
                numeric.n,
                numeric.n_missing,
                numeric.shift,
                numeric.min,
                numeric.max,
                bins.low.tolist(),
                bins.high.tolist(),
                bins.counts.tolist(),
            )
            state[f"{name}:moments"] = (numeric.mean, numeric.std)
        if text is not None:
            hashes, counts = text.hashed_counts()
            state[f"{name}:cat"] = (text.n, text.limit, hashes.tolist(), counts.tolist())
    return state


def test_the_drift_summaries_merged_across_partitions_equal_the_local_ones(
    cluster: Any, loaded: LoadedRegister, tmp_path: Path
) -> None:
    """#21: drift is folded with the other aggregates and merged like them. 3 000 rows a
    day for nine days, one file per partition: the reference windows hold 24 000 values a
    column, and monthly spend more than 8 192 distinct amounts, so its summary has left
    the exact phase and is bucketed; merged from nine partitions, every summary is the
    local engine's bucket for bucket."""
    profiles = [
        dataclasses.replace(p, rows_per_day=3000, degradations=()) for p in demo_profiles(START)
    ]
    folder = tmp_path / "logs"
    write_logs(profiles, START, 9, folder, seed=5)
    windows = plan_windows(loaded.register, NIGHT)
    summaries = {}
    for name, engine in (
        ("local", LocalEngine()),
        ("dask", DaskEngine(scheduler=cluster.scheduler_address, partition_bytes=1)),
    ):
        with QuarantineWriter(tmp_path / name / "quarantine.parquet") as quarantine:
            summaries[name] = engine.summarize(
                [folder],
                loaded.register,
                windows,
                labels=None,
                quarantine=quarantine,
                stats=IngestStats(),
            )
    bucketed = 0
    for model_id, local in summaries["local"].items():
        dask = summaries["dask"][model_id]
        for window in ("current", "reference"):
            ours, theirs = getattr(local, window).drift, getattr(dask, window).drift
            mine, other = _fold_state(ours), _fold_state(theirs)
            assert mine.keys() == other.keys(), (model_id, window)
            for key in mine:
                if key.endswith(":moments"):  # Chan's update: float rounding of merge order
                    assert mine[key] == pytest.approx(other[key], rel=REL_TOL), key
                else:
                    assert mine[key] == other[key], (model_id, window, key)
            bucketed += sum(
                1 for key, value in mine.items() if key.endswith(":num") and value[2] > 0
            )
    assert bucketed > 0  # the merge of bucketed summaries was exercised
