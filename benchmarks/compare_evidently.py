"""Evidently vs ``modelhealth check`` on the same logs: time and peak memory (issue #8).

One classifier's log (prediction, label, top-label confidence, latency, error and four
features), N rows over 14 days, is written to one Parquet file outside the timed part.
Then, each in a fresh interpreter so neither's memory counts against the other:

* **Evidently** reads the Parquet file into pandas (its model: data in memory), splits
  it at the window boundary, and runs ``ClassificationPreset`` (accuracy, precision,
  recall, F1, ROC AUC, log loss, TPR/TNR/FPR/FNR, per-label scores, confusion matrix) on
  the labeled rows of the current window against the reference window, and
  ``DataDriftPreset`` on the four features, the prediction and the confidence (all
  rows of both windows); results are materialised with ``snapshot.dict()``.
* **modelhealth full check** runs ``run_check`` (the nightly check without ladder,
  MLflow or HTML) on the file: accuracy with its Wilson interval, error rate, latency
  p50/p95/p99, confidence and routing bands, ECE / equal-mass ECE / MCE / Brier and
  reliability bins for both windows, calibration drift, judgement, failure modes — and
  drift, which runs *Evidently itself* on bounded 5 000-row samples of each window.
* **modelhealth without drift**: the same check with drift off, i.e. everything that
  reads all N rows.

Times start after imports (each child imports its libraries, Evidently included for
the full check, before the clock starts) and end when the results exist in memory
(Evidently) or ``report.json`` is written (modelhealth). Peak RSS is the child's
``ru_maxrss``, imports included.

    python benchmarks/compare_evidently.py --rows 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from modelhealth.demo.bulk import fast_table  # noqa: E402
from modelhealth.demo.simulate import PARQUET_OPTIONS  # noqa: E402

__all__ = ["generate", "main"]

NIGHT = date(2026, 11, 21)
#: Current window: the 7 days ending with the night; reference: the 7 days before.
CURRENT_START = datetime(2026, 11, 15, tzinfo=timezone.utc)
START = CURRENT_START - timedelta(days=7)
SPAN = timedelta(days=14)
CHUNK = 1_000_000
MODEL = "model-00"
FEATURES_NUM = ["feature.tenure_months", "feature.monthly_spend", "feature.support_tickets"]
FEATURES_CAT = ["feature.plan"]
PLANS = np.array(["basic", "standard", "premium"], dtype=object)

REGISTER = textwrap.dedent(
    f"""\
    name: compare-evidently
    defaults:
      owner: bench
      windows: {{current: 7d, reference: 7d}}
      thresholds:
        quality: {{metric: accuracy, min: 0.7}}
        error_rate: {{max: 0.05}}
        latency_ms: {{p50: 2000, p95: 5000, p99: 9000}}
    models:
      - id: {MODEL}
    """
)


def _classifier_columns(base: pa.Table, seed: int) -> pa.Table:
    """A churn classifier's prediction, label and features on top of ``fast_table``."""
    n = base.num_rows
    rng = np.random.default_rng(seed + 1)
    churn = rng.random(n) < 0.3
    labeled = pc.is_valid(base["correct"]).to_numpy(zero_copy_only=False)
    right = pc.fill_null(base["correct"], False).to_numpy(zero_copy_only=False)
    label_churn = np.where(right, churn, ~churn)
    names = np.array(["retain", "churn"], dtype=object)
    error = base["error"].to_numpy(zero_copy_only=False)
    ts = pc.cast(base["timestamp"], pa.int64()).to_numpy()
    current = ts >= int(CURRENT_START.timestamp() * 1000)
    spend = rng.lognormal(4.0, 0.5, n) * np.where(current, 1.15, 1.0)  # a price change
    return pa.table(
        {
            "prediction_id": base["prediction_id"],
            "model_id": base["model_id"],
            "timestamp": base["timestamp"],
            "confidence": base["confidence"],
            "latency_ms": base["latency_ms"],
            "error": base["error"],
            "prediction": pa.array(names[churn.astype(int)], pa.string(), mask=error),
            "label": pa.array(names[label_churn.astype(int)], pa.string(), mask=~labeled),
            "feature.tenure_months": pa.array(rng.gamma(2.0, 12.0, n)),
            "feature.monthly_spend": pa.array(spend),
            "feature.support_tickets": pa.array(rng.poisson(1.2, n).astype(np.float64)),
            "feature.plan": pa.array(PLANS[rng.integers(0, 3, n)], pa.string()),
        }
    )


def generate(rows: int, folder: Path) -> Path:
    """N rows of one classifier over 14 days in one Parquet file (row groups of 256k)."""
    path = folder / f"classifier-{rows}.parquet"
    if path.exists():
        return path
    partial = path.with_suffix(".tmp")
    writer = None
    for first in range(0, rows, CHUNK):
        n = min(CHUNK, rows - first)
        # One call per chunk, with the chunk's own slice of the 14 days.
        start = START + SPAN * (first / rows)
        base = fast_table(
            n, n_models=1, seed=first, start=start, span=SPAN * (n / rows), first_id=first
        )
        table = _classifier_columns(base, first)
        if writer is None:
            writer = pq.ParquetWriter(partial, table.schema, **PARQUET_OPTIONS)
        writer.write_table(table, row_group_size=262_144)
    assert writer is not None
    writer.close()
    partial.rename(path)
    return path


# --------------------------------------------------------------------------- the children


def _evidently(logs: Path) -> dict[str, Any]:
    import warnings

    warnings.simplefilter("ignore")  # Evidently's own deprecation noise
    import pandas as pd
    from evidently import BinaryClassification, DataDefinition, Dataset, Report
    from evidently.presets import ClassificationPreset, DataDriftPreset

    t0 = time.perf_counter()
    frame = pq.read_table(logs).to_pandas()
    loaded = time.perf_counter() - t0
    frame = frame[~frame["error"]]
    frame["p_churn"] = np.where(
        frame["prediction"] == "churn", frame["confidence"], 1.0 - frame["confidence"]
    )
    current_mask = frame["timestamp"] >= pd.Timestamp(CURRENT_START)
    current, reference = frame[current_mask], frame[~current_mask]
    definition = DataDefinition(
        numerical_columns=[*FEATURES_NUM, "confidence", "latency_ms", "p_churn"],
        categorical_columns=[*FEATURES_CAT, "prediction", "label"],
        classification=[
            BinaryClassification(
                target="label",
                prediction_labels="prediction",
                prediction_probas="p_churn",
                pos_label="churn",
            )
        ],
    )

    def dataset(part: Any) -> Any:
        return Dataset.from_pandas(part, data_definition=definition)

    quality = Report([ClassificationPreset()]).run(
        dataset(current.dropna(subset=["label"])), dataset(reference.dropna(subset=["label"]))
    )
    drift = Report(
        [DataDriftPreset(columns=[*FEATURES_NUM, *FEATURES_CAT, "prediction", "confidence"])]
    ).run(dataset(current), dataset(reference))
    results = [quality.dict(), drift.dict()]
    seconds = time.perf_counter() - t0
    accuracy = next(
        m["value"]
        for m in results[0]["metrics"]
        if str(m["config"].get("type")).endswith(":Accuracy")
    )
    return {"seconds": seconds, "load_seconds": loaded, "accuracy": accuracy}


def _modelhealth(logs: Path, register: Path, drift: bool) -> dict[str, Any]:
    from monitor.check import CheckOptions, run_check
    from thresholds.loader import load_register

    if drift:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import evidently  # noqa: F401  # imported before the clock, as for Evidently

    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        options = CheckOptions(
            logs=[logs],
            as_of=NIGHT,
            out_dir=Path(out),
            now=datetime.now(timezone.utc),
            drift=drift,
            drift_html=False,
        )
        report = run_check(load_register(register), options)
        seconds = time.perf_counter() - t0
    quality = report.models[0].metrics.quality
    return {
        "seconds": seconds,
        "rows": report.ingest.rows_read,
        "accuracy": None if quality is None else quality.value,
    }


def child(kind: str, logs: Path, register: Path) -> None:
    """Run one side and print its result as JSON (with peak RSS) on the last line."""
    result = (
        _evidently(logs)
        if kind == "evidently"
        else _modelhealth(logs, register, drift=kind == "full")
    )
    result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def run_child(kind: str, logs: Path, register: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(logs), str(register)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if done.returncode != 0:
        raise RuntimeError(f"{kind} child failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def best(kind: str, logs: Path, register: Path, repeat: int) -> dict[str, Any]:
    runs = [run_child(kind, logs, register) for _ in range(repeat)]
    return min(runs, key=lambda r: float(r["seconds"]))


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "mh-bench")
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs per side")
    parser.add_argument(
        "--child", nargs=3, metavar=("KIND", "LOGS", "REGISTER"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        kind, logs, register = args.child
        child(kind, Path(logs), Path(register))
        return
    args.data.mkdir(parents=True, exist_ok=True)
    register = args.data / "compare-register.yaml"
    register.write_text(REGISTER)
    print(f"machine: {machine()}")
    print("times after imports; peak RSS of each side's own process (imports included)")
    header = (
        f"{'rows':>10} {'evidently s':>12} {'mh full s':>10} {'ratio':>6} "
        f"{'mh no-drift s':>14} {'ratio':>6} {'evidently MB':>13} {'mh full MB':>11} "
        f"{'mh no-drift MB':>15}  accuracy (evidently / modelhealth)"
    )
    print(header)
    for rows in args.rows:
        logs = generate(rows, args.data)
        ev = best("evidently", logs, register, args.repeat)
        full = best("full", logs, register, args.repeat)
        lean = best("lean", logs, register, args.repeat)
        assert full["rows"] == lean["rows"] == rows, (full, lean)
        print(
            f"{rows:>10,} {ev['seconds']:>12.2f} {full['seconds']:>10.2f} "
            f"{ev['seconds'] / full['seconds']:>5.1f}x {lean['seconds']:>14.2f} "
            f"{ev['seconds'] / lean['seconds']:>5.1f}x {ev['rss_mb']:>13.0f} "
            f"{full['rss_mb']:>11.0f} {lean['rss_mb']:>15.0f}  "
            f"{ev['accuracy']:.4f} / {full['accuracy']:.4f}",
            flush=True,
        )
        print(f"{'':>10} (Evidently: {ev['load_seconds']:.2f} s of it reading Parquet into pandas)")
    print(f"machine after the runs: {machine()}")


if __name__ == "__main__":
    main()
