"""The bad-input corpus of the reliability suite, and a fast way to run the CLI on it.

Every :class:`Case` writes its input into a fresh folder at test time (nothing large is
committed) and says what a user must see when ``modelhealth check`` meets it: the exit
code, words the message must contain (the file, the column, the problem), and for
row-level problems how many rows go to the quarantine and for which reason.

The logs are one small night (:data:`NIGHT`) of a register with two models
(:data:`REGISTER_YAML`): ``support-bot`` with the contract's column names and
``extractor`` with two columns renamed, as the example register's invoice extractor.

:class:`CliProcesses` runs ``python -m modelhealth …`` in child processes. Importing the
tool costs seconds on a busy machine, so a *zygote* process imports it once and forks a
child per command; each child runs the real ``modelhealth/__main__.py`` with its own
arguments, working folder, environment, stdout, stderr and exit code, exactly as the
interpreter would (an uncaught exception prints a traceback and exits 1). Set
``MODELHEALTH_RELIABILITY_FRESH=1`` to start a fresh interpreter per command instead.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

__all__ = [
    "CASES",
    "HOSTILE",
    "NIGHT",
    "NOW",
    "REGISTER_YAML",
    "Case",
    "CliProcesses",
    "CliResult",
    "Running",
    "base_rows",
    "check_args",
    "night_rows",
    "shared_cli",
    "write_csv",
    "write_jsonl",
    "write_parquet",
]

ROOT = Path(__file__).resolve().parents[1]

#: The night every corpus case is checked for, and the fake clock of the check.
NIGHT = "2026-10-09"
NOW = "2026-10-10T06:00:00+00:00"
_DAY = datetime(2026, 10, 9, tzinfo=timezone.utc)

REGISTER_YAML = """\
name: reliability
people:
  root: [model_owner]
  alice: [model_owner, ml_lead]
  bob: [model_owner]
identity:
  allow_as: true
defaults:
  windows: {current: 1d, reference: 7d}
  thresholds:
    min_samples: 30
    error_rate: {max: 0.2}
models:
  - id: support-bot
    owner: alice
  - id: extractor
    owner: bob
    columns: {confidence: score, latency_ms: duration_ms}
"""

#: Rows per model in the clean night, and in the reference days before it.
ROWS_TONIGHT = 120
ROWS_REFERENCE = 60


# --------------------------------------------------------------------------- clean rows


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def base_rows(
    model: str = "support-bot", *, n: int = ROWS_TONIGHT, day: int = 0, prefix: str = ""
) -> list[dict[str, Any]]:
    """``n`` clean rows of ``model`` spread over the night ``day`` days before :data:`NIGHT`.

    Rows are in contract terms; :func:`_as_logged` renames the extractor's columns.
    """
    start = _DAY - timedelta(days=day)
    rows = []
    for i in range(n):
        rows.append(
            {
                "prediction_id": f"{prefix}{model}-{day}-{i:05d}",
                "model_id": model,
                "timestamp": _iso(start + timedelta(seconds=60 * 11 * i % 86_000 + i)),
                "confidence": round(0.55 + 0.4 * ((i * 37) % 100) / 100, 4),
                "latency_ms": float(200 + (i * 53) % 700),
                "output_type": ("answer", "summary", "json")[i % 3],
                "correct": (i % 9) != 0,
                "error": (i % 25) == 0,
                "failure_mode": "made up citation" if (i % 9) == 0 else None,
                "segment": ("billing", "returns", "tech")[i % 3],
                "feature.tenure": float((i * 7) % 40),
                "feature.plan": ("basic", "pro")[i % 2],
            }
        )
    return rows


def night_rows(prefix: str = "") -> list[dict[str, Any]]:
    """Both models, tonight and three reference nights: every row clean and used."""
    rows: list[dict[str, Any]] = []
    for model in ("support-bot", "extractor"):
        rows += base_rows(model, prefix=prefix)
        for day in (1, 2, 3):
            rows += base_rows(model, n=ROWS_REFERENCE, day=day, prefix=prefix)
    return rows


def _as_logged(row: Mapping[str, Any]) -> dict[str, Any]:
    if row.get("model_id") != "extractor":
        return dict(row)
    renamed = {"confidence": "score", "latency_ms": "duration_ms"}
    return {renamed.get(k, k): v for k, v in row.items()}


_COLUMNS = (
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
    "feature.tenure",
    "feature.plan",
)


def _table(
    rows: Sequence[Mapping[str, Any]], types: Mapping[str, pa.DataType] | None = None
) -> pa.Table:
    logged = [_as_logged(r) for r in rows]
    names = list(_COLUMNS)
    for row in logged:
        names += [k for k in row if k not in names]
    types = dict(types or {})
    columns = {}
    for name in names:
        values = [r.get(name) for r in logged]
        kind = types.get(name)
        if kind is None and name == "timestamp":
            kind = pa.string()
        columns[name] = pa.array(values, kind) if kind is not None else pa.array(values)
    return pa.table(columns)


def write_parquet(
    path: Path, rows: Sequence[Mapping[str, Any]], types: Mapping[str, pa.DataType] | None = None
) -> Path:
    """Rows as one Parquet file (native types; ``types`` overrides a column's type)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(_table(rows, types), path)
    return path


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]], *, delimiter: str = ",") -> Path:
    """Rows as CSV the way Arrow writes it (empty cell for a missing value)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pcsv.write_csv(_table(rows), path, pcsv.WriteOptions(delimiter=delimiter))
    return path


def write_jsonl(path: Path, rows: Sequence[Mapping[str, Any] | str]) -> Path:
    """Rows as JSON Lines; a ``str`` item is written as that line, verbatim."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for row in rows:
        if isinstance(row, str):
            lines.append(row)
        else:
            lines.append(json.dumps(_as_logged(row), allow_nan=True))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    """One bad input and what ``modelhealth check`` must make of it.

    Parameters
    ----------
    name
        Test id.
    build
        Writes the input under the folder it is given; returns the ``--logs`` paths.
    exit_code
        0 ran, 1 a finding at or above ``--fail-on breach`` (blind counts), 2 refused.
    says
        Words stderr must contain (exit 2) or stdout/stderr together (0, 1); ``{log}``
        stands for the first ``--logs`` path.
    reasons
        Quarantine rows expected per reason (row-level cases); ``None`` = not checked.
    rows_read
        How many rows the input holds (malformed lines included); ``None`` = not checked.
    duplicates
        Duplicate rows expected.
    statuses
        Expected status per model (a subset).
    unreadable
        Log files expected in ``ingest.unreadable``.
    options
        Extra ``check`` options; ``{folder}`` stands for the case's folder.
    """

    name: str
    build: Callable[[Path], list[Path]]
    exit_code: int
    says: tuple[str, ...] = ()
    reasons: Mapping[str, int] | None = None
    rows_read: int | None = None
    duplicates: int = 0
    statuses: Mapping[str, str] = field(default_factory=dict)
    unreadable: int = 0
    options: tuple[str, ...] = ()


_CLEAN = len(night_rows())  # 2 models x (120 + 3 x 60) = 600 rows


def _one(builder: Callable[[Path], Path]) -> Callable[[Path], list[Path]]:
    return lambda folder: [builder(folder)]


def _truncated_parquet(folder: Path) -> Path:
    whole = write_parquet(folder / "whole.parquet", night_rows())
    data = whole.read_bytes()
    whole.unlink()
    path = folder / "truncated.parquet"
    path.write_bytes(data[: len(data) // 2])
    return path


def _corrupt_parquet(folder: Path) -> Path:
    path = write_parquet(folder / "corrupt.parquet", night_rows())
    data = bytearray(path.read_bytes())
    # Keep the magic bytes and the footer; scramble the column chunks in between.
    for i in range(8, len(data) - 2048, 7):
        data[i] = (data[i] * 31 + 17) % 256
    path.write_bytes(bytes(data))
    return path


def _not_parquet(folder: Path) -> Path:
    path = folder / "logs.parquet"
    path.write_text("prediction_id,model_id\nthis is CSV named .parquet\n")
    return path


def _truncated_in_directory(folder: Path) -> list[Path]:
    logs = folder / "logs"
    write_parquet(logs / "date=2026-10-09" / "good.parquet", night_rows())
    whole = write_parquet(folder / "whole.parquet", night_rows(prefix="x"))
    (logs / "date=2026-10-09" / "broken.parquet").write_bytes(whole.read_bytes()[:300])
    whole.unlink()
    return [logs]


def _semicolon_csv(folder: Path) -> Path:
    return write_csv(folder / "logs.csv", night_rows(), delimiter=";")


def _tab_csv(folder: Path) -> Path:
    return write_csv(folder / "logs.csv", night_rows(), delimiter="\t")


def _ragged_csv(folder: Path) -> Path:
    path = write_csv(folder / "logs.csv", night_rows())
    lines = path.read_text().splitlines()
    # Three rows lose their last cells, two get an extra one.
    for at in (5, 50, 400):
        lines[at] = lines[at].rsplit(",", 3)[0]
    for at in (7, 300):
        lines[at] = lines[at] + ",surplus"
    path.write_text("\n".join(lines) + "\n")
    return path


def _latin1_csv(folder: Path) -> Path:
    rows = night_rows()
    rows[3]["segment"] = "Bücher und Zeitschriften"
    path = write_csv(folder / "logs.csv", rows)
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))
    return path


def _bom_csv(folder: Path) -> Path:
    path = write_csv(folder / "logs.csv", night_rows())
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    return path


def _broken_jsonl(folder: Path) -> Path:
    rows: list[Mapping[str, Any] | str] = list(night_rows())
    rows[10] = '{"prediction_id": "cut-off", "model_id": "support-bo'
    rows[20] = "not json at all"
    rows[30] = "[1, 2, 3]"
    rows[40] = '{"prediction_id": "x", "confidence": 0.5,}'
    return write_jsonl(folder / "logs.jsonl", rows)


def _json_array(folder: Path) -> Path:
    path = folder / "logs.json"
    path.write_text(json.dumps([_as_logged(r) for r in night_rows()[:5]]))
    return path


def _not_gzip(folder: Path) -> Path:
    path = folder / "logs.jsonl.gz"
    path.write_bytes(b"this was never gzip\n" * 10)
    return path


def _empty(suffix: str) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        path = folder / f"empty{suffix}"
        path.write_bytes(b"")
        return path

    return build


def _header_only_csv(folder: Path) -> Path:
    path = folder / "logs.csv"
    path.write_text(",".join(_COLUMNS) + "\n")
    return path


def _schema_only(folder: Path) -> Path:
    table = _table(night_rows()).slice(0, 0)
    path = folder / "logs.parquet"
    pq.write_table(table, path)
    return path


def _one_model_missing(folder: Path) -> Path:
    rows = [r for r in night_rows() if r["model_id"] == "support-bot"]
    return write_parquet(folder / "logs.parquet", rows)


def _missing_column(folder: Path) -> Path:
    table = _table(night_rows()).drop_columns(["latency_ms"])
    path = folder / "logs.parquet"
    pq.write_table(table, path)
    return path


def _missing_renamed_column(folder: Path) -> Path:
    table = _table(night_rows()).drop_columns(["score"])
    path = folder / "logs.parquet"
    pq.write_table(table, path)
    return path


def _empty_directory(folder: Path) -> Path:
    logs = folder / "logs"
    (logs / "date=2026-10-09").mkdir(parents=True)
    (logs / "date=2026-10-09" / "README.txt").write_text("logs land here")
    return logs


def _unknown_extension(folder: Path) -> Path:
    path = folder / "logs.txt"
    path.write_text("prediction_id,model_id\n")
    return path


def _bad_numbers(folder: Path) -> Path:
    rows = night_rows()
    bad = {
        0: ("confidence", 1.5),
        1: ("confidence", -0.1),
        2: ("confidence", math.nan),
        3: ("confidence", math.inf),
        4: ("confidence", -math.inf),
        5: ("latency_ms", -1.0),
        6: ("latency_ms", math.inf),
        7: ("latency_ms", math.nan),
        8: ("confidence", None),
        9: ("latency_ms", None),
    }
    for at, (column, value) in bad.items():
        rows[at][column] = value
    rows[10]["latency_ms"] = 1e300  # huge but a number: used (and a latency breach)
    rows[11]["latency_ms"] = 0.0
    return write_parquet(folder / "logs.parquet", rows)


_BAD_NUMBER_REASONS = {
    "confidence_out_of_range": 2,
    "confidence_not_a_number": 2,  # ±inf
    "confidence_missing": 2,  # NaN and null on rows that are not errors
    "latency_negative": 1,
    "latency_not_a_number": 1,  # inf
    "latency_missing": 2,
}


def _wrong_types(folder: Path) -> Path:
    """Text where numbers and booleans belong, as a careless exporter writes them."""
    rows = night_rows()
    for r in rows:
        r["confidence"] = None if r.get("confidence") is None else str(r["confidence"])
        r["latency_ms"] = None if r.get("latency_ms") is None else str(r["latency_ms"])
        r["error"] = "yes" if r["error"] else "no"
        r["correct"] = "true" if r["correct"] else "false"
    rows[0]["confidence"] = "high"
    rows[1]["confidence"] = "0,9"
    rows[2]["latency_ms"] = "fast"
    rows[3]["error"] = "maybe"
    rows[4]["quality_score"] = "great"
    rows[5]["quality_score"] = "1.2"
    rows[6]["correct"] = "perhaps"  # unreadable correct = unlabeled, not quarantined
    for r in rows:
        r.setdefault("quality_score", None)
        if r["model_id"] == "extractor":
            r["score"] = r.pop("confidence")
            r["duration_ms"] = r.pop("latency_ms")
    types = {
        n: pa.string()
        for n in (
            "confidence",
            "latency_ms",
            "score",
            "duration_ms",
            "error",
            "quality_score",
            "correct",
        )
    }
    path = folder / "logs.parquet"
    table = pa.table(
        {n: pa.array([r.get(n) for r in rows], types.get(n)) for n in [*_COLUMNS, "quality_score"]}
    )
    pq.write_table(table, path)
    return path


_WRONG_TYPE_REASONS = {
    "confidence_not_a_number": 2,
    "latency_not_a_number": 1,
    "error_not_boolean": 1,
    "quality_score_out_of_range": 2,
}


def _timestamps(folder: Path) -> Path:
    rows = night_rows()
    zones = ["+02:00", "-05:30", "Z", "+0100", ""]
    tonight = [r for r in rows if r["timestamp"].startswith(NIGHT)]
    for i, r in enumerate(tonight[:50]):
        # The same instant written in another zone stays in tonight's window.
        zone = zones[i % len(zones)]
        moment = datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00"))
        moment = moment.replace(hour=12)  # noon UTC: any of these zones keep the day
        if zone in ("", "Z"):
            r["timestamp"] = moment.strftime("%Y-%m-%dT%H:%M:%S") + zone
        else:
            sign = 1 if zone[0] == "+" else -1
            hours, minutes = int(zone[1:3]), int(zone[-2:])
            local = moment + sign * timedelta(hours=hours, minutes=minutes)
            r["timestamp"] = local.strftime("%Y-%m-%dT%H:%M:%S") + zone
    garbage = [
        "yesterday",
        "2026-13-45T10:00:00Z",
        "",
        "10/09/2026 10:00",
        "2026-10-09T25:00Z",
        "1696845600",
        "9999999999999999999999",
        "2026-10-09T10:00:00+99:99",
    ]
    for r, text in zip(tonight[50:], garbage, strict=False):
        r["timestamp"] = text
    return write_parquet(folder / "logs.parquet", rows)


def _duplicates(folder: Path) -> Path:
    rows = night_rows()
    tonight = [r for r in rows if r["timestamp"].startswith(NIGHT)]
    copies = [dict(r) for r in tonight[:25]]
    # The same id from the other model is a different prediction, not a duplicate.
    twin = dict(tonight[0], model_id="extractor", confidence=0.7)
    return write_parquet(folder / "logs.parquet", [*rows, *copies, twin])


def _ids_and_models(folder: Path) -> Path:
    rows = night_rows()
    rows[0]["prediction_id"] = None
    rows[1]["prediction_id"] = ""
    rows[2]["model_id"] = None
    rows[3]["model_id"] = "support-bot-v2"
    rows[4]["model_id"] = "SUPPORT-BOT"
    rows[5]["model_id"] = " support-bot"
    return write_parquet(folder / "logs.parquet", rows)


def _many_output_types(folder: Path) -> Path:
    rows = []
    for i in range(10_000):
        row = base_rows(n=1, prefix=f"t{i}-")[0]
        row.update(output_type=f"type-{i:05d}", error=False, correct=True, failure_mode=None)
        rows.append(row)
    return write_parquet(folder / "logs.parquet", [*night_rows(), *rows])


HOSTILE = (
    "<script>alert('xss')</script>",
    '"><img src=x onerror=alert(1)>',
    "Ünïcödé ✓ 模型 \u202etxt.exe",
    "'; DROP TABLE ladder_steps; --",
)


def _hostile_strings(folder: Path) -> Path:
    rows = night_rows()
    for i, r in enumerate(rows):
        r["failure_mode"] = HOSTILE[i % len(HOSTILE)] if i % 5 == 0 else None
        r["segment"] = HOSTILE[i % len(HOSTILE)]
        r["output_type"] = HOSTILE[(i + 1) % len(HOSTILE)]
        r[f"feature.{HOSTILE[0]}"] = float(i % 7)
        r[f"feature.{HOSTILE[2]}"] = HOSTILE[i % 2]
    rows[0]["model_id"] = HOSTILE[0]  # an unknown model: quarantined
    return write_parquet(folder / "logs.parquet", rows)


_FIVE_MB = 5 * 1024 * 1024


def _huge_cells() -> list[dict[str, Any]]:
    rows = night_rows()
    rows[0]["segment"] = "s" * _FIVE_MB
    rows[1]["confidence"] = 2.0  # quarantined with a 5 MB cell in its row_json
    rows[1]["failure_mode"] = "f" * _FIVE_MB
    rows[2]["prediction_id"] = "p" * _FIVE_MB
    rows[3]["output_type"] = "o" * _FIVE_MB
    rows[4]["feature.plan"] = "v" * _FIVE_MB
    return rows


def _huge_cell(folder: Path) -> Path:
    return write_parquet(folder / "logs.parquet", _huge_cells())


def _huge_cell_csv(folder: Path) -> Path:
    return write_csv(folder / "logs.csv", _huge_cells())


def _huge_cell_jsonl(folder: Path) -> Path:
    return write_jsonl(folder / "logs.jsonl", _huge_cells())


def _epoch_seconds(folder: Path) -> Path:
    rows = night_rows()
    epoch = int(_DAY.timestamp()) + 3600
    types = {"timestamp": pa.int64()}
    for i, r in enumerate(rows):
        # Milliseconds are accepted; the first ten rows are seconds: refused, not guessed.
        r["timestamp"] = epoch + i if i < 10 else (epoch + i) * 1000
        if i >= 10:
            moment = datetime.fromisoformat(night_rows()[i]["timestamp"].replace("Z", "+00:00"))
            r["timestamp"] = int(moment.timestamp() * 1000)
    return write_parquet(folder / "logs.parquet", rows, types)


def _huge_integers(folder: Path) -> Path:
    """Integers past 2**53 where floats are expected: rounded, never a crash."""
    rows: list[Mapping[str, Any] | str] = list(night_rows())
    rows[0] = dict(night_rows()[0], latency_ms=2**62)
    rows[1] = dict(night_rows()[1], **{"feature.tenure": 2**53 + 1})
    rows[2] = dict(night_rows()[2], confidence=2**63 - 1)  # out of range: quarantined
    return write_jsonl(folder / "logs.jsonl", rows)


def _nested_jsonl(folder: Path) -> Path:
    rows: list[Mapping[str, Any] | str] = list(night_rows())
    rows[0] = dict(night_rows()[0], confidence={"value": 0.9})
    rows[1] = dict(night_rows()[1], latency_ms=[1, 2])
    rows[2] = dict(night_rows()[2], timestamp={"when": "now"})
    rows[3] = dict(night_rows()[3], error="sometimes")
    rows[4] = dict(night_rows()[4], prediction_id=12345)  # a number id: read as its text
    return write_jsonl(folder / "logs.jsonl", rows)


def _out_of_window(folder: Path) -> Path:
    rows = night_rows()
    old = base_rows(n=40, day=30, prefix="old-")
    future = base_rows(n=15, day=-2, prefix="future-")
    return write_parquet(folder / "logs.parquet", [*rows, *old, *future])


def _lone_surrogate_jsonl(folder: Path) -> Path:
    """``"\\ud800"`` is valid JSON syntax for text no UTF-8 file can hold (issue 17)."""
    rows: list[Mapping[str, Any] | str] = list(night_rows())
    rows[3] = json.dumps(dict(night_rows()[3], segment="\ud800 half a pair"))
    rows[9] = json.dumps(dict(night_rows()[9], prediction_id="id-\udfff"))
    return write_jsonl(folder / "logs.jsonl", rows)


def _binary_model_ids(folder: Path) -> Path:
    """Parquet BYTE_ARRAY (binary, not UTF-8 string) ids, one of them not UTF-8 at all."""
    path = write_parquet(folder / "logs.parquet", night_rows())
    table = pq.read_table(path)
    ids: list[bytes | None] = [m.encode() for m in table["model_id"].to_pylist()]
    ids[4] = b"support-bot\xff\xfe"
    at = table.schema.get_field_index("model_id")
    pq.write_table(table.set_column(at, "model_id", pa.array(ids, pa.binary())), path)
    return path


def _invalid_utf8_segment(folder: Path) -> Path:
    """A string column whose bytes are not UTF-8 (a writer that never validated)."""
    path = write_parquet(folder / "logs.parquet", night_rows())
    table = pq.read_table(path)
    cells = [None if s is None else s.encode() for s in table["segment"].to_pylist()]
    for at in (2, 11, 250):
        cells[at] = b"caf\xe9"  # Latin-1 bytes
    raw = pa.array(cells, pa.binary())
    # Reinterpret the bytes as a string column without validation, as a careless writer does.
    bad = pa.Array.from_buffers(pa.string(), len(raw), raw.buffers(), raw.null_count)
    pq.write_table(table.set_column(table.schema.get_field_index("segment"), "segment", bad), path)
    return path


def _duplicate_keys_jsonl(folder: Path) -> Path:
    rows: list[Mapping[str, Any] | str] = list(night_rows())
    good = json.dumps(night_rows()[6])
    rows[6] = good[:-1] + ', "confidence": 0.01}'  # the same key twice: which one is meant?
    return write_jsonl(folder / "logs.jsonl", rows)


def _duplicate_column_parquet(folder: Path) -> Path:
    table = _table(night_rows())
    bad = pa.Table.from_arrays(
        [*table.columns, table["confidence"]], names=[*table.column_names, "confidence"]
    )
    path = folder / "logs.parquet"
    pq.write_table(bad, path)
    return path


def _duplicate_column_csv(folder: Path) -> Path:
    path = write_csv(folder / "logs.csv", night_rows())
    lines = path.read_text().splitlines()
    lines[0] = lines[0].replace('"segment"', '"latency_ms"')
    path.write_text("\n".join(lines) + "\n")
    return path


#: Just past the default ``ingest.max_line_bytes`` (64 MiB).
_LONG_LINE = (64 << 20) + 1


def _line_too_long_gz(folder: Path) -> Path:
    """One line longer than the register allows, in a file that is small on disk."""
    import gzip

    path = folder / "logs.jsonl.gz"
    with gzip.open(path, "wb", compresslevel=1) as handle:
        for i, row in enumerate(night_rows()):
            if i == 5:
                handle.write(b'{"prediction_id": "huge", "segment": "')
                block = b"x" * (1 << 20)
                for _ in range(_LONG_LINE >> 20):
                    handle.write(block)
                handle.write(b'"}\n')
            handle.write(json.dumps(_as_logged(row)).encode() + b"\n")
    return path


def _labels_corrupt(folder: Path) -> list[Path]:
    logs = write_parquet(folder / "logs.parquet", night_rows())
    (folder / "labels.parquet").write_bytes(b"PAR1 not really")
    return [logs]


def _labels_out_of_range(folder: Path) -> list[Path]:
    logs = write_parquet(folder / "logs.parquet", night_rows())
    ids = [r["prediction_id"] for r in night_rows()[:20]]
    pq.write_table(
        pa.table({"prediction_id": ids, "quality_score": [1.7] * 20}), folder / "labels.parquet"
    )
    return [logs]


CASES: tuple[Case, ...] = (
    Case("truncated-parquet", _one(_truncated_parquet), 2, ("{log}", "cannot be read", "Parquet")),
    Case("corrupt-parquet-pages", _one(_corrupt_parquet), 2, ("{log}", "cannot be read")),
    Case("csv-named-parquet", _one(_not_parquet), 2, ("{log}", "Parquet")),
    Case(
        "truncated-parquet-inside-a-directory",
        _truncated_in_directory,
        0,
        ("could not be read and were skipped", "broken.parquet"),
        reasons={},
        rows_read=_CLEAN,
        unreadable=1,
        statuses={"support-bot": "warning"},
    ),
    Case(
        "csv-semicolon-delimited",
        _one(_semicolon_csv),
        2,
        ("{log}", "missing required column", "';'"),
    ),
    Case("csv-tab-delimited", _one(_tab_csv), 2, ("{log}", "missing required column", "'\\t'")),
    Case("csv-ragged-rows", _one(_ragged_csv), 0, reasons={"malformed_line": 5}, rows_read=_CLEAN),
    Case("csv-latin1", _one(_latin1_csv), 2, ("{log}", "is not UTF-8 text", "save it as UTF-8")),
    Case("csv-byte-order-mark", _one(_bom_csv), 0, reasons={}, rows_read=_CLEAN),
    Case(
        "csv-header-only",
        _one(_header_only_csv),
        1,
        ("blind",),
        reasons={},
        rows_read=0,
        statuses={"support-bot": "blind", "extractor": "blind"},
    ),
    Case(
        "jsonl-broken-lines",
        _one(_broken_jsonl),
        0,
        reasons={"malformed_line": 4},
        rows_read=_CLEAN,
    ),
    Case(
        "jsonl-nested-and-odd-values",
        _one(_nested_jsonl),
        0,
        reasons={
            "confidence_not_a_number": 1,
            "latency_not_a_number": 1,
            "bad_timestamp": 1,
            "error_not_boolean": 1,
        },
        rows_read=_CLEAN,
    ),
    Case(
        "integers-past-two-to-the-53",
        _one(_huge_integers),
        0,
        reasons={"confidence_out_of_range": 1},
        rows_read=_CLEAN,
    ),
    Case("json-array-not-lines", _one(_json_array), 2, ("{log}", "JSON array")),
    Case("gzip-that-is-not", _one(_not_gzip), 2, ("{log}", "cannot be read")),
    Case(
        "empty-parquet-file",
        _one(_empty(".parquet")),
        1,
        ("blind",),
        reasons={},
        rows_read=0,
        statuses={"support-bot": "blind"},
    ),
    Case("empty-csv-file", _one(_empty(".csv")), 1, ("blind",), reasons={}, rows_read=0),
    Case("empty-jsonl-file", _one(_empty(".jsonl")), 1, ("blind",), reasons={}, rows_read=0),
    Case("parquet-with-zero-rows", _one(_schema_only), 1, ("blind",), reasons={}, rows_read=0),
    Case(
        "no-log-files-in-directory", _one(_empty_directory), 1, ("blind",), reasons={}, rows_read=0
    ),
    Case("unknown-extension", _one(_unknown_extension), 2, ("{log}", "unknown log format")),
    Case(
        "zero-rows-for-a-registered-model",
        _one(_one_model_missing),
        1,
        ("blind", "extractor"),
        reasons={},
        rows_read=_CLEAN // 2,
        statuses={"extractor": "blind"},
    ),
    Case(
        "missing-required-column",
        _one(_missing_column),
        2,
        ("{log}", "'latency_ms'", "missing required column"),
    ),
    Case(
        "missing-renamed-column",
        _one(_missing_renamed_column),
        2,
        ("{log}", "'score'", "extractor"),
    ),
    Case(
        "confidence-and-latency-out-of-contract",
        _one(_bad_numbers),
        0,
        reasons=_BAD_NUMBER_REASONS,
        rows_read=_CLEAN,
    ),
    Case(
        "wrong-types-text-for-numbers",
        _one(_wrong_types),
        0,
        reasons=_WRONG_TYPE_REASONS,
        rows_read=_CLEAN,
    ),
    Case(
        "timestamps-mixed-zones-and-garbage",
        _one(_timestamps),
        0,
        reasons={"bad_timestamp": 8},
        rows_read=_CLEAN,
    ),
    Case(
        "epoch-seconds-refused",
        _one(_epoch_seconds),
        0,
        reasons={"bad_timestamp": 10},
        rows_read=_CLEAN,
    ),
    Case("duplicate-ids", _one(_duplicates), 0, reasons={}, rows_read=_CLEAN + 26, duplicates=25),
    Case(
        "missing-ids-and-unknown-models",
        _one(_ids_and_models),
        0,
        reasons={"missing_prediction_id": 2, "missing_model_id": 1, "unknown_model": 3},
        rows_read=_CLEAN,
    ),
    Case("rows-outside-the-windows", _one(_out_of_window), 0, reasons={}, rows_read=_CLEAN + 55),
    # 10 000 rows at one confidence tonight: a real confidence drift, hence exit 1.
    Case(
        "ten-thousand-output-types",
        _one(_many_output_types),
        1,
        ("support-bot",),
        reasons={},
        rows_read=_CLEAN + 10_000,
    ),
    Case(
        "html-script-and-unicode-strings",
        _one(_hostile_strings),
        0,
        reasons={"unknown_model": 1},
        rows_read=_CLEAN,
    ),
    Case(
        "five-megabyte-cells",
        _one(_huge_cell),
        0,
        reasons={"confidence_out_of_range": 1},
        rows_read=_CLEAN,
    ),
    Case(
        "five-megabyte-cells-csv",
        _one(_huge_cell_csv),
        0,
        reasons={"confidence_out_of_range": 1},
        rows_read=_CLEAN,
    ),
    Case(
        "five-megabyte-cells-jsonl",
        _one(_huge_cell_jsonl),
        0,
        reasons={"confidence_out_of_range": 1},
        rows_read=_CLEAN,
    ),
    Case(
        "corrupt-labels-file",
        _labels_corrupt,
        2,
        ("labels file", "labels.parquet"),
        options=("--labels", "{folder}/labels.parquet"),
    ),
    Case(
        "labels-out-of-range",
        _labels_out_of_range,
        2,
        ("labels file", "quality_score", "[0, 1]"),
        options=("--labels", "{folder}/labels.parquet"),
    ),
    Case(
        "logs-path-missing", lambda folder: [folder / "nowhere"], 2, ("logs not found", "nowhere")
    ),
    # Issue 17: hostile or broken input cannot take the night down.
    Case(
        "jsonl-lone-surrogates",
        _one(_lone_surrogate_jsonl),
        0,
        reasons={"invalid_text": 2},
        rows_read=_CLEAN,
    ),
    Case(
        "parquet-binary-model-ids-one-not-utf8",
        _one(_binary_model_ids),
        0,
        reasons={"invalid_text": 1},
        rows_read=_CLEAN,
    ),
    Case(
        "parquet-string-column-not-utf8",
        _one(_invalid_utf8_segment),
        0,
        reasons={"invalid_text": 3},
        rows_read=_CLEAN,
    ),
    Case(
        "jsonl-key-given-twice",
        _one(_duplicate_keys_jsonl),
        0,
        reasons={"duplicate_key": 1},
        rows_read=_CLEAN,
    ),
    Case(
        "parquet-column-given-twice",
        _one(_duplicate_column_parquet),
        2,
        ("{log}", "more than one column named 'confidence'"),
    ),
    Case(
        "csv-column-given-twice",
        _one(_duplicate_column_csv),
        2,
        ("{log}", "more than one column named 'latency_ms'"),
    ),
    Case(
        "jsonl-gz-line-longer-than-the-limit",
        _one(_line_too_long_gz),
        0,
        reasons={"line_too_long": 1},
        rows_read=_CLEAN + 1,
    ),
)


# --------------------------------------------------------------------------- the CLI


def check_args(logs: Sequence[Path], out: Path, register: Path, *extra: str) -> list[str]:
    """``modelhealth check`` arguments for one corpus case (no ladder, no drift)."""
    args = ["check", "--register", str(register)]
    for path in logs:
        args += ["--logs", str(path)]
    return [
        *args,
        "--as-of",
        NIGHT,
        "--out",
        str(out),
        "--now",
        NOW,
        "--no-ladder",
        "--no-drift",
        "--fail-on",
        "breach",
        *extra,
    ]


@dataclass(frozen=True)
class CliResult:
    """What one ``python -m modelhealth`` process did."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str
    seconds: float


_ZYGOTE = textwrap.dedent(
    """
    import json, os, runpy, sys, time, traceback
    import modelhealth.cli, modelhealth.nightly, monitor.check, monitor.drift  # noqa: F401
    import monitor.failure_modes, modelhealth.outputs.html  # noqa: F401
    import modelhealth.outputs.tracking  # noqa: F401
    import ladder.actions  # noqa: F401
    import mlflow, mlflow.tracking  # noqa: F401

    def child(req):
        code = 0
        try:
            os.chdir(req["cwd"])
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # never the zygote's order pipe
            for fd, name in ((1, "stdout"), (2, "stderr")):
                os.dup2(os.open(req[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
            os.environ.update(req["env"])
            sys.argv = ["modelhealth", *req["args"]]
            try:
                runpy.run_module("modelhealth", run_name="__main__", alter_sys=True)
            except SystemExit as exc:
                if exc.code is None or isinstance(exc.code, int):
                    code = exc.code or 0
                else:
                    print(exc.code, file=sys.stderr)
                    code = 1
            except BaseException:
                traceback.print_exc()
                code = 1
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)

    def spawn(req):
        pid = os.fork()
        if pid == 0:
            child(req)
        return pid

    def reply(value):
        print(json.dumps(value), flush=True)

    reaped = {}  # children that ended while another was waited for
    for line in sys.stdin:
        order = json.loads(line)
        if order["op"] == "spawn":
            reply({"pids": [spawn(req) for req in order["requests"]]})
        elif order["op"] == "wait":
            while any(p not in reaped for p in order["pids"]):
                pid, status = os.wait()
                reaped[pid] = os.waitstatus_to_exitcode(status)
            reply({"codes": [reaped.pop(p) for p in order["pids"]]})
    """
)


@dataclass
class Running:
    """A ``modelhealth`` process that was started and not yet waited for."""

    pid: int
    request: Mapping[str, Any]
    started: float
    popen: subprocess.Popen[bytes] | None = None


class CliProcesses:
    """Runs ``modelhealth`` commands in child processes (see the module docstring).

    Parameters
    ----------
    scratch
        Folder for the children's stdout and stderr files.
    """

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.fresh = os.environ.get("MODELHEALTH_RELIABILITY_FRESH", "") not in ("", "0")
        self._count = 0
        self._zygote: subprocess.Popen[str] | None = None

    @staticmethod
    def environment() -> dict[str, str]:
        """The environment every child starts from."""
        env = dict(os.environ)
        env.update(
            {
                "OPENBLAS_NUM_THREADS": "1",
                "OMP_NUM_THREADS": "1",
                "COLUMNS": "200",
                "PYTHONPATH": str(ROOT),
            }
        )
        return env

    def _order(self, order: Mapping[str, Any]) -> dict[str, Any]:
        if self._zygote is None or self._zygote.poll() is not None:
            self._zygote = subprocess.Popen(
                [sys.executable, "-c", _ZYGOTE],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
                env=self.environment(),
            )
        assert self._zygote.stdin is not None and self._zygote.stdout is not None
        self._zygote.stdin.write(json.dumps(order) + "\n")
        self._zygote.stdin.flush()
        answer = self._zygote.stdout.readline()
        if not answer:
            raise RuntimeError("the modelhealth zygote process died")
        reply: dict[str, Any] = json.loads(answer)
        return reply

    def start(
        self,
        commands: Sequence[Sequence[str]],
        *,
        cwd: Path | None = None,
        env: Sequence[Mapping[str, str]] | None = None,
    ) -> list[Running]:
        """Start several commands at the same moment, each in its own process."""
        envs = list(env) if env is not None else [{}] * len(commands)
        self.scratch.mkdir(parents=True, exist_ok=True)
        requests = []
        for args, extra in zip(commands, envs, strict=True):
            self._count += 1
            stem = self.scratch / f"cli-{self._count:04d}"
            requests.append(
                {
                    "args": [str(a) for a in args],
                    "cwd": str(cwd or ROOT),
                    "env": dict(extra),
                    "stdout": f"{stem}.out",
                    "stderr": f"{stem}.err",
                }
            )
        now = time.monotonic()
        if not self.fresh:
            pids = self._order({"op": "spawn", "requests": requests})["pids"]
            return [Running(pid, r, now) for pid, r in zip(pids, requests, strict=True)]
        running = []
        for r in requests:
            with open(r["stdout"], "wb") as out, open(r["stderr"], "wb") as err:
                popen = subprocess.Popen(
                    [sys.executable, "-m", "modelhealth", *r["args"]],
                    cwd=r["cwd"],
                    env={**self.environment(), **r["env"]},
                    stdout=out,
                    stderr=err,
                )
            running.append(Running(popen.pid, r, now, popen))
        return running

    def wait(self, running: Sequence[Running]) -> list[CliResult]:
        """Wait for started commands and collect what they printed."""
        if self.fresh:
            codes = [r.popen.wait(timeout=600) for r in running if r.popen is not None]
        else:
            codes = self._order({"op": "wait", "pids": [r.pid for r in running]})["codes"]
        now = time.monotonic()
        return [
            CliResult(
                tuple(r.request["args"]),
                code,
                Path(r.request["stdout"]).read_text(errors="replace"),
                Path(r.request["stderr"]).read_text(errors="replace"),
                now - r.started,
            )
            for r, code in zip(running, codes, strict=True)
        ]

    def run(
        self, args: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None
    ) -> CliResult:
        """One command; waits for it."""
        return self.run_together([args], cwd=cwd, env=[env or {}])[0]

    def run_together(
        self,
        commands: Sequence[Sequence[str]],
        *,
        cwd: Path | None = None,
        env: Sequence[Mapping[str, str]] | None = None,
    ) -> list[CliResult]:
        """Several commands started at the same moment; waits for all of them."""
        return self.wait(self.start(commands, cwd=cwd, env=env))

    def close(self) -> None:
        """Stop the zygote."""
        if self._zygote is not None and self._zygote.poll() is None:
            assert self._zygote.stdin is not None
            self._zygote.stdin.close()
            self._zygote.wait(timeout=30)
        self._zygote = None


_SHARED: CliProcesses | None = None


def shared_cli() -> CliProcesses:
    """One :class:`CliProcesses` for the whole test session (its zygote is closed at exit)."""
    global _SHARED
    if _SHARED is None:
        import atexit
        import tempfile

        _SHARED = CliProcesses(Path(tempfile.mkdtemp(prefix="modelhealth-reliability-")))
        atexit.register(_SHARED.close)
    return _SHARED
