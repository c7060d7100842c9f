"""Builders for ladder tests: model reports for one night, a small register, and a
:class:`Timeline` that plays nights on a fake clock against a real SQLite store."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

from ladder.incident import IncidentFacts
from ladder.nightly import decide_night
from ladder.policy import build_policy
from ladder.state import Approval, Escalation, Step
from ladder.store import LadderStore, NightRecord, load_state, night_record
from ladder.tables import notifications
from monitor.report import (
    Breach,
    CalibrationMetric,
    Check,
    ConfidenceMetric,
    ErrorRateMetric,
    FailureModeShare,
    IngestSummary,
    LatencyMetric,
    Metrics,
    ModelReport,
    QualityMetric,
    Recommendation,
    Report,
    ThroughputMetric,
    TimeWindow,
)
from thresholds.loader import parse_register
from thresholds.schema import Register
from thresholds.vocabulary import Status

__all__ = [
    "HALLUCINATING_TEST_NIGHTS",
    "MODEL",
    "REGISTER_YAML",
    "START",
    "Notice",
    "Timeline",
    "blind",
    "breach",
    "make_register",
    "measured",
    "model_report",
    "notices",
    "open_store",
    "report_for",
    "run_time",
    "steps_of",
    "warning",
    "weekly_incidents",
]

MODEL = "support-assistant"
#: First night of every timeline: a Monday early in a quarter, so budgets do not roll over
#: by accident within a test.
START = date(2025, 4, 7)

REGISTER_YAML = """
name: ladder-tests
people:
  alice: [model_owner, ml_lead]
  bob: [model_owner]
  carol: [ml_lead, finance]
  dave: [ml_engineer]
identity:
  allow_as: true
defaults:
  approver_roles: [model_owner]
  ladder:
    budget: {amount: 60000, currency: USD, period: quarter}
    rules: {persistence_k: 2, persistence_n: 3, same_night_tier: 3,
            step_down_after_days: 60, review_every_days: 90}
models:
  - id: support-assistant
    owner: alice
    criticality: 2
{extra_models}
"""


def _hallucinating_nights() -> list[tuple[list[Breach], str]]:
    quality = Breach(threshold="quality", level="breach", observed=0.80, limit=0.88, tier=2)
    return [([quality], "hallucination"), ([quality], "hallucination")]


#: Two breaching nights of hallucination: enough for the 2-of-3 persistence rule.
HALLUCINATING_TEST_NIGHTS = _hallucinating_nights()


def make_register(model_yaml: str = "", extra_models: str = "", top_yaml: str = "") -> Register:
    """The test register; ``model_yaml`` is appended (indented) to support-assistant's entry,
    ``top_yaml`` to the register's top level."""
    text = REGISTER_YAML.replace("{extra_models}", extra_models)
    if top_yaml:
        text = text.replace("defaults:\n", top_yaml.strip("\n") + "\ndefaults:\n", 1)
    if model_yaml:
        indented = "\n".join("    " + line for line in model_yaml.strip("\n").splitlines())
        text = text.replace("    criticality: 2\n", "    criticality: 2\n" + indented + "\n", 1)
    return parse_register(text, source="tests").register


def run_time(night: date) -> datetime:
    """When the nightly job runs for ``night``: 02:00 UTC the next morning."""
    return datetime.combine(night + timedelta(days=1), time(2, 0), tzinfo=timezone.utc)


def breach(
    threshold: str = "quality", *, tier: int = 2, observed: float = 0.80, limit: float = 0.88
) -> Breach:
    """A check beyond its limit with the interval beyond it too (a trigger)."""
    return Breach(threshold=threshold, level="breach", observed=observed, limit=limit, tier=tier)


def warning(threshold: str = "quality", *, observed: float = 0.87, limit: float = 0.88) -> Breach:
    """A point estimate past the limit with an interval straddling it (not a trigger)."""
    return Breach(threshold=threshold, level="warning", observed=observed, limit=limit, tier=1)


def supporting(threshold: str = "quality", *, observed: float = 0.87, limit: float = 0.88) -> Check:
    """A check that did not breach tonight but supports the persistence rule."""
    return Check(
        threshold=threshold,
        status="ok",
        observed=observed,
        limit=limit,
        direction="min",
        kind="baseline",
        p_value=0.001,
        supports_persistence=True,
    )


def blind(tier: int = 4, threshold: str = "blind") -> Breach:
    """The monitor cannot see the model tonight: no usable rows (``blind``), or quality
    without labels (``labels.coverage``). The monitor judges both at tier 4."""
    return Breach(threshold=threshold, level="blind", observed=0, limit=None, tier=tier)


def measured(
    *,
    quality: float,
    judged: int,
    requests: int,
    error_rate: float = 0.01,
    latency_p95: float = 2000.0,
    ece: float = 0.02,
) -> Metrics:
    """A night's headline metrics: ``judged`` of ``requests`` labeled, accuracy ``quality``."""
    return Metrics(
        quality=QualityMetric(value=quality, n=judged, count=round(quality * judged)),
        error_rate=ErrorRateMetric(
            value=error_rate, n=requests, count=round(error_rate * requests)
        ),
        latency_ms=LatencyMetric(p95=latency_p95, n=requests),
        throughput=ThroughputMetric(),
        confidence=ConfidenceMetric(),
        calibration=CalibrationMetric(ece=ece),
    )


def model_report(
    night: date,
    breaches: Sequence[Breach] = (),
    *,
    mode: str | None = None,
    modes: dict[str, float] | None = None,
    model_id: str = MODEL,
    checks: Sequence[Check] = (),
    metrics: Metrics | None = None,
) -> ModelReport:
    """One model's report for ``night``; status follows from the breaches."""
    start = datetime.combine(night, time(0), tzinfo=timezone.utc)
    levels = {b.level for b in breaches}
    status: Status = (
        "blind"
        if "blind" in levels
        else "breach"
        if "breach" in levels
        else "warning"
        if levels
        else "healthy"
    )
    shares = modes or ({mode: 1.0} if mode else {})
    return ModelReport(
        model_id=model_id,
        status=status,
        window=TimeWindow(start=start, end=start + timedelta(days=1)),
        reference_window=TimeWindow(start=start - timedelta(days=28), end=start),
        n_rows=0 if status == "blind" else 1000,
        breaches=list(breaches),
        checks=list(checks),
        failure_modes=[
            FailureModeShare(mode=m, count=int(s * 100), share=s) for m, s in shares.items()
        ],
        dominant_failure_mode=max(shares, key=lambda m: shares[m]) if shares else None,
        metrics=metrics,
    )


def report_for(night: date, models: Iterable[ModelReport]) -> Report:
    """A whole nightly report."""
    listed = list(models)
    return Report(
        run_id=f"run-{night}",
        as_of=night.isoformat(),
        register_name="ladder-tests",
        register_version="sha256:test",
        generated_at=run_time(night),
        status="healthy",
        ingest=IngestSummary(),
        models=listed,
    )


@dataclass
class Timeline:
    """Nights on a fake clock: each call plays the next night through ``decide_night``."""

    store: LadderStore
    register: Register
    night: date = START
    model_id: str = MODEL
    played: list[date] = field(default_factory=list)
    last: Recommendation | None = None

    @property
    def now(self) -> datetime:
        """The run time of the next night to play."""
        return run_time(self.night)

    def play(
        self,
        breaches: Sequence[Breach] = (),
        *,
        mode: str | None = None,
        modes: dict[str, float] | None = None,
        checks: Sequence[Check] = (),
        metrics: Metrics | None = None,
    ) -> Recommendation | None:
        """Run tonight's report and advance to the next night."""
        report = report_for(
            self.night,
            [
                model_report(
                    self.night,
                    breaches,
                    mode=mode,
                    modes=modes,
                    model_id=self.model_id,
                    checks=checks,
                    metrics=metrics,
                )
            ],
        )
        self.last = decide_night(self.store, report, self.register, now=self.now)[self.model_id]
        self.played.append(self.night)
        self.night += timedelta(days=1)
        return self.last

    def office_hours(self, hour: int = 10) -> datetime:
        """During the working day after the last night played, when people act."""
        return datetime.combine(self.night, time(hour), tzinfo=timezone.utc)

    def play_until(
        self,
        kind: str,
        breaches: Sequence[Breach] = (),
        *,
        mode: str | None = None,
        limit: int = 120,
    ) -> int:
        """Play identical nights until the decision is ``kind``; returns how many were played."""
        for count in range(1, limit + 1):
            self.play(breaches, mode=mode)
            if self.decision == kind:
                return count
        raise AssertionError(f"no {kind!r} decision within {limit} nights (last: {self.decision})")

    def healthy(self, nights: int = 1) -> Recommendation | None:
        """Play ``nights`` healthy nights."""
        for _ in range(nights):
            self.play()
        return self.last

    @property
    def decision(self) -> str:
        """The kind of decision taken on the last night played."""
        return self._record().decision_kind

    @property
    def reason(self) -> str:
        """The reason stored for the last night played."""
        return self._record().decision_reason

    def _record(self) -> NightRecord:
        night = self.played[-1]
        record = self.store.read(lambda c: night_record(c, self.model_id, night))
        assert record is not None
        return record


def open_store(tmp_path: Path) -> LadderStore:
    """A real SQLite state store in the test's temporary directory."""
    return LadderStore(f"sqlite:///{tmp_path / 'state.db'}")


def steps_of(store: LadderStore, model_id: str = MODEL) -> list[Step]:
    """Every step requested for the model, oldest first."""
    return store.read(lambda c: list(load_state(c, model_id).steps))


@dataclass(frozen=True)
class Notice:
    """A queued notification, as tests look at it."""

    kind: str
    recipients: tuple[str, ...]
    step_id: int | None


def notices(store: LadderStore) -> list[Notice]:
    """Every notification queued, in order."""
    rows = store.read(lambda c: c.execute(select(notifications).order_by(notifications.c.id)).all())
    return [Notice(r.kind, tuple(r.recipients), r.step_id) for r in rows]


#: (week, tier, hours to acknowledge, hours to the first brief or None) of nine incidents:
#: per week 1, 0, 2, 1, 3, 2, in tiers 2; —; 2 3; 3; 2 3 3; 4 2.
WEEKLY_PLAN: tuple[tuple[int, int, float, float | None], ...] = (
    (0, 2, 3.0, 20.0),
    (2, 2, 30.0, None),
    (2, 3, 1.0, 3.0),
    (3, 3, 5.0, 6.0),
    (4, 2, 10.0, 25.0),
    (4, 3, 1.5, 2.0),
    (4, 3, 0.5, 1.0),
    (5, 4, 0.25, 0.5),
    (5, 2, 12.0, 12.0),
)


def weekly_incidents(
    monday: datetime, plan: Sequence[tuple[int, int, float, float | None]] = WEEKLY_PLAN
) -> list[IncidentFacts]:
    """Open incidents of model ``m``, one per row of ``plan``, each opened ``week`` weeks
    after ``monday`` (plus its row number in hours), its step approved (and so
    acknowledged) after the given hours and its brief sent after the given hours."""
    register = make_register()
    out = []
    for i, (week, tier, ack, brief) in enumerate(plan, start=1):
        opened = monday + timedelta(weeks=week, hours=i)
        done = opened + timedelta(hours=ack)
        step = Step(
            id=i,
            escalation_id=i,
            model_id="m",
            rung="retrieval_augmentation",
            direction="up",
            status="approved",
            requested_by="alice",
            requested_at=opened,
            tier=tier,
            approvals_required=1,
            approvals=(Approval("bob", "approve", done),),
            approved_at=done,
        )
        esc = Escalation(
            id=i,
            model_id="m",
            kind="remediation",
            status="open",
            tier=tier,
            opened_at=opened,
            dominant_mode=f"mode{i}",
            steps=(step,),
        )
        policy = build_policy(register.model("support-assistant"), register, now=opened)
        out.append(
            IncidentFacts(esc, policy, None if brief is None else opened + timedelta(hours=brief))
        )
    return out
