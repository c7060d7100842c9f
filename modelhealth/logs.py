"""Structured logs: one JSON object per line on stderr, for log shippers and schedulers.

``modelhealth check --log-format json`` (or ``MODELHEALTH_LOG_FORMAT=json``) turns them
on; the default is quiet text warnings. Events carry their fields in ``extra={"fields":
{...}}`` so the text and JSON forms say the same thing.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime, timezone
from typing import Any

__all__ = ["JsonFormatter", "configure_logging", "event"]

log = logging.getLogger("modelhealth")


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "event", ...fields}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        payload.update(getattr(record, "fields", {}))
        if record.exc_info:
            payload["error"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


def configure_logging(fmt: str | None = None) -> None:
    """Text warnings by default; JSON lines at INFO for ``json``."""
    fmt = fmt or os.environ.get("MODELHEALTH_LOG_FORMAT", "text")
    # MLflow installs its own INFO handler when imported; this is its documented knob.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
        log.setLevel(logging.INFO)
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    # MLflow and Evidently log at INFO on first use; the CLI prints its own progress.
    for noisy in ("mlflow", "alembic", "evidently"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def event(name: str, **fields: Any) -> None:
    """Log one structured event at INFO."""
    log.info(name, extra={"fields": fields})
