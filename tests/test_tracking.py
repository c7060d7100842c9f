"""A nightly check recorded in MLflow: real SQLite stores and a real ``mlflow server``."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow_server import MlflowServer, free_port, mlflow_server

from modelhealth.outputs.tracking import (
    TrackingError,
    default_tracking_uri,
    log_check,
    metric_key,
    report_metrics,
)
from monitor.report import (
    Breach,
    CalibrationDriftMetric,
    CalibrationMetric,
    ConfidenceMetric,
    ErroredLatency,
    ErrorRateMetric,
    EstimatedQuality,
    IngestSummary,
    LatencyMetric,
    Metrics,
    ModelReport,
    QualityMetric,
    Report,
    ThroughputMetric,
    TimeWindow,
)

AS_OF = "2024-05-01"
WINDOW = TimeWindow(
    start=datetime(2024, 4, 30, tzinfo=timezone.utc), end=datetime(2024, 5, 1, tzinfo=timezone.utc)
)
REFERENCE = TimeWindow(
    start=datetime(2024, 4, 1, tzinfo=timezone.utc), end=datetime(2024, 4, 30, tzinfo=timezone.utc)
)


# --- a small report factory ------------------------------------------------------------------


def measured_model(
    model_id: str,
    *,
    status: str = "healthy",
    quality: float = 0.91,
    error_rate: float = 0.012,
    ece_delta: float | None = 0.004,
    breaches: list[Breach] | None = None,
) -> ModelReport:
    return ModelReport(
        model_id=model_id,
        status=status,  # type: ignore[arg-type]
        window=WINDOW,
        reference_window=REFERENCE,
        n_rows=1200,
        n_labeled=400,
        n_quarantined=3,
        metrics=Metrics(
            quality=QualityMetric(
                value=quality, ci_low=quality - 0.03, ci_high=quality + 0.02, count=364, n=400
            ),
            error_rate=ErrorRateMetric(value=error_rate, ci_low=0.007, ci_high=0.02, n=1200),
            latency_ms=LatencyMetric(p50=210.0, p95=880.5, p99=1450.25, n=1200),
            throughput=ThroughputMetric(per_hour_mean=50.0, hours=24.0),
            confidence=ConfidenceMetric(mean=0.81, escalation_rate=0.22, n=1200),
            calibration=CalibrationMetric(
                ece=0.041, ece_equal_mass=0.038, mce=0.12, brier=0.071, n=400
            ),
            calibration_drift=CalibrationDriftMetric(ece_delta=ece_delta, p_value=0.37),
        ),
        breaches=breaches or [],
    )


def blind_model(model_id: str) -> ModelReport:
    return ModelReport(
        model_id=model_id,
        status="blind",
        window=WINDOW,
        reference_window=REFERENCE,
        breaches=[Breach(threshold="blind", level="blind", observed=None, limit=None, tier=3)],
    )


def make_report(
    *models: ModelReport, run_id: str = "chk-20240501-a1b2", register: str = "support"
) -> Report:
    models = models or (
        measured_model("faq-bot"),
        measured_model(
            "triage:v2",
            status="breach",
            quality=0.78,
            error_rate=0.061,
            ece_delta=None,
            breaches=[
                Breach(threshold="quality", level="breach", observed=0.78, limit=0.85, tier=3),
                Breach(threshold="error_rate", level="warning", observed=0.061, limit=0.05, tier=2),
            ],
        ),
        blind_model("pricing/ranker"),
    )
    return Report(
        run_id=run_id,
        as_of=AS_OF,
        register_name=register,
        register_version="7",
        generated_at=datetime(2024, 5, 1, 2, 0, tzinfo=timezone.utc),
        status="blind",
        ingest=IngestSummary(rows_read=2406, rows_used=2400, rows_quarantined=6),
        models=list(models),
    )


def write_artifacts(report: Report, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(report.model_dump_json(indent=2))
    (folder / "report.html").write_text("<html><body>nightly report</body></html>")
    pq.write_table(
        pa.table({"prediction_id": ["p1"], "reason": ["confidence outside [0, 1]"]}),
        folder / "quarantine.parquet",
    )
    (folder / "drift-triage_v2.html").write_text("<html>drift</html>")
    return sorted(folder.iterdir())


# What the report above must produce, written out by hand (not via report_metrics).
EXPECTED_METRICS = {
    "faq-bot.quality": 0.91,
    "faq-bot.quality_ci_low": 0.91 - 0.03,
    "faq-bot.quality_ci_high": 0.91 + 0.02,
    "faq-bot.error_rate": 0.012,
    "faq-bot.latency_p50": 210.0,
    "faq-bot.latency_p95": 880.5,
    "faq-bot.latency_p99": 1450.25,
    "faq-bot.confidence_mean": 0.81,
    "faq-bot.escalation_rate": 0.22,
    "faq-bot.ece": 0.041,
    "faq-bot.ece_equal_mass": 0.038,
    "faq-bot.mce": 0.12,
    "faq-bot.brier": 0.071,
    "faq-bot.ece_delta": 0.004,
    "faq-bot.calibration_drift_p_value": 0.37,
    "faq-bot.n_rows": 1200,
    "faq-bot.n_labeled": 400,
    "faq-bot.n_quarantined": 3,
    "faq-bot.breaches": 0,
    "faq-bot.status_code": 0,
    # ':' is not portable in MLflow keys; ece_delta is None so it is not logged.
    "triage_v2.quality": 0.78,
    "triage_v2.quality_ci_low": 0.78 - 0.03,
    "triage_v2.quality_ci_high": 0.78 + 0.02,
    "triage_v2.error_rate": 0.061,
    "triage_v2.latency_p50": 210.0,
    "triage_v2.latency_p95": 880.5,
    "triage_v2.latency_p99": 1450.25,
    "triage_v2.confidence_mean": 0.81,
    "triage_v2.escalation_rate": 0.22,
    "triage_v2.ece": 0.041,
    "triage_v2.ece_equal_mass": 0.038,
    "triage_v2.mce": 0.12,
    "triage_v2.brier": 0.071,
    "triage_v2.calibration_drift_p_value": 0.37,
    "triage_v2.n_rows": 1200,
    "triage_v2.n_labeled": 400,
    "triage_v2.n_quarantined": 3,
    "triage_v2.breaches": 2,
    "triage_v2.status_code": 3,
    # A blind model has no measurements, only its counts and status.
    "pricing/ranker.n_rows": 0,
    "pricing/ranker.n_labeled": 0,
    "pricing/ranker.n_quarantined": 0,
    "pricing/ranker.breaches": 1,
    "pricing/ranker.status_code": 4,
}
EXPECTED_ARTIFACTS = {"drift-triage_v2.html", "quarantine.parquet", "report.html", "report.json"}


def only_run(client: MlflowClient, experiment_name: str) -> str:
    experiment = client.get_experiment_by_name(experiment_name)
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL)
    assert len(runs) == 1, [r.info.run_id for r in runs]
    return str(runs[0].info.run_id)


def assert_recorded(client: MlflowClient, run_id: str, report: Report) -> None:
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.info.run_name == f"night {report.as_of}"
    assert run.data.params == {
        "register_name": report.register_name,
        "register_version": report.register_version,
        "as_of": report.as_of,
    }
    tags = run.data.tags
    assert tags["modelhealth.run_id"] == report.run_id
    assert tags["modelhealth.status"] == report.status
    assert tags["modelhealth.engine"] == report.engine
    assert run.data.metrics == pytest.approx(EXPECTED_METRICS, abs=0, rel=1e-12)
    assert set(run.data.metrics) == set(EXPECTED_METRICS)
    assert {a.path for a in client.list_artifacts(run_id)} == EXPECTED_ARTIFACTS


# --- a local SQLite store ----------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> str:
    return default_tracking_uri(tmp_path)


def test_a_check_becomes_one_run_with_every_metric_param_and_artifact(
    tmp_path: Path, store: str
) -> None:
    report = make_report()
    run_id = log_check(
        report, tracking_uri=store, artifacts=write_artifacts(report, tmp_path / "out")
    )

    client = MlflowClient(tracking_uri=store)
    assert only_run(client, "support") == run_id
    assert_recorded(client, run_id, report)
    experiment = client.get_experiment_by_name("support")
    assert experiment is not None
    # Artifacts live next to the database, never in a ./mlruns of whatever cwd we ran in.
    artifact_dir = tmp_path / "mlflow-artifacts" / "support"
    assert experiment.artifact_location == artifact_dir.as_uri()
    assert (artifact_dir / run_id / "artifacts" / "report.json").read_text() == (
        report.model_dump_json(indent=2)
    )


def test_rerunning_the_same_night_returns_the_same_run_and_logs_nothing_new(
    tmp_path: Path, store: str
) -> None:
    report = make_report()
    artifacts = write_artifacts(report, tmp_path / "out")
    first = log_check(report, tracking_uri=store, artifacts=artifacts)
    second = log_check(report, tracking_uri=store, artifacts=artifacts)

    assert second == first
    assert only_run(MlflowClient(tracking_uri=store), "support") == first
    # A different night is a different run in the same experiment.
    other = log_check(make_report(run_id="chk-20240502-c3d4"), tracking_uri=store, artifacts=[])
    assert other != first


def test_a_run_left_running_by_a_killed_check_is_failed_and_replaced(
    tmp_path: Path, store: str
) -> None:
    report = make_report()
    client = MlflowClient(tracking_uri=store)
    experiment_id = client.create_experiment(
        "support", artifact_location=(tmp_path / "art").as_uri()
    )
    stale = client.create_run(experiment_id, tags={"modelhealth.run_id": report.run_id})

    run_id = log_check(
        report, tracking_uri=store, artifacts=write_artifacts(report, tmp_path / "o")
    )

    assert run_id != stale.info.run_id
    assert client.get_run(stale.info.run_id).info.status == "FAILED"
    assert client.get_run(run_id).info.status == "FINISHED"
    # …and the rerun after that picks the finished one, not the failed one.
    assert log_check(report, tracking_uri=store, artifacts=[]) == run_id


def test_a_stray_mlruns_folder_in_the_cwd_does_not_capture_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workdir = tmp_path / "cron-cwd"
    stray = workdir / "mlruns"
    (stray / "0").mkdir(parents=True)
    (stray / "0" / "meta.yaml").write_text("name: Default\nexperiment_id: '0'\n")
    before = sorted(p.relative_to(stray) for p in stray.rglob("*"))
    monkeypatch.chdir(workdir)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)

    uri = default_tracking_uri()
    assert uri == f"sqlite:///{(workdir / 'mlflow.db').resolve().as_posix()}"
    assert uri.startswith("sqlite:////")  # absolute: it does not change meaning with the cwd
    report = make_report()
    run_id = log_check(report, tracking_uri=uri, artifacts=write_artifacts(report, tmp_path / "o"))

    assert sorted(p.relative_to(stray) for p in stray.rglob("*")) == before
    assert_recorded(MlflowClient(tracking_uri=uri), run_id, report)
    assert (workdir / "mlflow-artifacts" / "support" / run_id).is_dir()


def test_an_explicit_artifact_root_holds_the_experiment_folder(tmp_path: Path, store: str) -> None:
    report = make_report(register="pricing models (EU)")
    log_check(
        report,
        tracking_uri=store,
        artifacts=write_artifacts(report, tmp_path / "o"),
        artifact_root=tmp_path / "shared-artifacts",
    )
    experiment = MlflowClient(tracking_uri=store).get_experiment_by_name("pricing models (EU)")
    assert experiment is not None
    expected = tmp_path / "shared-artifacts" / "pricing_models__EU_"
    assert experiment.artifact_location == expected.as_uri()
    assert any(expected.rglob("report.json"))


def test_registered_model_tags_mirror_the_ladder_state(tmp_path: Path, store: str) -> None:
    report = make_report()
    client = MlflowClient(tracking_uri=store, registry_uri=store)
    ladder = {
        "triage-classifier": {
            "modelhealth.rung": "retrieval_augmentation",
            "modelhealth.status": "pending_approval",
            "modelhealth.tier": "3",
            "modelhealth.checked_at": "2024-05-01T02:00:00+00:00",
        },
    }
    run_id = log_check(report, tracking_uri=store, artifacts=[], ladder_tags=ladder)

    tags = client.get_registered_model("triage-classifier").tags
    assert tags == {**ladder["triage-classifier"], "modelhealth.last_check_run": run_id}

    # The owners' own tags survive; a ladder tag that no longer applies goes away.
    client.set_registered_model_tag("triage-classifier", "team", "support-ml")
    later = make_report(run_id="chk-20240502-c3d4")
    next_state = {"triage-classifier": {"modelhealth.status": "healthy", "modelhealth.tier": "1"}}
    later_run = log_check(later, tracking_uri=store, artifacts=[], ladder_tags=next_state)

    assert client.get_registered_model("triage-classifier").tags == {
        "team": "support-ml",
        "modelhealth.status": "healthy",
        "modelhealth.tier": "1",
        "modelhealth.last_check_run": later_run,
    }


def test_model_ids_become_deterministic_mlflow_keys() -> None:
    assert metric_key("faq-bot v1.2") == "faq-bot v1.2"
    assert metric_key("team/model") == "team/model"
    assert metric_key("triage:v2") == "triage_v2"
    assert metric_key("<!channel> é") == "__channel_ _"
    # Keys must be normalised paths in MLflow: no empty, '.' or '..' segments.
    assert metric_key("/a//../b/") == "_/a/_/_/b/_"
    # Two ids that clean to the same key stay apart, the same way every night.
    report = make_report(measured_model("a:b"), measured_model("a;b"))
    keys = {key.split(".")[0] for key in report_metrics(report)}
    assert keys == {"a_b", "a_b-2"}


def test_an_estimated_quality_and_the_errored_latency_get_keys_of_their_own() -> None:
    model = measured_model("faq-bot")
    assert model.metrics is not None
    metrics = model.metrics.model_copy(
        update={
            "quality_estimated": EstimatedQuality(value=0.88, ci_low=0.86, ci_high=0.9, n=1150),
            "latency_ms": model.metrics.latency_ms.model_copy(
                update={"errored": ErroredLatency(n=12, p95=30000.0)}
            ),
        }
    )
    values = report_metrics(make_report(model.model_copy(update={"metrics": metrics})))

    assert values["faq-bot.quality"] == 0.91  # the measured figure keeps its key
    assert (
        values["faq-bot.quality_estimated"],
        values["faq-bot.quality_estimated_ci_low"],
        values["faq-bot.quality_estimated_ci_high"],
    ) == (0.88, 0.86, 0.9)
    assert values["faq-bot.latency_errored_p95"] == 30000.0


def test_a_missing_artifact_is_refused_before_anything_is_logged(
    tmp_path: Path, store: str
) -> None:
    with pytest.raises(TrackingError, match="missing artifact"):
        log_check(make_report(), tracking_uri=store, artifacts=[tmp_path / "report.json"])
    assert not (tmp_path / "mlflow.db").exists()


def test_an_unsupported_uri_is_a_tracking_error() -> None:
    with pytest.raises(TrackingError, match="unsupported MLflow tracking URI"):
        log_check(make_report(), tracking_uri="ftp://mlflow.example", artifacts=[])


def test_an_unreachable_server_fails_within_seconds_and_restores_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    uri = f"http://user:s3cret@127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(TrackingError) as caught:
        log_check(make_report(), tracking_uri=uri, artifacts=[])

    assert time.monotonic() - started < 15
    message = str(caught.value)
    assert "127.0.0.1" in message and "s3cret" not in message
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ
    assert "MLFLOW_HTTP_REQUEST_TIMEOUT" not in os.environ


# --- a real tracking server -------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    with mlflow_server(tmp_path_factory.mktemp("mlflow-server")) as running:
        yield running


@pytest.mark.slow
def test_a_check_is_logged_through_a_real_tracking_server(
    server: MlflowServer, tmp_path: Path
) -> None:
    report = make_report()
    ladder = {"faq-bot-prod": {"modelhealth.status": "healthy", "modelhealth.tier": "1"}}
    artifacts = write_artifacts(report, tmp_path / "out")
    run_id = log_check(report, tracking_uri=server.url, artifacts=artifacts, ladder_tags=ladder)

    client = MlflowClient(tracking_uri=server.url, registry_uri=server.url)
    assert only_run(client, "support") == run_id
    assert_recorded(client, run_id, report)
    # Artifacts went through the server's proxy into its artifact destination.
    assert any(server.artifacts_destination.rglob("quarantine.parquet"))
    assert client.get_registered_model("faq-bot-prod").tags["modelhealth.status"] == "healthy"
    # Idempotent over HTTP too.
    assert log_check(report, tracking_uri=server.url, artifacts=artifacts) == run_id
    assert only_run(client, "support") == run_id
