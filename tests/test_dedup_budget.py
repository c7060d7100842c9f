"""Duplicates dropped exactly under a memory budget, through ingest, the check and the CLI.

A night's logs where retries land in the same batch, the next batch and the next file,
a re-sent file repeats ids from the first file long after they left memory, a shared
request id is logged by two models (two predictions, not a duplicate), and rows that
are invalid or outside the windows carry ids that later rows reuse (they claim
nothing). Under a budget of 256 KiB the seen-set holds about two thousand ids and must
spill; what is kept and dropped is checked against pandas' ``drop_duplicates`` on the
same rows, read in the same order.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from components import import_component
from typer.testing import CliRunner

from modelhealth.cli import app
from monitor.check import CheckOptions, plan_windows, run_check
from monitor.engines import LocalEngine
from monitor.errors import UnreadableLogError
from monitor.ingest import IngestStats, read_logs
from monitor.ingest.dedup_exact import MIN_MEMORY_BUDGET, ExactSeen
from monitor.ingest.dedup_store import SPILL_PREFIX
from thresholds.loader import LoadedRegister, load_register

NIGHT = datetime(2026, 11, 1, tzinfo=timezone.utc).date()
NOW = datetime(2026, 11, 2, 6, tzinfo=timezone.utc)
MODELS = ("support-assistant", "churn-scorer")
DAY_NS = 86_400 * 10**9
#: Rows per file; four files.
FILE_ROWS = 12_000
#: Far more distinct ids than a 256 KiB budget holds in memory (about 2,000).
FAR_BACK = 10_000

REGISTER = textwrap.dedent(
    """\
    name: dedup-budget
    defaults:
      owner: alice
      windows: {current: 1d, reference: 7d}
    models:
      - id: support-assistant
      - id: churn-scorer
    """
)

runner = CliRunner()


def night_rows(seed: int) -> pd.DataFrame:
    """Every row of the night in read order, with the file each goes to."""
    rng = np.random.default_rng(seed)
    n = 4 * FILE_ROWS
    fresh = iter(range(10**6))
    ids: list[str] = []
    models: list[str] = []
    for i in range(n):
        draw = rng.random()
        if i > 50 and draw < 0.03:  # a retry: an id of the last few hundred rows
            j = i - int(rng.integers(1, min(i, 400)))
            ids.append(ids[j])
            models.append(models[j])
        elif i > 3 * FILE_ROWS and draw < 0.06:  # the re-sent first file
            j = int(rng.integers(0, FILE_ROWS // 2))
            ids.append(ids[j])
            models.append(models[j])
        elif i > 50 and draw < 0.07:  # a shared request id, logged by the other model
            j = i - int(rng.integers(1, i))
            ids.append(ids[j])
            models.append(MODELS[1 - MODELS.index(models[j])])
        else:
            ids.append(f"req-{next(fresh):07d}-{rng.integers(0, 10**6):06d}")
            models.append(MODELS[int(rng.integers(0, 2))])
    start = int(datetime(2026, 10, 25, tzinfo=timezone.utc).timestamp()) * 10**9
    timestamps = np.sort(rng.integers(start, start + 8 * DAY_NS, n))
    out_of_window = rng.random(n) < 0.01  # a month old: counted, never claims its id
    timestamps[out_of_window] -= 40 * DAY_NS
    # A unique value marks each row; nine decimals survive every format's text exactly.
    confidence = np.round((np.arange(n) + 1) / (n + 1), 9)
    confidence[rng.random(n) < 0.01] = 7.0  # invalid: quarantined, claims nothing
    return pd.DataFrame(
        {
            "prediction_id": ids,
            "model_id": models,
            "timestamp": pd.to_datetime(timestamps, utc=True),
            "confidence": confidence,
            "latency_ms": rng.uniform(50, 900, n),
            "file": np.repeat(["a.parquet", "b.csv", "c.jsonl", "d.parquet"], FILE_ROWS),
        }
    )


def write_night(rows: pd.DataFrame, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, part in rows.groupby("file", sort=True):
        path = folder / str(name)
        part = part.drop(columns="file")
        if path.suffix == ".parquet":
            pq.write_table(pa.Table.from_pandas(part, preserve_index=False), path)
        elif path.suffix == ".csv":
            part.assign(timestamp=part.timestamp.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")).to_csv(
                path, index=False
            )
        else:
            part.assign(timestamp=part.timestamp.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")).to_json(
                path, orient="records", lines=True, double_precision=15
            )
        paths.append(path)
    return paths


def in_window_rows(rows: pd.DataFrame, loaded: LoadedRegister) -> pd.DataFrame:
    """The valid rows inside their model's windows, in read order."""
    bounds = plan_windows(loaded.register, NIGHT)
    ns = rows.timestamp.astype("int64").to_numpy()
    lo = rows.model_id.map(lambda m: bounds[m].reference_start).to_numpy()
    hi = rows.model_id.map(lambda m: bounds[m].current_end).to_numpy()
    return rows[(rows.confidence <= 1.0) & (ns >= lo) & (ns < hi)]


def kept_by_pandas(rows: pd.DataFrame, loaded: LoadedRegister) -> pd.DataFrame:
    """The rows a check keeps, by pandas: the first of each (model, id) in read order
    among the valid rows inside the windows."""
    usable = in_window_rows(rows, loaded)
    return usable.drop_duplicates(subset=["model_id", "prediction_id"], keep="first")


def dropped_by_pandas(rows: pd.DataFrame, loaded: LoadedRegister) -> dict[str, int]:
    """Duplicates per model, by pandas."""
    usable = in_window_rows(rows, loaded)
    repeats = usable[usable.duplicated(subset=["model_id", "prediction_id"], keep="first")]
    return {str(m): int(c) for m, c in repeats.model_id.value_counts().items()}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> LoadedRegister:
    path = tmp_path_factory.mktemp("register") / "register.yaml"
    path.write_text(REGISTER)
    return load_register(path)


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, list[Path]]:
    rows = night_rows(seed=21)
    return rows, write_night(rows, tmp_path_factory.mktemp("night") / "logs")


def test_a_tiny_budget_spills_and_keeps_exactly_the_rows_pandas_keeps(
    night: tuple[pd.DataFrame, list[Path]], loaded: LoadedRegister, tmp_path: Path
) -> None:
    rows, paths = night
    expected = kept_by_pandas(rows, loaded)
    usable = len(rows[(rows.confidence <= 1.0)])
    stats = IngestStats()
    got: dict[str, list[float]] = {m: [] for m in MODELS}
    with ExactSeen(memory_budget=MIN_MEMORY_BUDGET, spill_dir=tmp_path) as seen:
        for chunk in read_logs(
            paths,
            loaded.register,
            plan_windows(loaded.register, NIGHT),
            batch_rows=997,
            stats=stats,
            seen=seen,
        ):
            got[chunk.model_id].extend(chunk.confidence.tolist())
        dedup = seen.stats
        spilled_to = seen.spill_path
    # It spilled, more than once, and stayed within the budget while doing so.
    assert spilled_to is not None and spilled_to.parent == tmp_path
    assert dedup.spills > 1
    assert dedup.peak_state_bytes <= MIN_MEMORY_BUDGET
    # Kept: exactly pandas' rows, the first occurrence of each (model, id), in order.
    for model in MODELS:
        assert got[model] == expected[expected.model_id == model].confidence.tolist()
    assert stats.rows_duplicate == dedup.duplicates
    in_window = usable - stats.rows_out_of_window
    assert stats.rows_duplicate == in_window - len(expected) > 1_500
    assert stats.duplicates_by_model == dropped_by_pandas(rows, loaded)
    # Repeats of ids seen more than FAR_BACK distinct ids earlier were found on disk.
    first = expected.reset_index()
    pairs = zip(first.model_id, first.prediction_id, strict=True)
    position = {pair: k for k, pair in enumerate(pairs)}
    later = in_window_rows(rows, loaded).drop(index=expected.index)
    distance = [
        int(np.searchsorted(first["index"].to_numpy(), i)) - position[(m, p)]
        for i, m, p in zip(later.index, later.model_id, later.prediction_id, strict=True)
    ]
    assert sum(d > FAR_BACK for d in distance) > 300
    assert list(tmp_path.iterdir()) == []  # the spill folder went with the read


def check_with(
    loaded: LoadedRegister, paths: list[Path], out: Path, engine: Any, budget: int | None
) -> Any:
    options = CheckOptions(
        logs=paths, as_of=NIGHT, out_dir=out, now=NOW, drift=False, memory_budget=budget
    )
    return run_check(loaded, options, engine=engine)


def test_the_checks_memory_budget_reaches_the_seen_set_and_the_counts_are_pandas(
    night: tuple[pd.DataFrame, list[Path]], loaded: LoadedRegister, tmp_path: Path
) -> None:
    rows, paths = night
    dropped = dropped_by_pandas(rows, loaded)
    engine = LocalEngine(spill_dir=tmp_path / "spill")
    report = check_with(loaded, paths, tmp_path / "out", engine, MIN_MEMORY_BUDGET)
    assert engine.dedup_stats is not None and engine.dedup_stats.spills > 1
    assert engine.dedup_stats.peak_state_bytes <= MIN_MEMORY_BUDGET
    assert {m.model_id: m.n_duplicates for m in report.models} == dropped
    assert report.ingest.rows_duplicate == sum(dropped.values())
    assert list((tmp_path / "spill").iterdir()) == []
    # The default budget holds these ids in memory: the same answer, nothing written.
    roomy = LocalEngine(spill_dir=tmp_path / "roomy")
    again = check_with(loaded, paths, tmp_path / "out2", roomy, None)
    assert roomy.dedup_stats is not None and roomy.dedup_stats.spills == 0
    assert [m.n_duplicates for m in again.models] == [m.n_duplicates for m in report.models]
    assert [m.n_rows for m in again.models] == [m.n_rows for m in report.models]
    assert not (tmp_path / "roomy").exists()


def test_the_registers_memory_budget_is_used_when_the_check_gives_none(
    night: tuple[pd.DataFrame, list[Path]], tmp_path: Path
) -> None:
    _, paths = night
    register = tmp_path / "register.yaml"
    register.write_text(REGISTER + "ingest:\n  memory_budget: 256KiB\n")
    engine = LocalEngine(spill_dir=tmp_path / "spill")
    check_with(load_register(register), paths, tmp_path / "out", engine, None)
    assert engine.dedup_stats is not None and engine.dedup_stats.spills > 1


def test_a_read_that_fails_after_spilling_leaves_no_spill_behind(
    night: tuple[pd.DataFrame, list[Path]], loaded: LoadedRegister, tmp_path: Path
) -> None:
    _, paths = night
    corrupt = tmp_path / "e.parquet"
    corrupt.write_bytes(paths[0].read_bytes()[:5_000])  # truncated: unreadable
    engine = LocalEngine(spill_dir=tmp_path / "spill")
    with pytest.raises(UnreadableLogError):
        check_with(loaded, [*paths, corrupt], tmp_path / "out", engine, MIN_MEMORY_BUDGET)
    assert engine.dedup_stats is not None and engine.dedup_stats.spills > 1
    assert list((tmp_path / "spill").iterdir()) == []


KILLED = textwrap.dedent(
    """\
    import os, signal, sys
    import pyarrow as pa
    from monitor.ingest.dedup_exact import MIN_MEMORY_BUDGET, ExactSeen
    seen = ExactSeen(memory_budget=MIN_MEMORY_BUDGET, spill_dir=sys.argv[1])
    seen.add(pa.array([f"id-{i}" for i in range(20_000)]), 0)
    print(seen.spill_path, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_a_killed_checks_spill_is_swept_by_the_next_one_and_a_live_one_is_not(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", KILLED, str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == -signal.SIGKILL
    abandoned = Path(done.stdout.strip())
    assert abandoned.parent == tmp_path and any(abandoned.glob("run-*"))
    with ExactSeen(memory_budget=MIN_MEMORY_BUDGET, spill_dir=tmp_path) as alive:
        alive.add(pa.array([f"a-{i}" for i in range(20_000)]), 0)
        assert alive.spill_path is not None
        assert not abandoned.exists()  # its owner is gone: removed before spilling
        with ExactSeen(memory_budget=MIN_MEMORY_BUDGET, spill_dir=tmp_path) as other:
            other.add(pa.array([f"b-{i}" for i in range(20_000)]), 1)
            assert other.spill_path is not None
            assert alive.spill_path.exists()  # its owner lives: left alone
            mine = sorted(p.name for p in tmp_path.iterdir())
            assert len(mine) == 2 and all(name.startswith(SPILL_PREFIX) for name in mine)
    assert list(tmp_path.iterdir()) == []


def test_the_dask_engine_drops_what_the_local_engine_drops_under_a_tiny_budget(
    cluster: Any, night: tuple[pd.DataFrame, list[Path]], loaded: LoadedRegister, tmp_path: Path
) -> None:
    distributed = import_component("distributed", "pip install -e '.[dask]'")
    from test_dask_engine import assert_same_report, report_json

    from monitor.engines.dask import DaskEngine

    rows, paths = night
    local = check_with(loaded, paths, tmp_path / "local", LocalEngine(), MIN_MEMORY_BUDGET)
    with distributed.Client(cluster, set_as_default=False) as client:
        # Every file its own partition: the re-sent file repeats another partition's ids.
        engine = DaskEngine(client=client, partition_bytes=1)
        report = check_with(loaded, paths, tmp_path / "dask", engine, MIN_MEMORY_BUDGET)

        def key_files(dask_worker: Any) -> list[str]:
            return [
                name
                for name in os.listdir(dask_worker.local_directory)
                if name.startswith("modelhealth-keys-")
            ]

        left = client.run(key_files)
    assert {m.model_id: m.n_duplicates for m in report.models} == dropped_by_pandas(rows, loaded)
    assert report.ingest.rows_duplicate == local.ingest.rows_duplicate
    assert_same_report(report_json(tmp_path / "local"), report_json(tmp_path / "dask"))
    assert all(files == [] for files in left.values())  # key files removed on every worker


@pytest.fixture(scope="module")
def cli_logs(night: tuple[pd.DataFrame, list[Path]]) -> Path:
    return night[1][0].parent


def cli_check(register: Path, logs: Path, out: Path, *extra: str) -> Any:
    return runner.invoke(
        app,
        [
            "check",
            "--register",
            str(register),
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
            *extra,
        ],
    )


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ("lots", "not a size: 'lots'"),
        ("12 parsecs", "not a size"),
        ("1KiB", "below the minimum of 256 KiB"),
        ("-5MiB", "not a size"),
    ],
)
def test_a_bad_memory_budget_is_refused_with_exit_2(
    cli_logs: Path, tmp_path: Path, size: str, message: str
) -> None:
    register = tmp_path / "register.yaml"
    register.write_text(REGISTER)
    result = cli_check(register, cli_logs, tmp_path / "out", "--memory-budget", size)
    assert result.exit_code == 2
    assert "--memory-budget" in result.output and message in result.output
    assert not (tmp_path / "out" / "report.json").exists()


def test_a_memory_budget_on_the_command_line_gives_the_same_report(
    night: tuple[pd.DataFrame, list[Path]],
    loaded: LoadedRegister,
    cli_logs: Path,
    tmp_path: Path,
) -> None:
    rows, _ = night
    register = tmp_path / "register.yaml"
    register.write_text(REGISTER)
    result = cli_check(register, cli_logs, tmp_path / "out", "--memory-budget", "300KiB")
    assert result.exit_code == 0, result.output
    dropped = sum(dropped_by_pandas(rows, loaded).values())
    assert f"duplicates {dropped:,}" in result.output


def test_a_register_memory_budget_below_the_minimum_names_the_field(
    cli_logs: Path, tmp_path: Path
) -> None:
    register = tmp_path / "register.yaml"
    register.write_text(REGISTER + "ingest:\n  memory_budget: 4KiB\n")
    result = cli_check(register, cli_logs, tmp_path / "out")
    assert result.exit_code == 2
    assert "memory_budget" in result.output and "register.yaml" in result.output
