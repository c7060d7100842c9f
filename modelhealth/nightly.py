"""The nightly job as a team schedules it: check → ladder → HTML → MLflow → notifications.

Three functions share the night, each in its own layer:

* :func:`monitor.check.run_check` measures and judges the models and writes the files;
* :func:`ladder.nightly.decide_night` records each model's night and takes the
  ladder's decision;
* :func:`run_job`, here in the composition root, is the one place that knows both: it
  feeds the check its history from the state store, hands the report to the ladder,
  and sends the outputs. ``modelhealth check`` and ``modelhealth demo`` both call it,
  so they run exactly the same steps.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from ladder import audit
from ladder.anchors import anchor_field
from ladder.incident_store import incident_facts
from ladder.keys import open_store
from ladder.nightly import record_night
from ladder.outbox import outbox_summary
from ladder.standing import CommandContext, ladder_position
from ladder.stats import compute_stats
from ladder.store import LadderStore, list_escalations, night_trends
from modelhealth.logs import event
from modelhealth.outputs.html import LadderView, NightPoint, render_html
from modelhealth.outputs.notify import notify_night
from monitor.check import CheckOptions, LadderNight, LadderOutcome, run_check
from monitor.engines import Engine
from monitor.judge import NightValue
from monitor.report import OutboxStatus, Report
from thresholds.loader import LoadedRegister
from thresholds.vocabulary import RUNGS

__all__ = ["JobResult", "run_job"]

log = logging.getLogger("modelhealth.nightly")

#: Nights of history drawn in the report's trend charts.
TREND_NIGHTS = 30
#: Past nights handed to the sequential (EWMA/CUSUM) checks.
HISTORY_NIGHTS = 28
#: Step statuses of a rung that was put in place: only those are drawn as "tried".
_TRIED = frozenset({"applied", "evaluating", "succeeded", "failed", "stepped_down", "retired"})


@dataclass
class JobResult:
    """What one nightly run produced besides the files in ``out_dir``."""

    report: Report
    mlflow_run_id: str | None = None
    notifications_sent: int = 0
    notifications_failed: list[str] = field(default_factory=list)
    notifications_dead: list[str] = field(default_factory=list)


def _decider(
    store: LadderStore,
    loaded: LoadedRegister,
    now: datetime,
    redecide_by: str | None,
    state_url: str,
) -> Callable[[Report], LadderNight]:
    # The commands in the report and its page name this register and store, so they
    # work when pasted anywhere (docs/scheduling.md).
    commands = CommandContext.of(loaded.source, state_url)

    def decide(report: Report) -> LadderNight:
        decided = record_night(
            store, report, loaded.register, now=now, redecide_by=redecide_by, commands=commands
        )
        # Dead letters are shown where people look: report.json and the page's banner.
        waiting = store.read(outbox_summary)
        return LadderNight(
            models={
                model.model_id: LadderOutcome(
                    recommendation=decided.recommendations.get(model.model_id),
                    position=ladder_position(store, model.model_id),
                    rerun=decided.reruns.get(model.model_id),
                )
                for model in report.models
            },
            outbox=OutboxStatus(
                pending=waiting.pending,
                dead=waiting.dead,
                oldest_dead_at=waiting.oldest_dead_at,
                dead_ids=list(waiting.dead_ids),
            ),
        )

    return decide


def _anchor(store: LadderStore) -> Callable[[], dict[str, Any]]:
    """The audit head after tonight's decisions, for report.json (and from there the MLflow
    tags and the notification), so a cut tail of the log shows outside the database."""

    def head() -> dict[str, Any]:
        seq, digest = store.read(audit.head)
        return anchor_field(seq, digest)

    return head


def _renderer(store: LadderStore, loaded: LoadedRegister, now: datetime) -> Callable[[Report], str]:
    """HTML with trends, ladder positions and the ladder's process statistics read from
    the state store (judged at the run's clock)."""

    def render(report: Report) -> str:
        night = datetime.fromisoformat(report.as_of).date()
        trends: dict[str, list[NightPoint]] = {}
        ladders: dict[str, LadderView] = {}
        for entry in loaded.register.models:
            history = store.read(
                partial(night_trends, model_id=entry.id, until=night, days=TREND_NIGHTS)
            )
            trends[entry.id] = [
                NightPoint(
                    night=h.night,
                    status=h.status,
                    quality=h.summary.get("quality"),
                    error_rate=h.summary.get("error_rate"),
                    latency_p95=h.summary.get("latency_p95"),
                    ece=h.summary.get("ece"),
                )
                for h in history
            ]
            escalations = store.read(partial(list_escalations, model_id=entry.id))
            open_ones = [e for e in escalations if e.status == "open"]
            # Tried = applied at some point; a step still pending, approved but not
            # applied, blocked, rejected or withdrawn was never tried.
            tried = [s.rung for s in open_ones[-1].steps if s.status in _TRIED] if open_ones else []
            model_report = next(m for m in report.models if m.model_id == entry.id)
            ladders[entry.id] = LadderView(
                rungs=list(RUNGS),
                allowed=list(entry.ladder.allowed_rungs),
                current=model_report.ladder_position,
                tried=tried,
            )
        every = store.read(list_escalations)
        process = compute_stats(every, facts=store.read(incident_facts), now=now)
        return render_html(report, trends=trends, ladders=ladders, process=process)

    return render


def _history(
    store: LadderStore, loaded: LoadedRegister, options: CheckOptions
) -> dict[str, list[NightValue]]:
    """Past nights' quality and error rate (value and n) for the sequential checks."""
    before = options.as_of - timedelta(days=1)
    out: dict[str, list[NightValue]] = {}
    for entry in loaded.register.models:
        nights = store.read(
            partial(night_trends, model_id=entry.id, until=before, days=HISTORY_NIGHTS)
        )
        values = []
        for night in nights:
            for metric in ("quality", "error_rate"):
                value, n = night.summary.get(metric), night.summary.get(f"{metric}_n")
                if value is not None and n:
                    values.append(NightValue(night.night, metric, float(value), int(n)))
        out[entry.id] = values
    return out


def run_job(
    loaded: LoadedRegister,
    options: CheckOptions,
    *,
    state_url: str,
    tracking_uri: str | None = None,
    notify_url: str | None = None,
    notify_level: str = "breach",
    public_url: str | None = None,
    engine: Engine | None = None,
    progress: Callable[[int], None] | None = None,
    redecide_by: str | None = None,
    mlflow_drift_pages: bool = False,
) -> JobResult:
    """Run the nightly job for ``options.as_of``: the check with the ladder's decision,
    report.html with trends from the state store at ``state_url``, an MLflow run (unless
    ``tracking_uri`` is ``None``) and the webhook at ``notify_url`` (if any), whose
    messages link steps to the escalation desk at ``public_url`` (if any). MLflow and
    webhooks run after report.json is safely written; their failures never lose it.

    The run's artifacts are report.json, report.html and the quarantine; Evidently's
    drift pages (megabytes per model) only with ``mlflow_drift_pages``.

    A night already decided is not decided again, unless ``redecide_by`` (the person
    running ``check --redecide``) supersedes it (:func:`ladder.nightly.record_night`).
    With ``options.partial`` nothing is recorded: no ladder decision, no MLflow run, no
    notification, only the files."""
    # The register names the audit key and head file every writer of the store must use.
    with open_store(state_url, loaded.register) as store:
        options = dataclasses.replace(options, history=_history(store, loaded, options))
        files: list[Path] = []
        report = run_check(
            loaded,
            options,
            engine=engine,
            progress=progress,
            decide=None
            if options.partial
            else _decider(store, loaded, options.now, redecide_by, state_url),
            render=_renderer(store, loaded, options.now),
            published=files.extend,
            anchor=_anchor(store),
        )
        result = JobResult(report=report)
        ing = report.ingest
        event(
            "check.done",
            run_id=report.run_id,
            as_of=report.as_of,
            status=report.status,
            rows_read=ing.rows_read,
            rows_used=ing.rows_used,
            rows_quarantined=ing.rows_quarantined,
            rows_duplicate=ing.rows_duplicate,
            out_dir=str(options.out_dir),
        )
        for model in report.models:
            rec = model.recommendation
            event(
                "model.judged",
                run_id=report.run_id,
                model_id=model.model_id,
                status=model.status,
                n_rows=model.n_rows,
                breaches=[b.threshold for b in model.breaches if b.level != "warning"],
                dominant_failure_mode=model.dominant_failure_mode,
                recommendation=None
                if rec is None
                else {"id": rec.id, "rung": rec.rung, "status": rec.status, "tier": rec.tier},
            )
        if options.partial:
            return result
        if tracking_uri:
            from modelhealth.outputs.tracking import ladder_tags, log_check

            # This run's own files (never whatever else lies in --out, such as a planted
            # drift-*.html link to a secret); the drift pages only when asked for.
            artifacts = [
                p
                for p in files
                if p.exists() and (mlflow_drift_pages or not p.name.startswith("drift-"))
            ]
            result.mlflow_run_id = log_check(
                report,
                tracking_uri=tracking_uri,
                artifacts=artifacts,
                ladder_tags=ladder_tags(report, loaded.register),
            )
            event("mlflow.logged", run_id=report.run_id, mlflow_run_id=result.mlflow_run_id)
        if notify_url:
            # The stable name in --out, not the run folder it links to (swept later).
            location = os.path.abspath(options.out_dir / "report.html")
            outbox = notify_night(
                store,
                report,
                url=notify_url,
                level=notify_level,
                location=location,
                now=options.now,
                public_url=public_url,
            )
            result.notifications_sent, result.notifications_failed = outbox.sent, outbox.failed
            result.notifications_dead = outbox.dead
            event(
                "notifications.delivered",
                run_id=report.run_id,
                sent=result.notifications_sent,
                failed=len(result.notifications_failed),
                dead=len(result.notifications_dead),
                left=outbox.left,
            )
            for failure in result.notifications_failed:
                log.warning("notification not delivered, will retry next run: %s", failure)
    return result
