"""Properties of ingest and the register loader under input nobody would write on purpose.

* Any cell in any contract column — hostile text (quotes, delimiters, newlines, NUL,
  markup, right-to-left marks), numbers out of range, NaN, infinities, huge values,
  booleans, nulls — in CSV, JSON Lines or Parquet is read or quarantined, never lost and
  never an exception: the accounting identity holds, the quarantine file has one row per
  quarantined row with strict JSON.
* Splitting the same rows into any number of files, read in any order with any batch
  size, gives the same counts and the same merged summaries: ingest plus merge is
  order-free. Merge itself is associative and commutative on summaries built by ingest
  (``tests/test_aggregates.py`` proves it on hand-built chunks).
* The register loader, fed arbitrary text or YAML documents built from anchors, aliases,
  merge keys, tags and deep nesting, either returns a register or raises
  :class:`RegisterError` whose problems point at lines of the document, in bounded time.
"""

from __future__ import annotations

import copy
import itertools
import json
import random
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_corpus import REGISTER_YAML
from test_aggregates import assert_same

from monitor.check import plan_windows
from monitor.engines.base import fold_chunks, new_aggregates
from monitor.ingest import IngestStats, QuarantineWriter, read_logs
from monitor.stats.aggregates import ModelAggregate
from thresholds.errors import RegisterError
from thresholds.loader import parse_register

REGISTER = parse_register(REGISTER_YAML).register
WINDOWS = plan_windows(REGISTER, date(2026, 10, 9))
COLUMNS = (
    "prediction_id",
    "model_id",
    "timestamp",
    "confidence",
    "latency_ms",
    "score",
    "duration_ms",
    "output_type",
    "correct",
    "error",
    "failure_mode",
    "segment",
    "quality_score",
    "feature.x",
    "feature.plan",
)
IDENTITY = ("rows_used", "rows_quarantined", "rows_duplicate", "rows_out_of_window")

# ------------------------------------------------------------------ strategies

nasty_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            " ",
            '"',
            "'",
            ",",
            ";",
            "\t",
            "\n",
            "\r\n",
            "\\",
            "\x00",
            "\u202e",
            "\ufeff",
            "NaN",
            "-inf",
            "1e309",
            "0x10",
            "true",
            "yes",
            "[/b]",
            "<script>alert(1)</script>",
            "2026-10-09T10:00:00Z",
            "2026-10-09T10:00:00+14:00",
            "2026-10-09 25:61",
            "null",
        ]
    ),
)
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0.0, 1.0, 0.5, -0.0, 1e300, -1e-300]),
)
timestamps = st.one_of(
    st.integers(0, 86_399).map(
        lambda s: f"2026-10-0{9 - s % 3}T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z"
    ),
    st.integers(1_600_000_000_000, 1_900_000_000_000),
    nasty_text,
)
models = st.sampled_from(["support-bot", "extractor", "support-bot", "Support-Bot", "", "x"])


def cell(column: str) -> st.SearchStrategy[Any]:
    if column == "model_id":
        return st.one_of(models, st.none())
    if column == "timestamp":
        return timestamps
    if column in ("correct", "error"):
        return st.one_of(st.booleans(), st.none(), nasty_text)
    return st.one_of(st.none(), nasty_text, numbers, st.booleans())


rows_strategy = st.lists(
    st.fixed_dictionaries({c: cell(c) for c in COLUMNS}), min_size=1, max_size=40
)


def as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def write(rows: Sequence[dict[str, Any]], path: Path, fmt: str) -> Path:
    """CSV and Parquet carry every cell as text; JSON Lines keeps JSON's own types."""
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        return path
    table = pa.table({c: pa.array([as_text(r[c]) for r in rows], pa.string()) for c in COLUMNS})
    if fmt == "csv":
        pcsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
    return path


def ingest(
    paths: Sequence[Path], folder: Path, batch_rows: int
) -> tuple[IngestStats, dict[str, ModelAggregate], pa.Table]:
    stats = IngestStats()
    with QuarantineWriter(folder / "quarantine.parquet") as quarantine:
        chunks = read_logs(
            paths, REGISTER, WINDOWS, quarantine=quarantine, batch_rows=batch_rows, stats=stats
        )
        aggregates = fold_chunks(chunks, new_aggregates(REGISTER, WINDOWS))
    return stats, aggregates, pq.read_table(folder / "quarantine.parquet")


def balanced(stats: IngestStats) -> bool:
    return stats.rows_read == sum(getattr(stats, k) for k in IDENTITY)


# ------------------------------------------------------------------ ingest


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    rows=rows_strategy,
    fmt=st.sampled_from(["csv", "jsonl", "parquet"]),
    batch_rows=st.integers(1, 16),
)
def test_any_cell_in_any_format_is_used_or_quarantined_never_lost(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[dict[str, Any]],
    fmt: str,
    batch_rows: int,
) -> None:
    folder = tmp_path_factory.mktemp("cells")
    path = write(rows, folder / f"logs.{fmt}", fmt)
    stats, aggregates, quarantine = ingest([path], folder, batch_rows)
    assert stats.rows_read == len(rows)
    assert balanced(stats)
    assert quarantine.num_rows == stats.rows_quarantined
    assert sum(stats.quarantined_by_reason.values()) == stats.rows_quarantined
    assert sorted(quarantine["reason"].to_pylist()) == sorted(
        r for r, n in stats.quarantined_by_reason.items() for _ in range(n)
    )
    for text in quarantine["row_json"].to_pylist():
        assert isinstance(json.loads(text), dict)
    used = sum(a.current.n_rows + a.reference.n_rows for a in aggregates.values())
    assert used == stats.rows_used


def clean_and_bad_rows(seed: int, n: int) -> list[dict[str, Any]]:
    """Valid rows of both models over four nights, some broken, some exact duplicates."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for i in range(n):
        model = rng.choice(["support-bot", "extractor"])
        conf = round(rng.random(), 3)
        row: dict[str, Any] = {
            "prediction_id": f"p{i}",
            "model_id": model,
            "timestamp": f"2026-10-0{rng.choice([6, 7, 8, 9, 9])}T{rng.randrange(24):02d}:"
            f"{rng.randrange(60):02d}:00Z",
            "confidence": conf if model == "support-bot" else None,
            "score": conf if model == "extractor" else None,
            "latency_ms": rng.lognormvariate(6, 0.5) if model == "support-bot" else None,
            "duration_ms": rng.lognormvariate(5, 0.5) if model == "extractor" else None,
            "output_type": rng.choice(["answer", "json", "summary"]),
            "correct": rng.random() < conf,
            "error": rng.random() < 0.05,
            "failure_mode": rng.choice([None, None, "made up citation"]),
            "segment": rng.choice(["a", "b"]),
            "quality_score": None,
            "feature.x": rng.gauss(0, 1),
            "feature.plan": rng.choice(["basic", "pro"]),
        }
        kind = rng.random()
        if kind < 0.05:
            row["timestamp"] = "soon"
        elif kind < 0.10:
            row["confidence" if model == "support-bot" else "score"] = 1.5
        elif kind < 0.13:
            row["model_id"] = "ghost"
        rows.append(row)
        if rng.random() < 0.08:
            rows.append(dict(row))  # an exact duplicate: which copy wins cannot matter
    return rows


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.integers(0, 10_000),
    cuts=st.lists(st.integers(1, 299), max_size=5),
    order=st.randoms(use_true_random=False),
    batch_rows=st.integers(3, 64),
    fmt=st.sampled_from(["csv", "jsonl", "parquet"]),
)
def test_split_into_any_files_in_any_order_the_totals_and_summaries_are_the_same(
    tmp_path_factory: pytest.TempPathFactory,
    seed: int,
    cuts: list[int],
    order: random.Random,
    batch_rows: int,
    fmt: str,
) -> None:
    rows = clean_and_bad_rows(seed, 300)
    whole = tmp_path_factory.mktemp("whole")
    one_stats, one_aggs, _ = ingest([write(rows, whole / f"all.{fmt}", fmt)], whole, 1000)
    split = tmp_path_factory.mktemp("split")
    edges = [0, *sorted({min(c, len(rows) - 1) for c in cuts}), len(rows)]
    files = [
        write(rows[a:b], split / f"part-{i}.{fmt}", fmt)
        for i, (a, b) in enumerate(itertools.pairwise(edges))
        if b > a
    ]
    order.shuffle(files)
    stats, aggs, _ = ingest(files, split, batch_rows)
    for name in ("rows_read", *IDENTITY):
        assert getattr(stats, name) == getattr(one_stats, name), name
    assert stats.quarantined_by_reason == one_stats.quarantined_by_reason
    for model in aggs:
        assert_same(aggs[model].current, one_aggs[model].current)
        assert_same(aggs[model].reference, one_aggs[model].reference)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(seeds=st.lists(st.integers(0, 10_000), min_size=3, max_size=3, unique=True))
def test_merge_of_summaries_is_associative_and_commutative(
    tmp_path_factory: pytest.TempPathFactory,
    seeds: list[int],
) -> None:
    parts = []
    for n, seed in enumerate(seeds):
        folder = tmp_path_factory.mktemp("part")
        rows = [
            dict(r, prediction_id=f"{n}-{r['prediction_id']}")
            for r in clean_and_bad_rows(seed, 200)
        ]
        stats, aggs, _ = ingest([write(rows, folder / "logs.parquet", "parquet")], folder, 50)
        parts.append((stats, aggs))

    def merged(a: int, b: int, c: int, *, left: bool) -> tuple[IngestStats, ModelAggregate]:
        """(a ⊕ b) ⊕ c when ``left``, else a ⊕ (b ⊕ c), on copies (merge works in place)."""
        (sa, ma), (sb, mb), (sc, mc) = (copy.deepcopy(parts[i]) for i in (a, b, c))
        x, y, z = ma["support-bot"], mb["support-bot"], mc["support-bot"]
        if left:
            return sa.merge(sb).merge(sc), x.merge(y).merge(z)
        return sa.merge(sb.merge(sc)), x.merge(y.merge(z))

    reference_stats, reference = merged(0, 1, 2, left=True)
    for a, b, c, left in ((0, 1, 2, False), (2, 0, 1, True), (1, 2, 0, False)):
        stats, aggregate = merged(a, b, c, left=left)
        for name in ("rows_read", *IDENTITY):
            assert getattr(stats, name) == getattr(reference_stats, name)
        assert stats.quarantined_by_reason == reference_stats.quarantined_by_reason
        assert_same(aggregate.current, reference.current)
        assert_same(aggregate.reference, reference.reference)


# ------------------------------------------------------------------ the register


def _scalar() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(
            [
                "1",
                "-1",
                "0.5",
                ".inf",
                ".nan",
                "~",
                "yes",
                "no",
                "on",
                "''",
                '""',
                "2026-10-09",
                "!!python/name:os.system",
                "!!binary aGk=",
                "&a 1",
                "*a",
                "{",
                "]",
                "|",
                ">-",
                "'unclosed",
                "@x",
                "`y",
                "%TAG",
                "-",
            ]
        ),
        st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8).map(
            json.dumps
        ),
    )


KEYS = [
    "name",
    "models",
    "id",
    "owner",
    "thresholds",
    "error_rate",
    "max",
    "ladder",
    "people",
    "defaults",
    "identity",
    "allow_as",
    "<<",
    "windows",
    "columns",
    "latency_ms",
    "p95",
]


def _node(depth: int) -> st.SearchStrategy[str]:
    if depth <= 0:
        return _scalar()
    child = _node(depth - 1)
    mapping = st.lists(st.tuples(st.sampled_from(KEYS), child), max_size=4).map(
        lambda items: "{" + ", ".join(f"{k}: {v}" for k, v in items) + "}"
    )
    sequence = st.lists(child, max_size=4).map(lambda items: "[" + ", ".join(items) + "]")
    tagged = st.tuples(
        st.sampled_from(["!!map", "!!seq", "!!str", "!custom", "&a", "&b"]), child
    ).map(lambda t: f"{t[0]} {t[1]}")
    return st.one_of(_scalar(), mapping, sequence, tagged, st.sampled_from(["*a", "*b"]))


documents = st.lists(st.tuples(st.sampled_from(KEYS), _node(3)), max_size=6).map(
    lambda items: "".join(f"{k}: {v}\n" for k, v in items)
)


def _loads_or_refuses(text: str) -> None:
    started = time.monotonic()
    try:
        parse_register(text, source="fuzz.yaml")
    except RegisterError as exc:
        lines = text.count("\n") + 2
        assert exc.problems
        for problem in exc.problems:
            assert problem.file == "fuzz.yaml"
            assert 0 <= problem.line <= lines, (problem, text)
            assert str(problem).startswith("fuzz.yaml")
    assert time.monotonic() - started < 5


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=documents)
def test_any_yaml_document_loads_or_is_refused_with_located_problems(text: str) -> None:
    _loads_or_refuses(text)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_any_text_loads_or_is_refused_with_located_problems(text: str) -> None:
    _loads_or_refuses(text)
