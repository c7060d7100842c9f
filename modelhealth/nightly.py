"""The nightly job as a team schedules it: check → ladder → HTML → MLflow → notifications.

``monitor`` runs the check and writes the files; ``ladder`` decides. This module, in
the composition root, is the one place that knows both, so ``modelhealth check`` and
``modelhealth demo`` run exactly the same steps.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ladder.nightly import apply_report, ladder_position
from ladder.store import (
    LadderStore,
    QueuedNotification,
    due_notifications,
    has_notification,
    insert_notification,
    list_escalations,
    mark_notification,
    night_trends,
)
from modelhealth.logs import event
from monitor.check import CheckOptions, LadderOutcome, run_check
from monitor.engines import Engine
from monitor.html import LadderView, NightPoint, render_html
from monitor.judge import NightValue
from monitor.notify import Notification, build_message, deliver
from monitor.report import Report
from thresholds.loader import LoadedRegister
from thresholds.vocabulary import RUNGS

__all__ = ["NightlyResult", "run_nightly"]

log = logging.getLogger("modelhealth.nightly")

#: Nights of history drawn in the report's trend charts.
TREND_NIGHTS = 30
#: Past nights handed to the sequential (EWMA/CUSUM) checks.
HISTORY_NIGHTS = 28


@dataclass
class NightlyResult:
    """What one nightly run produced besides the files in ``out_dir``."""

    report: Report
    mlflow_run_id: str | None = None
    notifications_sent: int = 0
    notifications_failed: list[str] = field(default_factory=list)


def _decider(
    store: LadderStore, loaded: LoadedRegister, now: datetime
) -> Callable[[Report], Mapping[str, LadderOutcome]]:
    def decide(report: Report) -> Mapping[str, LadderOutcome]:
        recommendations = apply_report(store, report, loaded.register, now=now)
        return {
            model.model_id: LadderOutcome(
                recommendation=recommendations.get(model.model_id),
                position=ladder_position(store, model.model_id),
            )
            for model in report.models
        }

    return decide


def _renderer(store: LadderStore, loaded: LoadedRegister) -> Callable[[Report], str]:
    """HTML with trends and ladder positions read from the state store."""

    def render(report: Report) -> str:
        night = datetime.fromisoformat(report.as_of).date()
        trends: dict[str, list[NightPoint]] = {}
        ladders: dict[str, LadderView] = {}
        for entry in loaded.register.models:
            history = store.read(
                lambda conn, model=entry.id: night_trends(
                    conn, model, until=night, days=TREND_NIGHTS
                )
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
            escalations = store.read(
                lambda conn, model=entry.id: list_escalations(conn, model_id=model)
            )
            open_ones = [e for e in escalations if e.status == "open"]
            tried = [s.rung for s in open_ones[-1].steps] if open_ones else []
            model_report = next(m for m in report.models if m.model_id == entry.id)
            ladders[entry.id] = LadderView(
                rungs=list(RUNGS),
                allowed=list(entry.ladder.allowed_rungs),
                current=model_report.ladder_position,
                tried=tried,
            )
        return render_html(report, trends=trends, ladders=ladders)

    return render


def _ladder_tags(report: Report, loaded: LoadedRegister) -> dict[str, dict[str, str]]:
    """Tags mirrored onto MLflow registered models named in the register."""
    tags: dict[str, dict[str, str]] = {}
    for model in report.models:
        entry = loaded.register.model(model.model_id)
        if not entry.mlflow_registered_model:
            continue
        rec = model.recommendation
        tags[entry.mlflow_registered_model] = {
            "modelhealth.status": model.status,
            "modelhealth.rung": model.ladder_position or "none",
            "modelhealth.recommended_rung": (rec.rung or "none") if rec else "none",
            "modelhealth.step_status": rec.status if rec else "none",
            "modelhealth.tier": str(
                rec.tier if rec else max((b.tier for b in model.breaches), default=0)
            ),
            "modelhealth.checked_at": report.as_of,
        }
    return tags


def _slack_payload(item: QueuedNotification) -> dict[str, Any]:
    """Outbox items are either ready Slack messages or the ladder's own reminders."""
    if "text" in item.payload:
        return dict(item.payload)
    summary = item.payload.get("summary") or item.payload.get("reason") or item.kind
    who = ", ".join(item.recipients)
    text = f"modelhealth ladder {item.kind} for {item.model_id}: {summary}"
    return {"text": text + (f" (for {who})" if who else "")}


def _notify(
    store: LadderStore, report: Report, *, url: str, level: str, location: str, now: datetime
) -> tuple[int, list[str]]:
    """Queue tonight's message, then deliver everything due; failures stay queued and are
    retried on the next run (the store backs off), never lost and never fatal."""
    message = build_message(report, level=level, report_location=location)
    key = f"{report.run_id}:{level}"
    if message is not None:

        def queue(conn: Any) -> None:
            if not has_notification(conn, kind="webhook", key=key):
                insert_notification(
                    conn,
                    model_id="*",
                    kind="webhook",
                    recipients=(),
                    payload={**message, "key": key},
                    at=now,
                )

        store.write(queue)
    sent, failed = 0, []
    for item in store.read(lambda conn: due_notifications(conn, now)):
        payload = _slack_payload(item)
        payload.pop("key", None)
        result = deliver(Notification(url=url, payload=payload, key=f"outbox-{item.id}"))
        store.write(
            lambda conn, i=item.id, r=result: mark_notification(
                conn, i, delivered=r.ok, now=now, error=r.error or ""
            )
        )
        if result.ok:
            sent += 1
        else:
            failed.append(f"notification {item.id}: {result.error or result.status_code}")
    return sent, failed


def _history(
    store: LadderStore, loaded: LoadedRegister, options: CheckOptions
) -> dict[str, list[NightValue]]:
    """Past nights' quality and error rate (value and n) for the sequential checks."""
    before = options.as_of - timedelta(days=1)
    out: dict[str, list[NightValue]] = {}
    for entry in loaded.register.models:
        nights = store.read(
            lambda conn, model=entry.id: night_trends(
                conn, model, until=before, days=HISTORY_NIGHTS
            )
        )
        values = []
        for night in nights:
            for metric in ("quality", "error_rate"):
                value, n = night.summary.get(metric), night.summary.get(f"{metric}_n")
                if value is not None and n:
                    values.append(NightValue(night.night, metric, float(value), int(n)))
        out[entry.id] = values
    return out


def run_nightly(
    loaded: LoadedRegister,
    options: CheckOptions,
    *,
    state_url: str,
    tracking_uri: str | None = None,
    notify_url: str | None = None,
    notify_level: str = "breach",
    engine: Engine | None = None,
    progress: Callable[[int], None] | None = None,
) -> NightlyResult:
    """One nightly run with every output; MLflow and webhooks run after the report is safe."""
    with LadderStore(state_url) as store:
        options = dataclasses.replace(options, history=_history(store, loaded, options))
        report = run_check(
            loaded,
            options,
            engine=engine,
            progress=progress,
            decide=_decider(store, loaded, options.now),
            render=_renderer(store, loaded),
        )
        result = NightlyResult(report=report)
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
        if tracking_uri:
            from monitor.tracking import log_check

            out = options.out_dir
            artifacts = [out / "report.json", out / "report.html", out / "quarantine.parquet"]
            artifacts += sorted(out.glob("drift-*.html"))
            result.mlflow_run_id = log_check(
                report,
                tracking_uri=tracking_uri,
                artifacts=[p for p in artifacts if p.exists()],
                ladder_tags=_ladder_tags(report, loaded),
            )
            event("mlflow.logged", run_id=report.run_id, mlflow_run_id=result.mlflow_run_id)
        if notify_url:
            location = str((options.out_dir / "report.html").resolve())
            result.notifications_sent, result.notifications_failed = _notify(
                store,
                report,
                url=notify_url,
                level=notify_level,
                location=location,
                now=options.now,
            )
            event(
                "notifications.delivered",
                run_id=report.run_id,
                sent=result.notifications_sent,
                failed=len(result.notifications_failed),
            )
            for failure in result.notifications_failed:
                log.warning("notification not delivered, will retry next run: %s", failure)
    return result
