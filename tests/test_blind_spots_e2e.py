"""Issue #15 end to end: logs with each blind spot go through the real ``modelhealth
check``, and the figures a user reads are asserted against what was written.

A monitor earns trust by never looking healthy when it cannot see: errored requests
count as errors, a night without labels is blind (and escalates), the share of rows
routed to a human is judged against its band, underconfidence is named, a night that
has not ended is not decided, and a rerun that differs says so.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from blind_spot_logs import NIGHT, Night, register_yaml, write_days
from scipy import stats
from typer.testing import CliRunner

from ladder.store import LadderStore, night_record
from modelhealth.cli import app

runner = CliRunner()
MORNING = datetime.combine(NIGHT + timedelta(days=1), datetime.min.time(), timezone.utc) + (
    timedelta(hours=6)
)


def check(
    tmp: Path,
    logs: Path,
    register: str,
    *extra: str,
    now: datetime = MORNING,
    ladder: bool = False,
    out: str = "out",
) -> tuple[int, str, dict[str, Any]]:
    """``modelhealth check`` on ``logs``; returns exit code, console output and report."""
    path = tmp / "register.yaml"
    path.write_text(register)
    where = tmp / out
    args = [
        "check",
        "--register",
        str(path),
        "--logs",
        str(logs),
        "--as-of",
        NIGHT.isoformat(),
        "--out",
        str(where),
        "--no-drift",
        "--now",
        now.isoformat(),
    ]
    if ladder:
        args += ["--state", f"sqlite:///{tmp / 'state.db'}", "--no-tracking"]
    else:
        args += ["--no-ladder"]
    result = runner.invoke(app, [*args, *extra])
    report_file = where / "report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    return result.exit_code, result.output, report


def model(report: dict[str, Any], model_id: str = "assistant") -> dict[str, Any]:
    return next(m for m in report["models"] if m["model_id"] == model_id)


def checks(m: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["threshold"]: c for c in m["checks"]}


# ---------------------------------------------------------------- 1. errors count


def test_a_night_where_8_percent_of_requests_time_out_reports_them_as_errors(
    tmp_path: Path,
) -> None:
    # Timed-out requests carry no confidence, no label and (mostly) no latency.
    written = write_days(
        tmp_path / "logs", {"assistant": Night(errored=0.08, timeout_latency=0.5)}
    )["assistant"]
    code, _, report = check(tmp_path, tmp_path / "logs", register_yaml({"assistant": ""}))

    assert code == 0
    m = model(report)
    er = m["metrics"]["error_rate"]
    assert (er["count"], er["n"]) == (written.errored, written.rows)
    assert er["value"] == pytest.approx(written.errored / written.rows)
    assert 0.06 < er["value"] < 0.10
    for output_type, (errors, rows) in written.errored_by_type.items():
        assert (
            er["by_output_type"][output_type]["count"],
            er["by_output_type"][output_type]["n"],
        ) == (errors, rows)
    # Nothing was quarantined: an errored row without confidence keeps the contract.
    assert report["ingest"]["rows_quarantined"] == 0
    assert m["n_rows"] == written.rows
    assert m["metrics"]["throughput"]["per_hour_mean"] == pytest.approx(written.rows / 24)
    # Each metric says how many rows it saw.
    assert m["metrics"]["confidence"]["n"] == written.with_confidence
    assert m["metrics"]["calibration"]["n"] == written.labeled
    latency = m["metrics"]["latency_ms"]
    assert latency["n"] == len(written.latency_answered)
    assert latency["p99"] == pytest.approx(np.quantile(written.latency_answered, 0.99), rel=0.02)
    # The timeouts' latency is reported apart, not mixed into p99.
    assert latency["errored"]["n"] == len(written.latency_errored) > 0
    assert latency["errored"]["p50"] == pytest.approx(30_000, rel=0.01)
    assert latency["p99"] < 2_000
    assert checks(m)["error_rate"]["status"] == "breach"
    assert m["status"] == "breach"


def test_an_errored_row_with_an_unreadable_confidence_is_still_quarantined(
    tmp_path: Path,
) -> None:
    logs = tmp_path / "logs"
    write_days(logs, {"assistant": Night()}, days=0)
    table = pq.read_table(logs / f"{NIGHT.isoformat()}.parquet").to_pylist()
    table[0].update(error=True, confidence="high")
    table[1].update(error=False, confidence=None)
    table[2].update(error=False, latency_ms=None)
    for r in table:
        r["confidence"] = None if r["confidence"] is None else str(r["confidence"])
    pq.write_table(pa.Table.from_pylist(table), logs / f"{NIGHT.isoformat()}.parquet")

    _, _, report = check(tmp_path, logs, register_yaml({"assistant": ""}))

    assert report["ingest"]["quarantined_by_reason"] == {
        "confidence_not_a_number": 1,
        "confidence_missing": 1,
        "latency_missing": 1,
    }


# ---------------------------------------------------------------- 2. labels missing


def test_a_night_without_labels_is_blind_escalates_at_once_and_estimates_quality(
    tmp_path: Path,
) -> None:
    logs = tmp_path / "logs"
    written = write_days(logs, {"assistant": Night(labeled=0.0)})["assistant"]
    register = register_yaml({"assistant": "    criticality: 1\n"})

    code, output, report = check(tmp_path, logs, register, ladder=True)

    assert code == 0, output
    m = model(report)
    assert m["status"] == "blind"
    coverage = checks(m)["labels.coverage"]
    assert (coverage["status"], coverage["tier"], coverage["observed"]) == ("blind", 4, 0.0)
    assert f"no labels for {written.rows:,} rows; quality unknown" in m["notes"]
    assert [b["threshold"] for b in m["breaches"] if b["level"] == "blind"] == ["labels.coverage"]
    # Missing context fails safe: a criticality-1 model escalates the first night, tier 4.
    rec = m["recommendation"]
    assert (rec["status"], rec["tier"], rec["rung"]) == ("mitigation", 4, None)
    assert rec["commands"][0].startswith(f"modelhealth ladder ack {rec['id']}")
    # CBPE stands in: tonight's accuracy estimated from confidence, with an interval that
    # holds the accuracy the (withheld) labels would have measured.
    est = m["metrics"]["quality_estimated"]
    truth = written.outcome.mean()
    assert est["n"] == written.with_confidence
    assert est["ci_low"] <= truth <= est["ci_high"]
    assert est["ci_high"] - est["ci_low"] < 0.05
    assert m["quality_basis"] == "estimated"
    assert checks(m)["quality.estimated"]["status"] == "ok"
    assert m["metrics"]["quality"]["n"] == 0


def test_late_labels_re_judge_the_night_and_say_what_was_measured(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    written = write_days(logs, {"assistant": Night(labeled=0.0)})["assistant"]
    register = register_yaml({"assistant": ""})
    check(tmp_path, logs, register, ladder=True)
    rng = np.random.default_rng(3)
    keep = rng.random(len(written.answered_ids)) < 0.9  # reviewers judged 90 % of answers
    labels = tmp_path / "labels.parquet"
    pq.write_table(
        pa.table(
            {
                "prediction_id": [i for i, k in zip(written.answered_ids, keep, strict=True) if k],
                "correct": written.outcome[keep].tolist(),
            }
        ),
        labels,
    )

    code, output, report = check(
        tmp_path, logs, register, "--labels", str(labels), ladder=True, out="out-late"
    )

    assert code == 0, output
    m = model(report)
    assert m["quality_basis"] == "measured"
    assert checks(m)["labels.coverage"]["status"] == "ok"
    quality = m["metrics"]["quality"]
    assert (quality["count"], quality["n"]) == (int(written.outcome[keep].sum()), int(keep.sum()))
    # Both figures are in the report, each saying what it is: measured, and estimated.
    assert m["metrics"]["quality_estimated"]["ci_low"] <= quality["value"]
    assert quality["value"] <= m["metrics"]["quality_estimated"]["ci_high"]
    assert m["status"] == "healthy"
    # The night was decided blind; the rerun says loudly that it differs, and the decision
    # stands until someone supersedes it.
    assert m["rerun"]["outcome"] == "stands"
    assert "status blind → healthy" in m["rerun"]["differences"]
    assert "RERUN DIFFERS, DECISION STANDS" in output


def test_labels_still_due_make_the_night_insufficient_never_healthy(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    write_days(logs, {"assistant": Night(labeled=0.0)})
    register = register_yaml({"assistant": "    thresholds: {labels: {max_delay: 2d}}\n"})

    _, _, report = check(tmp_path, logs, register)

    m = model(report)
    coverage = checks(m)["labels.coverage"]
    assert coverage["status"] == "insufficient_data"
    assert "due by 2026-03-12 00:00 UTC" in coverage["note"]
    assert m["status"] == "insufficient_data"


# ----------------------------------------------------------- 3. escalation band


def test_a_model_that_escalates_too_little_gets_a_band_finding_saying_what_to_tune(
    tmp_path: Path,
) -> None:
    logs = tmp_path / "logs"
    # Confident on almost everything, every night: about 3 % of rows fall below auto (0.85),
    # and 12 % of cases come back after they were handled.
    sure = Night(conf_a=40.0, conf_b=1.5, followup=0.12)
    write_days(logs, {"assistant": sure}, reference={"assistant": sure})

    code, _, report = check(tmp_path, logs, register_yaml({"assistant": ""}), "--fail-on", "breach")

    assert code == 0  # a warning by default
    m = model(report)
    band = checks(m)["confidence.escalation_rate"]
    rate = m["metrics"]["confidence"]["escalation_rate"]
    assert rate < 0.10
    assert (band["status"], band["direction"], band["limit"]) == ("warning", "min", 0.15)
    assert "below the band's min 15.0 %" in band["note"]
    assert "raise confidence.auto (now 0.85)" in band["note"]
    assert band["note"] in m["notes"]
    again = checks(m)["confidence.reescalation_rate"]
    assert (again["status"], again["limit"]) == ("warning", 0.05)
    assert 0.10 < m["metrics"]["confidence"]["reescalation"]["value"] < 0.14


def test_a_band_set_to_breach_fails_the_run(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    doubtful = Night(conf_a=2.0, conf_b=1.0)  # about 70 % of rows below auto
    write_days(logs, {"assistant": doubtful}, reference={"assistant": doubtful})
    register = register_yaml(
        {
            "assistant": (
                "    thresholds: {confidence: "
                "{escalation_rate: {min: 0.2, max: 0.3, level: breach}}}\n"
            )
        }
    )

    code, _, report = check(tmp_path, logs, register, "--fail-on", "breach")

    band = checks(model(report))["confidence.escalation_rate"]
    assert (band["status"], band["direction"], code) == ("breach", "max", 1)
    assert "too conservative" in band["note"]


# ------------------------------------------------------------ 4. smaller blind spots


def test_an_underconfident_model_is_named_miscalibrated_with_the_direction(
    tmp_path: Path,
) -> None:
    logs = tmp_path / "logs"
    # Confidence around 0.7, right 95 % of the time: ECE about 0.24, the wrong way round.
    humble = Night(conf_a=14.0, conf_b=6.0, accuracy_at=lambda c: np.full(len(c), 0.95))
    write_days(logs, {"assistant": humble}, reference={"assistant": humble})

    _, _, report = check(tmp_path, logs, register_yaml({"assistant": ""}))

    m = model(report)
    assert checks(m)["calibration.ece"]["status"] == "breach"
    assert m["metrics"]["calibration"]["overconfidence_gap"] < -0.2
    assert m["dominant_failure_mode"] == "confidence_miscalibration"
    [mode] = [f for f in m["failure_modes"] if f["mode"] == "confidence_miscalibration"]
    assert mode["direction"] == "underconfident"
    assert mode["count"] > 0


def test_a_night_that_has_not_ended_is_refused_unless_partial(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    write_days(logs, {"assistant": Night()})
    register = register_yaml({"assistant": ""})
    afternoon = datetime.combine(NIGHT, datetime.min.time(), timezone.utc) + timedelta(hours=15)

    code, output, report = check(tmp_path, logs, register, now=afternoon, ladder=True)
    assert code == 2
    assert "has not ended yet" in output and "--partial" in output
    assert report == {}

    code, output, report = check(tmp_path, logs, register, "--partial", now=afternoon, ladder=True)
    assert code == 0, output
    assert report["partial"] is True
    assert "PARTIAL NIGHT" in output
    assert (tmp_path / "out" / "report.html").exists()
    store = LadderStore(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        assert store.read(lambda c: night_record(c, "assistant", NIGHT)) is None
    finally:
        store.close()


def test_redecide_supersedes_a_decided_night_and_withdraws_what_it_opened(
    tmp_path: Path,
) -> None:
    logs = tmp_path / "logs"
    write_days(logs, {"assistant": Night(labeled=0.0)})
    register = register_yaml({"assistant": ""})
    _, _, first = check(tmp_path, logs, register, ladder=True)
    assert model(first)["recommendation"]["status"] == "mitigation"
    relabeled = tmp_path / "logs-relabeled"
    write_days(relabeled, {"assistant": Night()})  # the same night, labels in the logs

    code, output, report = check(
        tmp_path, relabeled, register, "--redecide", ladder=True, out="out-redecided"
    )

    assert code == 0, output
    m = model(report)
    assert m["rerun"]["outcome"] == "superseded"
    assert "NIGHT REDECIDED" in output
    assert "withdrawn: the rerun does not escalate" in m["rerun"]["message"]
    assert m["recommendation"] is None
    store = LadderStore(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        record = store.read(lambda c: night_record(c, "assistant", NIGHT))
    finally:
        store.close()
    assert record is not None and record.night.status == "healthy"


@pytest.mark.slow
def test_rerunning_a_night_in_new_processes_does_not_cry_wolf(tmp_path: Path) -> None:
    # Evidently summed categorical frequencies in set order, which follows Python's string
    # hash seed: on the demo's 2026-10-08 the churn classifier's feature.plan distance was
    # ...588 under PYTHONHASHSEED=0 and ...587 under 4. The drift the check computes now
    # comes from its own summaries and is the same to the last digit under any seed; a
    # rerun in a new process decides the same and must not say otherwise.
    root = Path(__file__).resolve().parents[1]
    command = [
        sys.executable,
        "-m",
        "modelhealth",
        "check",
        "--register",
        str(root / "data" / "register.yaml"),
        "--logs",
        str(root / "data" / "demo" / "logs"),
        "--as-of",
        "2026-10-08",
        "--state",
        f"sqlite:///{tmp_path / 'state.db'}",
        "--no-tracking",
        "--now",
        "2026-10-09T06:00:00+00:00",
    ]
    runs = [
        subprocess.run(
            [*command, "--out", str(tmp_path / f"out-{seed}")],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        for seed in ("0", "4")
    ]

    assert [r.returncode for r in runs] == [0, 0], runs[-1].stderr
    plan = [
        next(
            c["statistic"]
            for c in model(
                json.loads((tmp_path / f"out-{seed}" / "report.json").read_text()),
                "churn-classifier",
            )["drift"]["columns"]
            if c["column"] == "feature.plan"
        )
        for seed in ("0", "4")
    ]
    assert plan[0] == plan[1] and plan[0] is not None
    with sqlite3.connect(tmp_path / "state.db") as db:
        differs = db.execute(
            "SELECT COUNT(*) FROM ladder_audit WHERE action = 'night.rerun_differs'"
        ).fetchone()
    assert differs == (0,)
    assert not any("RERUN DIFFERS" in r.stderr for r in runs)


def test_cbpe_interval_sits_where_an_exact_binomial_would_for_a_calibrated_model(
    tmp_path: Path,
) -> None:
    # Hand check: a calibrated model whose confidences are all about 0.9 should be
    # estimated at about 0.9, with a half-width near the binomial's 1.96·sqrt(p(1-p)/n).
    logs = tmp_path / "logs"
    write_days(
        logs,
        {"assistant": Night(labeled=0.0, conf_a=900.0, conf_b=100.0)},
        reference={"assistant": Night(conf_a=900.0, conf_b=100.0, labeled=1.0)},
    )

    _, _, report = check(tmp_path, logs, register_yaml({"assistant": ""}))

    est = model(report)["metrics"]["quality_estimated"]
    n = est["n"]
    assert est["value"] == pytest.approx(0.9, abs=0.01)
    half = (est["ci_high"] - est["ci_low"]) / 2
    binomial = stats.norm.ppf(0.975) * np.sqrt(0.9 * 0.1 / n)
    assert binomial < half < 1.5 * binomial
