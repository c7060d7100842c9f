"""The HTML report: what a model owner sees, that it stands alone offline, and that nothing
from logs or the register can run in it.

The pure tests read the rendered page; the ``chromium`` tests open it in a real headless
Chromium (``/usr/bin/chromium``, Debian package ``chromium``) over the DevTools protocol
and look for console errors, exceptions and dialogs, and take a screenshot.
"""

from __future__ import annotations

import re
import shutil
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from chromium import HeadlessChromium
from markupsafe import escape
from report_factory import (
    BLIND,
    BREACHING,
    HEALTHY,
    PAYLOADS,
    hostile_report,
    nightly_ladders,
    nightly_report,
    nightly_trends,
)

from ladder.stats import LadderStats
from modelhealth.outputs.html import LadderView, NightPoint, render_html
from modelhealth.outputs.html.charts import latency_chart
from monitor.report import LatencyMetric, Report

SCREENSHOT_COPY = Path(__file__).resolve().parents[1] / "out" / "test-screenshots" / "report.png"


# --------------------------------------------------------------------------- helpers


class _Page(HTMLParser):
    """Every start tag with its attributes, and the text inside <script> and <svg><title>."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.svg_titles: list[str] = []
        self._stack: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in ("meta", "link", "br", "line", "polyline", "circle", "polygon", "path"):
            self._stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self._stack:
            while self._stack and self._stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if self._stack[-1:] == ["script"]:
            self.scripts.append(data)
        elif self._stack[-1:] == ["title"] and "svg" in self._stack:
            self.svg_titles.append(data)


def _section(html: str, model_id: str) -> str:
    """The HTML of one model's section."""
    start = html.index(f'<h2 id="model-{_index(model_id)}')
    end = html.find('<section class="card model', start)
    return html[start : end if end != -1 else len(html)]


def _index(model_id: str) -> int:
    return {HEALTHY: 1, BREACHING: 2, BLIND: 3}[model_id]


def _render(report: Report) -> str:
    return render_html(report, trends=nightly_trends(report), ladders=nightly_ladders(report))


@pytest.fixture(scope="module")
def report() -> Report:
    return nightly_report()


@pytest.fixture(scope="module")
def page(report: Report) -> str:
    return _render(report)


@pytest.fixture(scope="module")
def hostile_page() -> str:
    report, trends, ladders = hostile_report()
    return render_html(report, trends=trends, ladders=ladders)


# ------------------------------------------------------------------------- pure tests


def test_every_model_is_in_the_summary_with_its_status_and_a_working_anchor(
    report: Report, page: str
) -> None:
    ids = {attrs.get("id") for _, attrs in _Page(page).tags}
    for model in report.models:
        assert str(escape(model.model_id)) in page
    anchors = re.findall(r'<a href="#([^"]+)">([^<]+)</a>', page)
    assert [name for _, name in anchors] == [HEALTHY, BREACHING, BLIND]
    assert all(anchor in ids for anchor, _ in anchors)
    summary = page[page.index("Models tonight") : page.index("Ingest accounting")]
    assert summary.index("Healthy") < summary.index("Breach") < summary.index("Blind")
    assert "<title>Breach · claims-and-support · 2025-03-14 · modelhealth</title>" in page


def test_header_names_register_night_version_run_and_overall_status(page: str) -> None:
    header = page[page.index("<header") : page.index("</header>")]
    for text in ("claims-and-support", "2025-03-14", "2025.03.1+sha.5e1c0d2", "run-7f3a9c2e41b0"):
        assert text in header
    assert 'class="badge st-breach big"' in header


def test_every_breach_shows_observed_limit_interval_n_tier_and_level(
    report: Report, page: str
) -> None:
    for model in report.models:
        section = _section(page, model.model_id)
        for breach in model.breaches:
            assert f'<td class="mono">{escape(breach.threshold)}</td>' in section
    claims = _section(page, BREACHING)
    # quality below its floor, JSON outputs over their error ceiling, p95 at warning
    for row in (
        ("quality", "77.8 %", "≥ 85.0 %", "[75.9 %, 79.7 %]", "1,846", "T3"),
        ("error_rate.json", "4.1 %", "≤ 2.0 %", "[3.6 %, 4.7 %]", "5,620", "T3"),
        ("calibration.ece", None, "≤ 0.050", None, "1,846", "T2"),
        ("drift.features", "50.0 %", "≤ 30.0 %", None, "5,000", "T2"),
        ("latency_ms.p95", None, "≤ 1,800 ms", None, "9,870", "T1"),
    ):
        threshold, observed, limit, interval, n, tier = row
        line = claims[claims.index(f'<td class="mono">{threshold}</td>') :]
        line = line[: line.index("</tr>")]
        for cell in (observed, limit, interval, n, tier):
            if cell is not None:
                assert cell in line, (threshold, cell, line)
    p95_row = claims[claims.index("latency_ms.p95</td>") :]
    assert 'class="badge st-warning"' in p95_row[: p95_row.index("</tr>")]
    blind = _section(page, BLIND)
    assert '<td class="mono">blind</td>' in blind and "0 rows" in blind


def test_recommendation_packet_and_its_commands_are_copyable_code(
    report: Report, page: str
) -> None:
    claims = _section(page, BREACHING)
    recommendation = next(m for m in report.models if m.model_id == BREACHING).recommendation
    assert recommendation is not None
    for command in recommendation.commands:
        assert f'<pre class="command"><code>{escape(command)}</code></pre>' in claims
    assert "&lt;you&gt;" in claims  # the placeholder in the command is text, not a tag
    for text in (
        "Few shot enrichment",
        "pending_approval",
        "T3",
        "USD 4,800",
        "maria.chen (model_owner), raj.patel (ml_lead)",
        "2025-03-15 14:00 UTC",
        "persistence rule met",
        str(escape(recommendation.summary)),
    ):
        assert text in claims, text


def test_the_page_loads_nothing_from_anywhere_else(page: str) -> None:
    parsed = _Page(page)
    for tag, attrs in parsed.tags:
        for name in ("src", "href", "action", "data", "poster", "srcset", "xlink:href"):
            value = (attrs.get(name) or "").strip()
            assert not re.match(r"(?i)^([a-z][a-z0-9+.-]*:)?//", value), (tag, name, value)
            assert not value.lower().startswith(("http:", "https:", "ftp:")), (tag, name, value)
        assert not (tag == "link" and attrs.get("rel") == "stylesheet")
        assert not (tag == "script" and "src" in attrs)
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"@import|url\(\s*['\"]?\s*(https?:)?//", page, re.IGNORECASE)
    csp = next(
        a["content"] for t, a in parsed.tags if a.get("http-equiv") == "Content-Security-Policy"
    )
    assert csp is not None and "default-src 'none'" in csp and "unsafe-inline'; img" in csp
    assert "script-src 'sha256-" in csp  # only our own script, pinned by its hash


def test_hostile_strings_from_logs_and_register_render_only_as_text(hostile_page: str) -> None:
    assert "<script>alert" not in hostile_page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile_page
    for raw in ('"><img', "'><svg", "</style><script>", "</title><script>"):
        assert raw not in hostile_page
    parsed = _Page(hostile_page)
    tags = [tag for tag, _ in parsed.tags]
    assert "img" not in tags
    assert tags.count("script") == 1
    for tag, attrs in parsed.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert not (attrs.get("href") or "").lower().startswith("javascript:"), attrs
        if "id" in attrs:
            assert re.fullmatch(r"[a-z0-9-]+", attrs["id"] or ""), attrs["id"]
    assert "alert" not in parsed.scripts[0]
    # SVG text too: the model id reaches chart titles as text, payload and all.
    assert any(f"{BREACHING}{PAYLOADS[1]}: reliability diagram" in t for t in parsed.svg_titles)
    # The drift page link is a javascript: URL here, so it is shown as text, not linked.
    assert "Evidently drill-down of the drifted columns: <code>javascript:alert(6)</code>" in (
        hostile_page
    )


def test_an_unsafe_drift_link_is_not_a_link_but_a_drift_file_next_to_the_report_is(
    page: str,
) -> None:
    claims = _section(page, BREACHING)
    assert '<a href="drift-claims-triage-llm.html">' in claims
    assert "4 of 6</b> columns drifted" in claims
    for column in ("feature.claim_amount", "feature.policy_type", "prediction", "confidence"):
        assert f'<td class="mono">{column}</td>' in claims
    assert "Wasserstein (normed)" in claims and "&lt; 0.001" in claims


def test_failure_modes_show_share_evidence_and_the_dominant_mode(page: str) -> None:
    claims = _section(page, BREACHING)
    modes = re.findall(r'<div class="fm( dominant)?">\s*<div class="name">(\w+)', claims)
    assert modes == [
        (" dominant", "format_violation"),
        ("", "hallucination"),
        ("", "domain_misapplication"),
        ("", "confidence_miscalibration"),
    ]
    assert 'style="width: 46.00%"' in claims and "<b>46.0 %</b>" in claims
    assert "failed their schema" in claims and "motor-claims" in claims
    assert "Annotation coverage: <b>38.0 %</b>" in claims
    assert "<code>tone_issue</code> (17)" in claims


def test_ladder_shows_six_rungs_with_current_tried_recommended_and_not_allowed(page: str) -> None:
    claims = _section(page, BREACHING)
    start = claims.index('<ol class="ladder"')
    ladder = claims[start : claims.index("</ol>", start)]
    rungs = re.findall(
        r'<li class="([^"]*)" data-rung="[a-z_]+">\s*<span class="n">RUNG (\d)', ladder
    )
    assert [n for _, n in rungs] == ["1", "2", "3", "4", "5", "6"]
    classes = {int(n): set(cls.split()) for cls, n in rungs}
    assert classes[1] == {"tried", "current"}
    assert classes[3] == {"recommended"}
    assert classes[6] == {"blocked"}
    assert "▲ current" in ladder and "→ recommended" in ladder and "not allowed" in ladder


def test_charts_have_axis_titles_units_and_the_latency_limits(page: str) -> None:
    titles = re.findall(r"<svg class=\"chart[^>]*aria-label=\"([^\"]+)\"", page)
    assert sum("reliability diagram" in t for t in titles) == 2  # the blind model has none
    assert sum("latency histogram" in t for t in titles) == 2
    assert sum("over the last 30 nights" in t for t in titles) == 12  # 4 per model
    for axis in (
        "Accuracy (share correct)",
        "Confidence (top-label probability)",
        "Latency (ms, log scale)",
        "Predictions per bin",
        "Night",
    ):
        assert axis in page
    claims = _section(page, BREACHING)
    assert "p95 limit 1,800 ms" in claims and "p99 limit 6,000 ms" in claims
    for title in ("Quality (%)", "Error rate (%)", "Latency p95 (ms)", "Calibration ECE (0–1)"):
        assert title in claims


def test_latency_chart_puts_lines_on_a_log_axis() -> None:
    edges = [10.0, 100.0, 1000.0]
    chart = latency_chart(
        edges, [5, 5], percentiles={"p50": 100.0, "p95": None, "p99": None}, limits={"p95": 1000.0}
    )
    assert chart is not None
    vlines = {
        e.cls: e.x1
        for e in chart.elements
        if getattr(e, "kind", "") == "line" and e.cls.startswith("vline")
    }
    bars = [e for e in chart.elements if getattr(e, "cls", "") == "bar-latency"]
    # two decades, two bars of equal width; p50 = 100 ms sits exactly between them
    assert abs(bars[0].w - bars[1].w) < 0.01
    assert abs(vlines["vline pct-p50"] - (bars[0].x + bars[0].w + 0.5)) < 0.6
    assert latency_chart([], [], percentiles={}, limits={}) is None


def test_a_blind_model_says_it_is_blind_and_shows_no_numbers(page: str) -> None:
    blind = _section(page, BLIND)
    assert "the monitor saw no rows for this model" in blind
    assert 'class="tiles"' not in blind
    assert "reliability diagram" not in blind
    assert "no data tonight" in blind  # its trend ends in nights it could not see
    row = page[page.index(f'">{BLIND}</a>') :]
    assert "⊘</span> Blind" in row[: row.index("</tr>")]


def test_ingest_accounting_adds_up(report: Report, page: str) -> None:
    ingest = report.ingest
    assert ingest.rows_read == (
        ingest.rows_used
        + ingest.rows_quarantined
        + ingest.rows_duplicate
        + ingest.rows_out_of_window
    )
    section = page[page.index("Ingest accounting") : page.index('<section class="card model')]
    for number in (
        ingest.rows_read,
        ingest.rows_used,
        ingest.rows_quarantined,
        ingest.rows_duplicate,
        ingest.rows_out_of_window,
    ):
        assert f"<b>{number:,}</b>" in section
    for reason, n in ingest.quarantined_by_reason.items():
        assert f'<td>{reason}</td><td class="num">{n:,}</td>' in section


def test_a_check_that_supports_persistence_says_so_in_the_checks_table(report: Report) -> None:
    model = next(m for m in report.models if m.model_id == HEALTHY)
    checks = [
        c.model_copy(update={"supports_persistence": c.threshold == "error_rate"})
        for c in model.checks
    ]
    html = render_html(
        report.model_copy(update={"models": [model.model_copy(update={"checks": checks})]})
    )
    rows = html.split("<tr ")
    marked = [
        r.split('"', 2)[1]
        for r in rows
        if r.startswith("data-check=") and "supports persistence</span>" in r
    ]
    assert marked == ["error_rate"]


def test_without_history_or_ladder_the_page_still_renders(report: Report) -> None:
    html = render_html(report)
    assert html.count("No history for this model yet.") == 3
    assert "showing the default ladder" in html
    claims = _section(html, BREACHING)
    assert re.search(  # ladder_position
        r'<li class=" current" data-rung="prompt_optimization">\s*<span class="n">RUNG 1', claims
    )


def test_a_model_without_labels_or_latency_gets_placeholders_not_broken_charts(
    report: Report,
) -> None:
    model = report.models[0]
    assert model.metrics is not None
    metrics = model.metrics.model_copy(
        update={
            "quality": None,
            "calibration": None,
            "calibration_drift": None,
            "latency_ms": LatencyMetric(),
        }
    )
    model = model.model_copy(update={"status": "insufficient_data", "metrics": metrics})
    html = render_html(report.model_copy(update={"models": [model]}))
    assert "No labeled rows in the current window: calibration unknown." in html
    assert "No latency recorded in the current window." in html
    assert "? Insufficient data" in html.replace(
        '<span class="sym" aria-hidden="true">', ""
    ).replace("</span> ", " ")
    empty = render_html(report.model_copy(update={"models": []}))
    assert "Models tonight" in empty and '<section class="card model' not in empty


def test_trend_dots_take_the_colour_and_shape_of_the_night_status(report: Report) -> None:
    nights = [
        NightPoint(date(2025, 3, 12), "healthy", 0.9, 0.01, 500.0, 0.02),
        NightPoint(date(2025, 3, 13), "warning", 0.86, 0.02, 700.0, 0.04),
        NightPoint(date(2025, 3, 14), "breach", 0.8, 0.03, 900.0, 0.07),
    ]
    ladder = LadderView(rungs=["prompt_optimization"], allowed=[], current=None, tried=[])
    html = render_html(report, trends={HEALTHY: nights}, ladders={HEALTHY: ladder})
    healthy = _section(html, HEALTHY)
    # one dot per night in each of the four small multiples, shaped by status
    assert len(re.findall(r'<circle [^>]*class="mk st-healthy"><title>', healthy)) == 4
    assert len(re.findall(r'<polygon [^>]*class="mk st-warning"><title>', healthy)) == 4
    assert len(re.findall(r'<rect [^>]*class="mk st-breach"><title>', healthy)) == 4
    assert "2025-03-14: 80.00 % (Breach)" in healthy


# ------------------------------------------------------------------- headless Chromium


def _open(browser: HeadlessChromium, html: str, path: Path) -> list[str]:
    path.write_text(html, encoding="utf-8")
    loaded = browser.load(path.as_uri())
    assert loaded.loaded
    return loaded.problems


@pytest.mark.chromium
def test_report_loads_in_chromium_without_errors_and_looks_like_a_report(
    browser: HeadlessChromium, page: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _open(browser, page, tmp_path / "report.html") == []
    assert browser.evaluate("document.querySelectorAll('svg.chart').length") == 16
    # the only script ran (its CSP hash matches) and added a Copy button to each command
    assert browser.evaluate("document.querySelectorAll('pre.command button.copy').length") == 3
    # 1280 px wide is enough: nothing overflows sideways
    assert browser.evaluate("document.documentElement.scrollWidth") <= 1280
    shot = browser.screenshot(tmp_path / "report.png")
    assert shot.stat().st_size > 20_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    SCREENSHOT_COPY.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT_COPY)
    with capsys.disabled():
        print(f"\nreport screenshot: {shot} (copied to {SCREENSHOT_COPY})")


@pytest.mark.chromium
def test_script_payloads_in_ids_annotations_and_features_fire_no_dialog(
    browser: HeadlessChromium, hostile_page: str, tmp_path: Path
) -> None:
    problems = _open(browser, hostile_page, tmp_path / "hostile.html")
    assert problems == []  # no dialog, no CSP violation, no exception
    assert browser.evaluate("document.querySelectorAll('img').length") == 0
    shown = browser.evaluate("document.querySelector('section.model h2').textContent")
    assert shown == f"{HEALTHY}{PAYLOADS[0]}"
    assert browser.evaluate("document.documentElement.scrollWidth") <= 1280


@pytest.mark.chromium
def test_the_probe_sees_dialogs_console_errors_and_exceptions(
    browser: HeadlessChromium, tmp_path: Path
) -> None:
    """Guards the two tests above against passing because nothing was being watched."""
    bad = (
        "<!DOCTYPE html><title>bad</title><img src=x onerror=\"alert('img')\">"
        "<script>console.error('boom'); setTimeout(function () { throw new Error('late'); });"
        "</script>"
    )
    problems = _open(browser, bad, tmp_path / "bad.html")
    assert "dialog: alert: img" in problems
    assert "console: boom" in problems
    assert any(p.startswith("exception:") and "late" in p for p in problems)


@pytest.mark.chromium
def test_report_prints(browser: HeadlessChromium, page: str, tmp_path: Path) -> None:
    assert _open(browser, page, tmp_path / "report.html") == []
    pdf = browser.pdf(tmp_path / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 4  # a page break before each model


# ----------------------------------------------------------------- ladder process panel


def _process_stats() -> LadderStats:
    """Six weeks of escalations from Monday 2025-02-24 (2025-W09): per week 1, 0, 2, 1, 3, 2
    (:data:`ladder_factories.WEEKLY_PLAN`)."""
    from datetime import datetime, timedelta, timezone

    from ladder_factories import weekly_incidents

    from ladder.stats import compute_stats

    monday = datetime(2025, 2, 24, 6, tzinfo=timezone.utc)
    facts = weekly_incidents(monday)
    return compute_stats(
        [f.escalation for f in facts],
        facts=facts,
        now=monday + timedelta(weeks=5, days=3),
        since=monday,
    )


def test_the_process_panel_shows_figures_and_three_charts(report: Report) -> None:
    stats = _process_stats()
    html = render_html(report, process=stats)
    assert 'id="ladder-process"' in html and 'id="ladder-process"' not in _render(report)
    panel = html[html.index('id="ladder-process"') : html.index('<section class="card model')]
    assert "<b>9</b>" in panel  # escalations
    assert f"<b>{stats.trend[0]:+.2f}/week (rising)</b>" in panel
    assert panel.count('<svg class="chart') == 3
    assert "2025-W13: tier 3 (relationship threat), 2 escalations" in panel
    assert "Acknowledgement (n=9)" in panel


@pytest.mark.chromium
def test_the_process_charts_draw_what_the_statistics_say_in_chromium(
    browser: HeadlessChromium, report: Report, tmp_path: Path
) -> None:
    stats = _process_stats()
    assert _open(browser, render_html(report, process=stats), tmp_path / "process.html") == []

    assert browser.evaluate("document.querySelectorAll('#ladder-process svg.chart').length") == 3
    bars = browser.evaluate(
        "[...document.querySelectorAll('#process-weekly rect[class^=tier-]')]"
        ".filter(r => r.querySelector('title'))"
        ".map(r => [r.querySelector('title').textContent, +r.getAttribute('height'),"
        " r.getBBox().height])"
    )
    # one bar per (week, tier) with escalations: 1 + 2 + 1 + 2 + 2
    assert len(bars) == 8
    heights = {title.split(" (")[0]: (h, box) for title, h, box in bars}
    one = heights["2025-W13: tier 2"]
    two = heights["2025-W13: tier 3"]
    assert two[0] == pytest.approx(2 * one[0], rel=0.02)
    assert two[1] == pytest.approx(two[0], abs=0.5)  # drawn as laid out
    # the trend rises: the dashed line ends higher (smaller y) than it starts
    ys = browser.evaluate(
        "document.querySelector('#process-weekly polyline.trend-fit').getAttribute('points')"
        ".split(' ').map(p => +p.split(',')[1])"
    )
    assert ys[1] < ys[0]
    counts = browser.evaluate(
        "[...document.querySelectorAll('#process-misses text.count')].map(t => t.textContent)"
    )
    assert counts == [str(stats.misses_by_tier.get(t, 0)) for t in (1, 2, 3, 4)]
    durations = browser.evaluate(
        "[...document.querySelectorAll('#process-durations rect.bar-duration')]"
        ".map(r => r.querySelector('title').textContent.split(':')[0])"
    )
    # nothing detected by a rule or resolved in this story: those two rows say so
    assert durations == ["Acknowledgement", "Communication", "Decision"]
    assert (
        browser.evaluate(
            "[...document.querySelectorAll('#process-durations text')]"
            ".filter(t => t.textContent === 'none yet').length"
        )
        == 2
    )
    assert browser.evaluate("document.documentElement.scrollWidth") <= 1280
