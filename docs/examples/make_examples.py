"""Write the log-contract examples of docs/log-contract.md: one night of two models as
Parquet, CSV and JSON Lines, and a register that reads them.

    .venv/bin/python docs/examples/make_examples.py            # rewrite docs/examples/
    .venv/bin/python docs/examples/make_examples.py OUT_DIR    # write elsewhere

``tests/test_log_contract.py`` regenerates them, compares, and checks that every file
passes ``modelhealth check`` with nothing quarantined.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
NIGHT = "2026-10-20"

REGISTER = """\
# The register that reads docs/examples/logs.{parquet,csv,jsonl}.
name: log-contract-example
models:
  - id: support-bot
    owner: ann
    output_types: [answer, json]
    thresholds:
      min_samples: 5
      drift: {enabled: false}
  - id: churn
    owner: ann
    output_types: [label]
    thresholds:
      min_samples: 5
      drift: {enabled: false}
"""


def example_rows() -> list[dict[str, Any]]:
    """Ten predictions of 2026-10-20: an LLM assistant and a classifier, every contract
    column used at least once, nulls where the contract allows them."""
    bot = [
        # id, time (UTC), confidence, latency, type, correct, quality, error, mode, valid, segment
        ("a-0001", "00:04:12.250Z", 0.93, 812.0, "answer", True, 0.9, False, None, None, "billing"),
        (
            "a-0002",
            "03:17:40Z",
            0.71,
            1430.5,
            "answer",
            False,
            0.4,
            False,
            "made up citation",
            None,
            "billing",
        ),
        ("a-0003", "09:02:03Z", 0.88, 655.0, "json", None, None, False, None, True, "returns"),
        (
            "a-0004",
            "12:45:00+02:00",
            0.42,
            30000.0,
            "json",
            None,
            None,
            True,
            None,
            None,
            "returns",
        ),
        (
            "a-0005",
            "18:30:59.999Z",
            0.97,
            503.25,
            "answer",
            True,
            None,
            False,
            None,
            None,
            "technical",
        ),
    ]
    rows: list[dict[str, Any]] = []
    for pid, clock, conf, lat, kind, correct, quality, error, mode, valid, segment in bot:
        rows.append(
            {
                "prediction_id": pid,
                "model_id": "support-bot",
                "timestamp": f"{NIGHT}T{clock}",
                "confidence": conf,
                "latency_ms": lat,
                "output_type": kind,
                "correct": correct,
                "quality_score": quality,
                "error": error,
                "failure_mode": mode,
                "format_valid": valid,
                "segment": segment,
                "prediction": None,
                "label": None,
                "feature.tenure_months": None,
            }
        )
    churn = [
        ("c-0001", "01:00:00Z", 0.81, 12.5, "stay", "stay", 34.0),
        ("c-0002", "06:30:00Z", 0.66, 9.0, "leave", "stay", 3.0),
        ("c-0003", "11:11:11Z", 0.92, 14.0, "stay", None, 61.0),
        ("c-0004", "15:45:00Z", 0.58, 11.25, "leave", "leave", 1.0),
        ("c-0005", "23:59:59Z", 0.75, 10.0, "stay", "stay", 27.0),
    ]
    for pid, clock, conf, lat, prediction, label, tenure in churn:
        rows.append(
            {
                "prediction_id": pid,
                "model_id": "churn",
                "timestamp": f"{NIGHT}T{clock}",
                "confidence": conf,
                "latency_ms": lat,
                "output_type": "label",
                "correct": None,
                "quality_score": None,
                "error": False,
                "failure_mode": None,
                "format_valid": None,
                "segment": "smb",
                "prediction": prediction,
                "label": label,
                "feature.tenure_months": tenure,
            }
        )
    return sorted(rows, key=lambda r: r["prediction_id"])


SCHEMA = pa.schema(
    [
        ("prediction_id", pa.string()),
        ("model_id", pa.string()),
        ("timestamp", pa.string()),
        ("confidence", pa.float64()),
        ("latency_ms", pa.float64()),
        ("output_type", pa.string()),
        ("correct", pa.bool_()),
        ("quality_score", pa.float64()),
        ("error", pa.bool_()),
        ("failure_mode", pa.string()),
        ("format_valid", pa.bool_()),
        ("segment", pa.string()),
        ("prediction", pa.string()),
        ("label", pa.string()),
        ("feature.tenure_months", pa.float64()),
    ]
)


def write_examples(folder: Path) -> list[Path]:
    """``logs.parquet`` (real timestamps with a zone), ``logs.csv``, ``logs.jsonl`` (ISO
    text) and ``register.yaml`` in ``folder``."""
    import json
    from datetime import datetime

    folder.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(example_rows(), schema=SCHEMA)
    as_time = pa.array(
        [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in table["timestamp"].to_pylist()],
        pa.timestamp("ms", "UTC"),
    )
    parquet = table.set_column(2, pa.field("timestamp", pa.timestamp("ms", "UTC")), as_time)
    pq.write_table(parquet, folder / "logs.parquet", compression="zstd")
    pcsv.write_csv(table, folder / "logs.csv")
    with open(folder / "logs.jsonl", "w", encoding="utf-8") as handle:
        for row in example_rows():
            handle.write(json.dumps({k: v for k, v in row.items() if v is not None}) + "\n")
    (folder / "register.yaml").write_text(REGISTER, encoding="utf-8")
    return [folder / n for n in ("logs.parquet", "logs.csv", "logs.jsonl", "register.yaml")]


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    for path in write_examples(target):
        print(path)
