"""Logs as a new user's service writes them: not our column names, not our units.

``renamed_logs`` draws one model's predictions for two days (the night checked and the
day before, its reference) with the names a typical service uses — ``request_id``,
``model``, ``ts``, ``score``, ``duration_s`` (seconds), ``status`` (``ok`` / ``error`` /
``timeout``), ``kind``, ``tenant``, ``predicted`` and ``actual`` — and returns the frame,
so tests compute what the report must say independently of modelhealth.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd

NIGHT = datetime(2026, 10, 20, tzinfo=timezone.utc)
MODEL = "ranker"


def renamed_logs(rows: int = 1200, *, seed: int = 5, model: str = MODEL) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = NIGHT - timedelta(days=1)
    seconds = np.sort(rng.uniform(0, 2 * 86400, rows))
    ts = [(start + timedelta(seconds=float(s))).strftime("%Y-%m-%dT%H:%M:%S.%fZ") for s in seconds]
    status = rng.choice(["ok", "error", "timeout"], size=rows, p=[0.95, 0.03, 0.02])
    score = np.round(rng.uniform(0.55, 0.99, rows), 4)
    correct = rng.uniform(size=rows) < score
    labels = np.array(["spam", "ham", "promo"])
    actual = rng.choice(labels, rows)
    other = np.array([labels[(np.flatnonzero(labels == a)[0] + 1) % 3] for a in actual])
    predicted = np.where(correct, actual, other)
    return pd.DataFrame(
        {
            "request_id": [f"r-{i:06d}" for i in range(rows)],
            "model": model,
            "ts": ts,
            "score": score,
            "duration_s": np.round(rng.lognormal(np.log(0.35), 0.4, rows), 4),
            "status": status,
            "kind": rng.choice(["label", "label", "summary"], rows),
            "tenant": rng.choice(["acme", "globex"], rows),
            "predicted": predicted,
            "actual": actual,
        }
    )
