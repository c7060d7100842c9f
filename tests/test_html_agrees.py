"""report.html agrees with report.json: for every model and every check, each level the
page shows is the level the report holds (after the fleet adjustment), and the page says
nothing the report does not (another model's features, a diagnosis on a healthy model, a
rung "tried" that was only requested).

One night of four models through the real ``modelhealth check`` with the ladder and
drift on, the page parsed with the standard library's HTML parser.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from typing import Any

import numpy as np
import pytest
from blind_spot_logs import NIGHT, Night, register_yaml, write_days
from typer.testing import CliRunner

from modelhealth.cli import app

#: Display severity, written out here rather than imported from the code under test:
#: blind says the numbers beside it cannot be trusted, so it outranks a breach.
RANK = {"ok": 0, "healthy": 0, "insufficient_data": 1, "warning": 2, "breach": 3, "blind": 4}


@dataclass
class Shown:
    """Every level-bearing element of the page, by model."""

    section_level: dict[str, str] = field(default_factory=dict)
    row_level: dict[str, str] = field(default_factory=dict)
    groups: list[tuple[str, tuple[str, ...], str]] = field(default_factory=list)
    checks: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    drift: dict[str, list[str]] = field(default_factory=dict)
    rungs: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    headings: dict[str, list[str]] = field(default_factory=dict)


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.shown = Shown()
        self.section: str | None = None  # the model section we are in
        self.row: str | None = None  # the models-table row we are in
        self.heading: list[str] | None = None

    @property
    def model(self) -> str | None:
        return self.section or self.row

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "section" and "data-model" in a:
            self.section = a["data-model"]
            self.shown.section_level[self.section] = a["data-level"]
        elif tag == "tr" and "data-model" in a:
            self.row = a["data-model"]
            self.shown.row_level[self.row] = a["data-level"]
        model = self.model
        if model is None:
            return
        if "data-checks" in a:
            self.shown.groups.append((model, tuple(a["data-checks"].split()), a["data-level"]))
        if "data-check" in a:
            self.shown.checks.setdefault((model, a["data-check"]), []).append(a["data-level"])
        if "data-drift-column" in a:
            self.shown.drift.setdefault(model, []).append(a["data-drift-column"])
        if "data-rung" in a:
            self.shown.rungs.setdefault(model, []).append((a["data-rung"], a["class"]))
        if tag == "h3":
            self.heading = []

    def handle_data(self, data: str) -> None:
        if self.heading is not None:
            self.heading.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "h3" and self.heading is not None and self.section is not None:
            self.shown.headings.setdefault(self.section, []).append("".join(self.heading).strip())
            self.heading = None
        elif tag == "section":
            self.section = None
        elif tag == "tr":
            self.row = None


FEATURES = {
    "steady": {"plan": "cat", "spend": "num"},
    "humble": {"tenure": "num"},
    "unlabeled": {"region": "cat"},
    "flaky": {},
}


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Shown]:
    home = tmp_path_factory.mktemp("agree")
    humble = Night(
        conf_a=14.0,
        conf_b=6.0,
        accuracy_at=lambda c: np.full(len(c), 0.95),
        features=FEATURES["humble"],
    )
    write_days(
        home / "logs",
        {
            "steady": Night(features=FEATURES["steady"], annotate=0.5),
            "humble": humble,
            "unlabeled": Night(labeled=0.0, features=FEATURES["unlabeled"]),
            "flaky": Night(errored=0.04),
        },
        reference={"humble": humble},
    )
    register = home / "register.yaml"
    register.write_text(
        register_yaml(
            {
                "steady": "",
                "humble": "    criticality: 3\n",
                "unlabeled": "",
                "flaky": "",
            }
        )
    )
    morning = datetime.combine(NIGHT + timedelta(days=1), datetime.min.time(), timezone.utc)
    result = CliRunner().invoke(
        app,
        [
            "check",
            "--register",
            str(register),
            "--logs",
            str(home / "logs"),
            "--as-of",
            NIGHT.isoformat(),
            "--out",
            str(home / "out"),
            "--state",
            f"sqlite:///{home / 'state.db'}",
            "--no-tracking",
            "--now",
            (morning + timedelta(hours=6)).isoformat(),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads((home / "out" / "report.json").read_text())
    page = _Page()
    page.feed((home / "out" / "report.html").read_text())
    return report, page.shown


def test_the_night_covers_every_level(night: tuple[dict[str, Any], Shown]) -> None:
    report, _ = night
    statuses = {m["model_id"]: m["status"] for m in report["models"]}
    assert statuses == {
        "steady": "healthy",
        "humble": "breach",
        "unlabeled": "blind",
        "flaky": "breach",
    }
    levels = {c["status"] for m in report["models"] for c in m["checks"]}
    assert {"ok", "warning", "breach", "blind"} <= levels


def test_every_level_the_page_shows_is_the_level_in_report_json(
    night: tuple[dict[str, Any], Shown],
) -> None:
    report, shown = night
    for m in report["models"]:
        model_id = m["model_id"]
        assert shown.section_level[model_id] == m["status"]
        assert shown.row_level[model_id] == m["status"]
        statuses = {c["threshold"]: c["status"] for c in m["checks"]}
        for c in m["checks"]:
            # The full checks table shows every check, at its level.
            assert shown.checks[(model_id, c["threshold"])][-1] == c["status"], c["threshold"]
        for b in m["breaches"]:
            # The findings table shows every finding, at its level (first row of that check).
            assert shown.checks[(model_id, b["threshold"])][0] == b["level"], b["threshold"]
        findings = {b["threshold"] for b in m["breaches"]}
        for (mid, check), levels in shown.checks.items():
            if mid == model_id:
                assert len(levels) == 1 + (check in findings), (check, levels)
        # Cards and the models table: the worst level of the checks they name.
        for mid, names, level in shown.groups:
            if mid != model_id:
                continue
            present = [statuses[n] for n in names if n in statuses]
            assert present, names
            assert level == max(present, key=RANK.__getitem__), (names, level)
    # The same group shown twice (card and models table) shows the same level.
    by_group: dict[tuple[str, tuple[str, ...]], set[str]] = {}
    for mid, names, level in shown.groups:
        by_group.setdefault((mid, names), set()).add(level)
    assert all(len(levels) == 1 for levels in by_group.values())
    assert sum(1 for _, names, _ in shown.groups if "calibration.ece" in names) >= 2 * 3


def test_a_models_drift_table_lists_only_its_own_features(
    night: tuple[dict[str, Any], Shown],
) -> None:
    report, shown = night
    for m in report["models"]:
        own = {f"feature.{name}" for name in FEATURES[m["model_id"]]}
        listed = {c for c in shown.drift.get(m["model_id"], []) if c.startswith("feature.")}
        in_json = {c["column"] for c in m["drift"]["columns"] if c["kind"] == "feature"}
        assert listed == in_json == own, m["model_id"]


def test_a_healthy_models_failure_modes_are_labeled_background(
    night: tuple[dict[str, Any], Shown],
) -> None:
    report, shown = night
    steady = next(m for m in report["models"] if m["model_id"] == "steady")
    assert steady["failure_modes"] and steady["dominant_failure_mode"] is None
    assert "Background failures" in shown.headings["steady"]
    assert "Failure modes" not in shown.headings["steady"]
    assert "Failure modes" in shown.headings["humble"]


def test_a_pending_step_is_recommended_never_drawn_as_tried(
    night: tuple[dict[str, Any], Shown],
) -> None:
    report, shown = night
    humble = next(m for m in report["models"] if m["model_id"] == "humble")
    rec = humble["recommendation"]
    assert (rec["status"], rec["rung"]) == ("pending", "hybrid_routing")
    classes = dict(shown.rungs["humble"])
    assert "recommended" in classes["hybrid_routing"].split()
    assert not any("tried" in cls.split() for cls in classes.values())
