"""Record a nightly check in MLflow: one run per check, registered-model tags per ladder state.

Every check becomes one run in an experiment named after the register. The run carries
the report's identity as tags and params, one metric per model and measure
(``<model>.<metric>``) and the report files as artifacts. Registered models named by
the register get ``modelhealth.*`` tags that mirror the ladder's state for them.

Three things are deliberate:

* **Explicit stores.** Everything goes through an :class:`mlflow.MlflowClient` built for
  the given URI; nothing touches MLflow's process-wide tracking URI. Experiments are
  created with an explicit artifact location, because MLflow 3 otherwise falls back to
  ``./mlruns`` (and silently adopts a stray ``./mlruns`` folder in the working directory).
* **Idempotency.** A rerun of the same night (same ``Report.run_id``) finds its
  finished run by the ``modelhealth.run_id`` tag and returns it instead of logging a
  duplicate. A run left ``RUNNING`` by a killed process is marked ``FAILED`` and replaced.
* **Bounded failure.** The MLflow client retries an unreachable server for minutes by
  default; within :func:`log_check` the retries are bounded (unless the caller set the
  ``MLFLOW_HTTP_REQUEST_*`` variables), and every failure is a :class:`TrackingError`.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from ladder.anchors import anchor_from_tags, anchor_tags
from monitor.errors import TrackingError
from monitor.report import ModelReport, Report
from thresholds.schema import Register

if TYPE_CHECKING:
    # mlflow takes seconds to import: load it only when a check is actually logged.
    from mlflow import MlflowClient
    from mlflow.entities import Run

__all__ = [
    "STATUS_CODES",
    "TrackingError",
    "default_tracking_uri",
    "ladder_tags",
    "log_check",
    "metric_key",
    "model_measures",
    "report_metrics",
]

#: Status as a number, so a dashboard can plot it night over night (higher is worse).
STATUS_CODES: dict[str, int] = {
    "healthy": 0,
    "insufficient_data": 1,
    "warning": 2,
    "breach": 3,
    "blind": 4,
}

#: MLflow's switch for its usage telemetry, which log_check turns off unless already set.
TELEMETRY_SWITCH = "MLFLOW_DISABLE_TELEMETRY"

#: The tag that ties an MLflow run to the check (``Report.run_id``) it records.
RUN_ID_TAG = "modelhealth.run_id"
#: Registered-model tags under this prefix are owned by modelhealth and mirror the ladder.
LADDER_TAG_PREFIX = "modelhealth."

# MLflow's batch limits (mlflow.utils.validation): 1000 metrics, 100 params+tags per call.
_METRICS_PER_BATCH = 1000
_MAX_KEY_LENGTH = 250

# Bounds on the MLflow HTTP client inside log_check, unless the caller set them: three
# attempts with 0 s / 2 s back-off and a 10 s timeout per request, so a dead server fails
# in seconds rather than after MLflow's default of 7 retries with a 2× back-off (minutes).
_HTTP_BOUNDS: dict[str, str] = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.5",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}

_REMOTE_SCHEMES = ("http", "https", "databricks", "databricks-uc", "uc")
_DATABASE_SCHEMES = ("postgresql", "mysql", "mssql")
_DISALLOWED_KEY_CHARS = re.compile(r"[^A-Za-z0-9_\-. /]")
_UNSAFE_PATH_CHARS = re.compile(r"[^A-Za-z0-9_\-.]")


def default_tracking_uri(base: Path | None = None) -> str:
    """The default tracking store: ``sqlite:///<absolute base>/mlflow.db``.

    Parameters
    ----------
    base
        Folder that holds ``mlflow.db``; the current working directory when omitted.
        The path is made absolute so the URI does not change meaning with the cwd.
    """
    folder = (base if base is not None else Path.cwd()).resolve()
    return f"sqlite:///{(folder / 'mlflow.db').as_posix()}"


def metric_key(model_id: str) -> str:
    """A model id made safe as the prefix of an MLflow metric key.

    MLflow accepts letters, digits, ``_ - . /`` and space (colon on POSIX only), and
    rejects keys that are not normalised paths (``a//b``, ``./a``, ``../a``). Anything
    else becomes ``_``; empty, ``.`` and ``..`` path segments become ``_``. Deterministic,
    so a model's metrics line up night after night.
    """
    cleaned = _DISALLOWED_KEY_CHARS.sub("_", model_id)
    segments = ["_" if part in ("", ".", "..") else part for part in cleaned.split("/")]
    return "/".join(segments)[:200]


def ladder_tags(report: Report, register: Register) -> dict[str, dict[str, str]]:
    """The ``modelhealth.*`` tags to mirror onto each MLflow registered model that the
    register names (``mlflow_registered_model``): status, rung in force, the
    recommendation and its tier, keyed by registered-model name."""
    tags: dict[str, dict[str, str]] = {}
    for model in report.models:
        entry = register.model(model.model_id)
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


def log_check(
    report: Report,
    *,
    tracking_uri: str,
    artifacts: Sequence[Path],
    artifact_root: Path | None = None,
    ladder_tags: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """Record ``report`` as one MLflow run and mirror ladder state onto registered models.

    Parameters
    ----------
    report
        The night's report. ``report.register_name`` names the experiment;
        ``report.run_id`` makes the call idempotent.
    tracking_uri
        Where to log: ``sqlite:///…`` (see :func:`default_tracking_uri`), an
        ``http(s)://`` tracking server, or another store MLflow supports.
    artifacts
        Files (or folders) to attach to the run: ``report.json``, ``report.html``, the
        quarantine file, drift pages. Each must exist.
    artifact_root
        Folder under which a *new* experiment keeps its artifacts, in a subfolder named
        after the experiment. Default for a SQLite store:
        ``<folder of the db>/mlflow-artifacts``; for a tracking server: the server's
        default (usually its proxied artifact store). Required for other database
        stores. An existing experiment keeps its location.
    ladder_tags
        ``{registered model name: {tag: value}}``; each registered model is created if
        missing and its ``modelhealth.*`` tags are set to exactly these (plus
        ``modelhealth.last_check_run``, the MLflow run id). Other tags are left alone.

    Returns
    -------
    str
        The MLflow run id: the new run's, or the finished run that already records
        this check.

    Raises
    ------
    TrackingError
        The URI is unusable, the server does not answer (within seconds: see module
        docs), an artifact is missing, or MLflow refused a write. A run that failed
        part-way is marked ``FAILED``; calling again retries cleanly.
    """
    # MLflow 3 phones home (mlflow-telemetry.io) from the first client it builds, and waits
    # for it at exit: seconds per cron run, and a network call nobody asked a monitor to
    # make. Off unless the caller chose (MLFLOW_DISABLE_TELEMETRY=false keeps it).
    os.environ.setdefault(TELEMETRY_SWITCH, "true")
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException
    from requests.exceptions import RequestException
    from sqlalchemy.exc import SQLAlchemyError

    where = _redact(tracking_uri)
    missing = [str(path) for path in artifacts if not Path(path).exists()]
    if missing:
        raise TrackingError(f"cannot log to MLflow at {where}: missing artifact(s) {missing}")
    experiment_name = report.register_name
    artifact_location = _artifact_location(tracking_uri, experiment_name, artifact_root)
    step = "connecting"
    try:
        with _bounded_http_retries():
            registry_uri = None if tracking_uri.startswith("databricks") else tracking_uri
            client = MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri)
            step = f"getting or creating experiment {experiment_name!r}"
            experiment_id = _experiment_id(client, experiment_name, artifact_location)
            step = "looking for an earlier run of this check"
            run_id = _finished_run(client, experiment_id, report.run_id)
            if run_id is None:
                step = "logging the run"
                run_id = _log_new_run(client, experiment_id, report, artifacts)
            else:
                step = "anchoring the audit head"
                _refresh_anchor(client, run_id, report)
            for name, tags in sorted((ladder_tags or {}).items()):
                step = f"tagging registered model {name!r}"
                _mirror_ladder_tags(client, name, {**tags, "modelhealth.last_check_run": run_id})
    except TrackingError:
        raise
    except (MlflowException, RequestException, SQLAlchemyError, OSError) as exc:
        detail = _scrub(_first_line(exc), tracking_uri)
        raise TrackingError(f"MLflow at {where} failed while {step}: {detail}") from exc
    return run_id


# --- the run -----------------------------------------------------------------------------


def _experiment_id(client: MlflowClient, name: str, artifact_location: str | None) -> str:
    from mlflow.entities import LifecycleStage
    from mlflow.exceptions import MlflowException

    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            return client.create_experiment(
                name,
                artifact_location=artifact_location,
                tags={"modelhealth.register": name},
            )
        except MlflowException as exc:
            # Another process created it between our read and our write.
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                raise
    if experiment.lifecycle_stage == LifecycleStage.DELETED:
        client.restore_experiment(experiment.experiment_id)
    return str(experiment.experiment_id)


def _finished_run(client: MlflowClient, experiment_id: str, check_id: str) -> str | None:
    """The finished run that already records ``check_id``; fail runs left ``RUNNING``."""
    from mlflow.entities import RunStatus

    finished: str | None = None
    for run in _runs_tagged(client, experiment_id, check_id):
        status = run.info.status
        if status == RunStatus.to_string(RunStatus.FINISHED) and finished is None:
            finished = run.info.run_id
        elif status == RunStatus.to_string(RunStatus.RUNNING):
            # Left behind by a killed process: its data may be partial, so it must not
            # count as this night's record.
            client.set_tag(run.info.run_id, "modelhealth.interrupted", "true")
            client.set_terminated(run.info.run_id, status="FAILED")
    return finished


def _runs_tagged(client: MlflowClient, experiment_id: str, check_id: str) -> list[Run]:
    runs: list[Run] = []
    quote = next((q for q in ("'", '"') if q not in check_id), None)
    # No quoting can express an id with both quote kinds: filter those client-side.
    filter_string = f"tags.`{RUN_ID_TAG}` = {quote}{check_id}{quote}" if quote else ""
    page_token: str | None = None
    while True:
        page = client.search_runs(
            [experiment_id],
            filter_string=filter_string,
            order_by=["attributes.start_time DESC"],
            max_results=1000,
            page_token=page_token,
        )
        runs.extend(run for run in page if run.data.tags.get(RUN_ID_TAG) == check_id)
        page_token = page.token
        if not page_token:
            return runs


def _log_new_run(
    client: MlflowClient, experiment_id: str, report: Report, artifacts: Sequence[Path]
) -> str:
    from mlflow.entities import Metric, Param

    run = client.create_run(
        experiment_id,
        start_time=int(time.time() * 1000),
        run_name=f"night {report.as_of}",
        tags={
            RUN_ID_TAG: report.run_id,
            "modelhealth.status": report.status,
            "modelhealth.engine": report.engine,
            "modelhealth.schema_version": report.schema_version,
            "mlflow.source.name": "modelhealth",
            "mlflow.source.type": "JOB",
            **_anchor_tags(report),
        },
    )
    run_id: str = run.info.run_id
    try:
        params = [
            Param("register_name", report.register_name),
            Param("register_version", report.register_version),
            Param("as_of", report.as_of),
        ]
        timestamp = int(report.generated_at.timestamp() * 1000)
        metrics = [
            Metric(key, value, timestamp, 0) for key, value in report_metrics(report).items()
        ]
        # One batch (one transaction) for the params and the first 1,000 metrics: every
        # commit of a SQLite store is a disk sync.
        for start in range(0, max(len(metrics), 1), _METRICS_PER_BATCH):
            client.log_batch(
                run_id,
                metrics=metrics[start : start + _METRICS_PER_BATCH],
                params=params if start == 0 else [],
                synchronous=True,
            )
        for path in artifacts:
            local = Path(path)
            if local.is_dir():
                client.log_artifacts(run_id, str(local), artifact_path=local.name)
            else:
                client.log_artifact(run_id, str(local))
        client.set_terminated(run_id, status="FINISHED")
    except BaseException:
        with contextlib.suppress(Exception):
            client.set_terminated(run_id, status="FAILED")
        raise
    return run_id


def _anchor_tags(report: Report) -> dict[str, str]:
    """``modelhealth.audit_head`` = ``seq:hash`` of the ladder's audit log after tonight's
    decisions (see ``ladder.anchors``): an anchor outside the state database."""
    head = report.audit_head
    return {} if head is None else anchor_tags(head.seq, head.hash)


def _refresh_anchor(client: MlflowClient, run_id: str, report: Report) -> None:
    """A rerun of a recorded night keeps its MLflow run; its anchor moves to the newer head."""
    tags = _anchor_tags(report)
    if not tags or report.audit_head is None:
        return
    recorded = anchor_from_tags(client.get_run(run_id).data.tags, source=run_id)
    if recorded is None or recorded.seq < report.audit_head.seq:
        for key, value in tags.items():
            client.set_tag(run_id, key, value)


def report_metrics(report: Report) -> dict[str, float]:
    """The run's metrics: ``<model key>.<measure>`` → value, ``None`` and non-finite left out.

    Model keys come from :func:`metric_key`; two ids that clean to the same key are told
    apart by a ``-2``, ``-3`` … suffix in model-id order.
    """
    values: dict[str, float] = {}
    for key, model in _model_keys(report.models):
        for measure, value in model_measures(model):
            if value is None or not math.isfinite(value):
                continue
            values[f"{key}.{measure}"[:_MAX_KEY_LENGTH]] = float(value)
    return values


def _model_keys(models: Sequence[ModelReport]) -> list[tuple[str, ModelReport]]:
    taken: set[str] = set()
    keyed: list[tuple[str, ModelReport]] = []
    for model in sorted(models, key=lambda m: m.model_id):
        base = metric_key(model.model_id)
        key, n = base, 1
        while key in taken:
            n += 1
            key = f"{base}-{n}"
        taken.add(key)
        keyed.append((key, model))
    return keyed


def model_measures(model: ModelReport) -> list[tuple[str, float | None]]:
    """One model's measures, ``(name, value)``: what MLflow and Prometheus record."""
    measures: list[tuple[str, float | None]] = [
        ("n_rows", model.n_rows),
        ("n_labeled", model.n_labeled),
        ("n_quarantined", model.n_quarantined),
        # Every entry of the report's breaches[] list (warnings included; see its `level`).
        ("breaches", len(model.breaches)),
        ("status_code", STATUS_CODES[model.status]),
    ]
    m = model.metrics
    if m is None:
        return measures
    if m.quality is not None:
        measures += [
            ("quality", m.quality.value),
            ("quality_ci_low", m.quality.ci_low),
            ("quality_ci_high", m.quality.ci_high),
        ]
    if m.quality_estimated is not None:
        # Estimated from confidence (CBPE), not measured: its own keys.
        measures += [
            ("quality_estimated", m.quality_estimated.value),
            ("quality_estimated_ci_low", m.quality_estimated.ci_low),
            ("quality_estimated_ci_high", m.quality_estimated.ci_high),
        ]
    if m.latency_ms.errored is not None:
        measures += [("latency_errored_p95", m.latency_ms.errored.p95)]
    measures += [
        ("error_rate", m.error_rate.value),
        ("latency_p50", m.latency_ms.p50),
        ("latency_p95", m.latency_ms.p95),
        ("latency_p99", m.latency_ms.p99),
        ("confidence_mean", m.confidence.mean),
        ("escalation_rate", m.confidence.escalation_rate),
    ]
    if m.calibration is not None:
        measures += [
            ("ece", m.calibration.ece),
            ("ece_equal_mass", m.calibration.ece_equal_mass),
            ("mce", m.calibration.mce),
            ("brier", m.calibration.brier),
        ]
    if m.calibration_drift is not None:
        measures += [
            ("ece_delta", m.calibration_drift.ece_delta),
            ("calibration_drift_p_value", m.calibration_drift.p_value),
        ]
    return measures


# --- registered models ---------------------------------------------------------------------


def _mirror_ladder_tags(client: MlflowClient, name: str, tags: Mapping[str, str]) -> None:
    """Make the registered model's ``modelhealth.*`` tags equal ``tags`` (create if absent)."""
    from mlflow.exceptions import MlflowException

    wanted = {str(key): str(value) for key, value in tags.items()}
    try:
        current = dict(client.get_registered_model(name).tags)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        try:
            client.create_registered_model(
                name, tags=wanted, description="Health checked nightly by modelhealth."
            )
            return
        except MlflowException as create_exc:
            if create_exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            current = dict(client.get_registered_model(name).tags)
    for key, value in sorted(wanted.items()):
        if current.get(key) != value:
            client.set_registered_model_tag(name, key, value)
    for key in sorted(current):
        if key.startswith(LADDER_TAG_PREFIX) and key not in wanted:
            client.delete_registered_model_tag(name, key)


# --- stores and URIs -----------------------------------------------------------------------


def _artifact_location(
    tracking_uri: str, experiment_name: str, artifact_root: Path | None
) -> str | None:
    """Where a new experiment keeps artifacts; ``None`` lets a tracking server decide."""
    folder_name = _UNSAFE_PATH_CHARS.sub("_", experiment_name).strip(".") or "experiment"
    if artifact_root is not None:
        return (Path(artifact_root).resolve() / folder_name).as_uri()
    scheme = urlsplit(tracking_uri).scheme.lower().split("+", 1)[0]
    if scheme == "sqlite":
        database = _sqlite_path(tracking_uri)
        if database is None:
            raise TrackingError(
                f"MLflow store {_redact(tracking_uri)} is an in-memory SQLite database:"
                " pass an artifact root for its artifacts"
            )
        return (database.parent / "mlflow-artifacts" / folder_name).as_uri()
    if scheme in _DATABASE_SCHEMES:
        raise TrackingError(
            f"MLflow store {_redact(tracking_uri)} is a database without an artifact store:"
            " pass an artifact root, or log through an MLflow tracking server (http://…)"
        )
    if scheme in _REMOTE_SCHEMES or scheme in ("", "file"):
        return None
    raise TrackingError(
        f"unsupported MLflow tracking URI {_redact(tracking_uri)!r}: use sqlite:///<path>.db,"
        " http(s)://<server> or another store MLflow supports"
    )


def _sqlite_path(tracking_uri: str) -> Path | None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        database = make_url(tracking_uri).database
    except ArgumentError as exc:
        raise TrackingError(f"malformed SQLite URI {tracking_uri!r}: {exc}") from exc
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database).resolve()


def _redact(uri: str) -> str:
    """``uri`` without the password of any ``user:password@`` part."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username}:***@{host}" if parts.username else f"***@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def _scrub(text: str, uri: str) -> str:
    """``text`` with the URI's password replaced, wherever MLflow echoed it."""
    password = urlsplit(uri).password
    return text.replace(password, "***") if password else text


@contextlib.contextmanager
def _bounded_http_retries() -> Iterator[None]:
    """Bound the MLflow HTTP client's retries for the duration of the block.

    Variables the caller already set are respected. The environment is process-wide,
    so concurrent MLflow calls in other threads see the bounds while the block runs.
    """
    added = [name for name in _HTTP_BOUNDS if name not in os.environ]
    for name in added:
        os.environ[name] = _HTTP_BOUNDS[name]
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    first = text.splitlines()[0]
    return first if len(first) <= 600 else first[:600] + "…"
