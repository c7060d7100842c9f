"""The nightly report as one self-contained HTML page, for the people who own the models.

:func:`render_html` turns a :class:`~monitor.report.Report` into a single file that opens
offline: inline CSS, inline SVG charts, no fonts, scripts or images from anywhere else (a
Content-Security-Policy in the page enforces it), and the only script — the optional
"copy" buttons next to ladder commands — is pinned by its hash. The page reads fully
without JavaScript and prints.

Everything that comes from logs or the register (model ids, output types, segments,
annotations, evidence, feature names, summaries, commands …) is rendered by Jinja2 with
autoescaping, SVG text included; nothing here marks such a string safe. Chart geometry is
computed in Python as plain numbers and short labels (:class:`Chart`), and drawn by one
template macro, so escaping lives in exactly one place.

The ladder's history (past nights, the rungs a model may use) belongs to the ``ladder``
package, which ``monitor`` must not import: the caller passes it in as
:class:`NightPoint` and :class:`LadderView` values.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import cache
from typing import Literal

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from monitor.report import Check, ModelReport, ReliabilityBinOut, Report
from thresholds.vocabulary import RUNGS

__all__ = ["LadderView", "NightPoint", "render_html"]


@dataclass(frozen=True)
class NightPoint:
    """One past night of one model, as the ladder's state store remembers it.

    Attributes
    ----------
    night : date
        The night checked (the report's ``as_of``).
    status : str
        The model's status that night (``healthy`` … ``blind``).
    quality, error_rate : float or None
        Shares in [0, 1].
    latency_p95 : float or None
        Milliseconds.
    ece : float or None
        Top-label expected calibration error, in [0, 1].
    """

    night: date
    status: str
    quality: float | None
    error_rate: float | None
    latency_p95: float | None
    ece: float | None


@dataclass(frozen=True)
class LadderView:
    """Where one model stands on the escalation ladder.

    Attributes
    ----------
    rungs : list of str
        Rung ids, cheapest first.
    allowed : list of str
        The rungs the register lets this model use.
    current : str or None
        The rung the model stands on now, if any.
    tried : list of str
        Rungs already tried for the open escalation.
    """

    rungs: list[str]
    allowed: list[str]
    current: str | None
    tried: list[str]


# --------------------------------------------------------------------------- chart scene
# A chart is a flat list of primitives in SVG user units. The template draws them; the
# only strings are labels and tooltips, which the template escapes like any other text.


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    cls: str
    title: str = ""
    kind: Literal["rect"] = "rect"


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    cls: str
    kind: Literal["line"] = "line"


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    cls: str = ""
    anchor: Literal["start", "middle", "end"] = "start"
    rotate: int = 0
    kind: Literal["text"] = "text"


@dataclass(frozen=True)
class Polyline:
    points: str  # "x,y x,y …", numbers only
    cls: str
    kind: Literal["polyline"] = "polyline"


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    shape: Literal["circle", "ring", "diamond", "square", "cross", "triangle"]
    cls: str
    size: float = 4.0
    title: str = ""
    kind: Literal["marker"] = "marker"


Element = Rect | Line | Text | Polyline | Marker


@dataclass
class Chart:
    """An SVG drawing: a view box, an accessible label, and its primitives in paint order."""

    width: int
    height: int
    label: str
    elements: list[Element] = field(default_factory=list)

    def add(self, *elements: Element) -> None:
        self.elements.extend(elements)


class _Scale:
    """Linear (or log10) map from a data domain to an SVG range."""

    def __init__(self, d0: float, d1: float, r0: float, r1: float, *, log: bool = False):
        self.log = log
        self.d0, self.d1 = (math.log10(d0), math.log10(d1)) if log else (d0, d1)
        self.r0, self.r1 = r0, r1

    def __call__(self, value: float) -> float:
        v = math.log10(value) if self.log else value
        if self.d1 == self.d0:
            return (self.r0 + self.r1) / 2
        return round(self.r0 + (v - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0), 2)


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (Heckbert's "nice numbers")."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, count - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    value = first
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def _log_ticks(lo: float, hi: float) -> list[float]:
    """1-2-5 ticks inside [lo, hi]; only powers of ten when that would be too many."""
    ticks: list[float] = []
    for exponent in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        for mantissa in (1, 2, 5):
            value = mantissa * 10.0**exponent
            if lo <= value <= hi:
                ticks.append(value)
    if len(ticks) > 9:
        ticks = [t for t in ticks if math.isclose(math.log10(t) % 1, 0, abs_tol=1e-9)]
    return ticks


# ------------------------------------------------------------------------------ formatting

_DASH = "—"


def _pct(value: float | None, digits: int = 1) -> str:
    if value is None or not math.isfinite(value):
        return _DASH
    scaled = value * 100
    if 0 < abs(scaled) < 0.1:
        digits = max(digits, 2)
    return f"{scaled:.{digits}f} %"


def _ms(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return _DASH
    if abs(value) >= 100:
        return f"{value:,.0f} ms"
    if abs(value) >= 10:
        return f"{value:.1f} ms"
    return f"{value:.2f} ms"


def _num(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return _DASH
    return f"{value:,.{digits}f}"


def _count(value: int | float | None) -> str:
    if value is None:
        return _DASH
    return f"{value:,.0f}"


def _compact(value: float) -> str:
    """Short counts for chart labels: 950, 1.2k, 34k, 1.2M."""
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            scaled = value / limit
            return f"{scaled:.1f}{suffix}" if scaled < 10 else f"{scaled:.0f}{suffix}"
    return f"{value:.0f}"


def _p_value(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return _DASH
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _utc(value: datetime | None) -> str:
    if value is None:
        return _DASH
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _money(value: float | None, currency: str) -> str:
    if value is None or not math.isfinite(value):
        return _DASH
    return f"{currency} {value:,.0f}" if value >= 1000 else f"{currency} {value:,.2f}"


def _threshold_unit(threshold: str) -> Literal["pct", "ms", "per_hour", "ratio", "rows"]:
    if threshold in ("quality", "confidence.share_below", "drift.features") or (
        threshold == "error_rate" or threshold.startswith("error_rate.")
    ):
        return "pct"
    if threshold.startswith("latency_ms."):
        return "ms"
    if threshold == "throughput":
        return "per_hour"
    if threshold == "blind":
        return "rows"
    return "ratio"


def _value(threshold: str, value: float | None) -> str:
    """A checked value in the unit of its threshold: 4.2 %, 812 ms, 120 /h, 0.094."""
    if value is None:
        return _DASH
    unit = _threshold_unit(threshold)
    if unit == "pct":
        return _pct(value)
    if unit == "ms":
        return _ms(value)
    if unit == "per_hour":
        return f"{_num(value, 1)} /h"
    if unit == "rows":
        return f"{_count(value)} rows"
    return _num(value)


def _title(identifier: str) -> str:
    """``prompt_optimization`` → ``Prompt optimization``."""
    words = identifier.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


_STATUS_LABELS = {
    "healthy": "Healthy",
    "ok": "OK",
    "warning": "Warning",
    "breach": "Breach",
    "insufficient_data": "Insufficient data",
    "blind": "Blind",
}
_STATUS_SYMBOLS = {
    "healthy": "✓",
    "ok": "✓",
    "warning": "!",
    "breach": "✕",
    "insufficient_data": "?",
    "blind": "⊘",
}
#: Marker shapes double the colour coding, for readers who cannot tell the colours apart.
_STATUS_SHAPES: dict[str, Literal["circle", "ring", "diamond", "square", "cross", "triangle"]] = {
    "healthy": "circle",
    "ok": "circle",
    "warning": "triangle",
    "breach": "square",
    "insufficient_data": "ring",
    "blind": "cross",
}


@dataclass(frozen=True)
class StatusStyle:
    """A status as shown: a fixed CSS class (never built from input), a word and a symbol."""

    key: str
    label: str
    symbol: str
    cls: str
    shape: Literal["circle", "ring", "diamond", "square", "cross", "triangle"]


def _status(status: str | None) -> StatusStyle:
    key = status if status in _STATUS_LABELS else "unknown"
    return StatusStyle(
        key=key,
        label=_STATUS_LABELS.get(key, _title(status or "unknown")),
        symbol=_STATUS_SYMBOLS.get(key, "·"),
        cls="st-healthy" if key == "ok" else f"st-{key}",
        shape=_STATUS_SHAPES.get(key, "ring"),
    )


def _anchor(index: int, model_id: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", model_id.lower()).strip("-")[:40]
    return f"model-{index + 1}-{slug}" if slug else f"model-{index + 1}"


_LOCAL_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.html?$")


def _local_link(name: str | None) -> str | None:
    """``name`` if it is a plain file name next to the report, else None (no link)."""
    return name if name is not None and _LOCAL_FILE.fullmatch(name) else None


# ------------------------------------------------------------------------------- charts


def _about(subject: str, text: str) -> str:
    """An accessible chart label: ``"<model id>: <what the chart shows>"``."""
    return f"{subject}: {text}" if subject else text[:1].upper() + text[1:]


_RELIABILITY_W, _RELIABILITY_H = 460, 466
#: Bins with fewer rows than this are drawn pale: their accuracy is mostly noise.
_SPARSE_BIN = 20


def reliability_chart(
    current: Sequence[ReliabilityBinOut],
    reference: Sequence[ReliabilityBinOut],
    *,
    current_ece: float | None,
    reference_ece: float | None,
    subject: str = "",
) -> Chart:
    """Reliability diagram: accuracy against confidence per bin, both windows, with counts.

    Current-window bins are bars (accuracy) with a dot at (mean confidence, accuracy);
    reference-window bins are hollow diamonds on a dashed line. A strip below shows each
    window's share of rows per bin, labelled with the current window's counts.
    """
    chart = Chart(
        _RELIABILITY_W,
        _RELIABILITY_H,
        _about(subject, "reliability diagram, accuracy against confidence, both windows"),
    )
    x0, x1, y0, y1 = 58.0, 444.0, 52.0, 328.0
    strip0, strip1 = 352.0, 404.0
    sx, sy = _Scale(0, 1, x0, x1), _Scale(0, 1, y1, y0)
    for tick in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        chart.add(
            Line(x0, sy(tick), x1, sy(tick), "grid"),
            Text(x0 - 6, sy(tick) + 4, f"{tick:.1f}", "tick", "end"),
            Line(sx(tick), strip1, sx(tick), strip1 + 4, "axis"),
            Text(sx(tick), strip1 + 17, f"{tick:.1f}", "tick", "middle"),
        )
    chart.add(Line(x0, y1, x1, y0, "diagonal"))
    current_used = [b for b in current if b.n > 0 and b.accuracy is not None]
    reference_used = [b for b in reference if b.n > 0 and b.accuracy is not None]
    for b in current_used:
        assert b.accuracy is not None
        left, right = sx(b.lower) + 1.5, sx(b.upper) - 1.5
        top = sy(b.accuracy)
        chart.add(
            Rect(
                left,
                top,
                max(0.5, right - left),
                y1 - top,
                "bar-current sparse" if b.n < _SPARSE_BIN else "bar-current",
                f"Current, confidence {b.lower:.2f}–{b.upper:.2f}: accuracy "
                f"{b.accuracy:.3f}, mean confidence {_num(b.mean_confidence)}, n={b.n:,}",
            )
        )
    ref_points = [
        (
            sx(b.mean_confidence if b.mean_confidence is not None else (b.lower + b.upper) / 2),
            sy(b.accuracy or 0.0),
            b,
        )
        for b in reference_used
    ]
    if len(ref_points) > 1:
        chart.add(Polyline(" ".join(f"{x},{y}" for x, y, _ in ref_points), "line-reference"))
    for x, y, b in ref_points:
        chart.add(
            Marker(
                x,
                y,
                "diamond",
                "mk-reference" + (" sparse" if b.n < _SPARSE_BIN else ""),
                4.5,
                f"Reference, confidence {b.lower:.2f}–{b.upper:.2f}: accuracy "
                f"{_num(b.accuracy)}, mean confidence {_num(b.mean_confidence)}, n={b.n:,}",
            )
        )
    cur_points = [
        (
            sx(b.mean_confidence if b.mean_confidence is not None else (b.lower + b.upper) / 2),
            sy(b.accuracy or 0.0),
            b,
        )
        for b in current_used
    ]
    if len(cur_points) > 1:
        chart.add(Polyline(" ".join(f"{x},{y}" for x, y, _ in cur_points), "line-current"))
    for x, y, b in cur_points:
        chart.add(
            Marker(x, y, "circle", "mk-current" + (" sparse" if b.n < _SPARSE_BIN else ""), 3.2)
        )
    chart.add(Line(x0, y1, x1, y1, "axis"), Line(x0, y0, x0, y1, "axis"))
    # Share of rows per bin, each window against its own total, so windows of different
    # lengths compare; the labels are the current window's raw counts.
    cur_total = sum(b.n for b in current) or 1
    ref_total = sum(b.n for b in reference) or 1
    shares = [b.n / cur_total for b in current] + [b.n / ref_total for b in reference]
    top_share = max(shares, default=0.0) or 1.0
    ss = _Scale(0, top_share, strip1, strip0 + 10)
    ref_by_lower = {round(b.lower, 6): b for b in reference}
    for b in current:
        mid = (sx(b.lower) + sx(b.upper)) / 2
        half = (sx(b.upper) - sx(b.lower)) / 2 - 1.5
        if b.n:
            top = ss(b.n / cur_total)
            chart.add(
                Rect(
                    mid - half,
                    top,
                    half,
                    strip1 - top,
                    "bar-current",
                    f"Current, confidence {b.lower:.2f}–{b.upper:.2f}: {b.n:,} rows",
                ),
                Text(mid, top - 2, _compact(b.n), "count", "middle"),
            )
        ref = ref_by_lower.pop(round(b.lower, 6), None)
        if ref is not None and ref.n:
            top = ss(ref.n / ref_total)
            chart.add(
                Rect(
                    mid,
                    top,
                    half,
                    strip1 - top,
                    "bar-reference",
                    f"Reference, confidence {ref.lower:.2f}–{ref.upper:.2f}: {ref.n:,} rows",
                )
            )
    chart.add(
        Line(x0, strip1, x1, strip1, "axis"),
        Text(x0 - 6, (strip0 + strip1) / 2 + 4, "rows", "tick", "end"),
        Text(
            (x0 + x1) / 2,
            _RELIABILITY_H - 20,
            "Confidence (top-label probability)",
            "axis-title",
            "middle",
        ),
        Text(16, (y0 + y1) / 2, "Accuracy (share correct)", "axis-title", "middle", -90),
    )
    # Legend above the plot, in two rows, so that it never hides a bin.
    cur_n, ref_n = sum(b.n for b in current), sum(b.n for b in reference)
    mid = x0 + 200
    chart.add(
        Rect(x0, 7, 12, 9, "bar-current"),
        Text(x0 + 17, 15, f"Current  n={cur_n:,}  ECE {_num(current_ece)}", "legend"),
        Marker(mid + 6, 11.5, "diamond", "mk-reference", 4.5),
        Text(
            mid + 17,
            15,
            f"Reference  n={ref_n:,}  ECE {_num(reference_ece)}"
            if reference
            else "Reference: none",
            "legend",
        ),
        Line(x0, 31, x0 + 12, 31, "diagonal"),
        Text(x0 + 17, 35, "Perfect calibration", "legend"),
        Rect(mid, 26, 12, 9, "bar-current sparse"),
        Text(mid + 17, 35, f"Fewer than {_SPARSE_BIN} rows", "legend"),
    )
    return chart


@dataclass(frozen=True)
class _VLine:
    value: float
    label: str
    cls: str


def latency_chart(
    edges: Sequence[float],
    counts: Sequence[int],
    *,
    percentiles: Mapping[str, float | None],
    limits: Mapping[str, float],
    subject: str = "",
) -> Chart | None:
    """Latency histogram on a log axis with the p50/p95/p99 lines and their limits.

    ``edges`` are the ``len(counts) + 1`` log-spaced bin edges in milliseconds;
    ``percentiles`` and ``limits`` are keyed ``p50``/``p95``/``p99``. None when there
    is nothing to draw.
    """
    if len(edges) < 2 or len(edges) != len(counts) + 1 or not any(counts):
        return None
    if any(not (math.isfinite(e) and e > 0) for e in edges):
        return None
    width, height = _RELIABILITY_W, _RELIABILITY_H
    chart = Chart(
        width,
        height,
        _about(subject, "latency histogram, log scale, with percentiles and limits"),
    )
    x0, x1, y0, y1 = 58.0, 444.0, 70.0, 404.0
    vlines = [
        _VLine(v, name, f"pct-{name}")
        for name, v in percentiles.items()
        if v is not None and math.isfinite(v) and v > 0
    ] + [
        _VLine(v, f"{name} limit", "limit")
        for name, v in limits.items()
        if math.isfinite(v) and v > 0
    ]
    lo = min([edges[0], *(v.value for v in vlines)])
    hi = max([edges[-1], *(v.value for v in vlines)])
    pad = (math.log10(hi) - math.log10(lo)) * 0.04 or 0.1
    lo, hi = 10 ** (math.log10(lo) - pad), 10 ** (math.log10(hi) + pad)
    sx = _Scale(lo, hi, x0, x1, log=True)
    top = max(counts)
    y_ticks = _nice_ticks(0, top, 5)
    sy = _Scale(0, max(y_ticks[-1], top), y1, y0)
    for tick in y_ticks:
        chart.add(
            Line(x0, sy(tick), x1, sy(tick), "grid"),
            Text(x0 - 6, sy(tick) + 4, _compact(tick), "tick", "end"),
        )
    for tick in _log_ticks(lo, hi):
        label = f"{tick:g}" if tick < 1000 else f"{tick / 1000:g}k"
        chart.add(
            Line(sx(tick), y1, sx(tick), y1 + 4, "axis"),
            Text(sx(tick), y1 + 17, label, "tick", "middle"),
        )
    for left, right, count in zip(edges[:-1], edges[1:], counts, strict=True):
        if count <= 0:
            continue
        a, b = sx(left), sx(right)
        chart.add(
            Rect(
                a + 0.5,
                sy(count),
                max(0.5, b - a - 1),
                y1 - sy(count),
                "bar-latency",
                f"{_ms(left)} – {_ms(right)}: {count:,} predictions",
            )
        )
    chart.add(Line(x0, y1, x1, y1, "axis"), Line(x0, y0, x0, y1, "axis"))
    # Labels above the plot, stacked into rows so that neighbours never overlap.
    row_ends: list[float] = []
    labels: list[Text] = []
    for line in sorted(vlines, key=lambda v: v.value):
        x = sx(line.value)
        text = f"{line.label} {_ms(line.value)}"
        half = len(text) * 3.5 + 4  # ~0.67 em per bold glyph at 10.5 px
        cx = min(max(x, x0 + half), x1 - half)
        row = next((i for i, end in enumerate(row_ends) if cx - half > end), len(row_ends))
        if row == len(row_ends):
            row_ends.append(cx + half)
        else:
            row_ends[row] = cx + half
        label_y = y0 - 8 - row * 13
        chart.add(Line(x, label_y + 3, x, y1, f"vline {line.cls}"))
        labels.append(Text(cx, label_y, text, f"vlabel {line.cls}", "middle"))
    chart.add(*labels)  # over every line, with a halo, so a crossing line never hides one
    chart.add(
        Text((x0 + x1) / 2, height - 20, "Latency (ms, log scale)", "axis-title", "middle"),
        Text(16, (y0 + y1) / 2, "Predictions per bin", "axis-title", "middle", -90),
    )
    return chart


@dataclass(frozen=True)
class TrendPanel:
    """One small multiple: a title with its unit, the last value, and the chart."""

    title: str
    latest: str
    chart: Chart | None


_TREND_W, _TREND_H = 280, 150


def trend_chart(
    points: Sequence[tuple[date, float | None, str]],
    *,
    label: str,
    fmt: str,
    limit: float | None,
    scale: float = 1.0,
) -> Chart | None:
    """One metric over past nights: a grey line, dots coloured and shaped by status.

    ``points`` are (night, value, status); ``scale`` multiplies values for display (100
    for percentages); ``fmt`` is ``pct``, ``ms`` or ``ratio``. None without any value.
    """
    values = [(night, v * scale, status) for night, v, status in points if v is not None]
    if not values:
        return None
    chart = Chart(_TREND_W, _TREND_H, label)
    x0, x1, y0, y1 = 46.0, 266.0, 12.0, 116.0
    nights = [p[0] for p in points]
    first, last = min(nights), max(nights)
    sx = _Scale(0, max(1, (last - first).days), x0 + 6, x1 - 6)
    shown = [v for _, v, _ in values] + ([limit * scale] if limit is not None else [])
    lo, hi = min(shown), max(shown)
    span = (hi - lo) or (abs(hi) * 0.1 or 1.0)
    lo, hi = lo - span * 0.12, hi + span * 0.12
    if fmt in ("pct", "ms", "ratio") and min(shown) >= 0:
        lo = max(0.0, lo)
    ticks = _nice_ticks(lo, hi, 4)
    lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])
    sy = _Scale(lo, hi, y1, y0)

    def tick_label(value: float) -> str:
        if fmt == "pct":
            return f"{value:g}%"
        if fmt == "ms":
            return _compact(value)
        return f"{value:.3g}"

    for tick in ticks:
        chart.add(
            Line(x0, sy(tick), x1, sy(tick), "grid"),
            Text(x0 - 5, sy(tick) + 3.5, tick_label(tick), "tick small", "end"),
        )
    chart.add(Line(x0, y1, x1, y1, "axis"))
    for night in sorted({first, last}):
        chart.add(
            Text(sx((night - first).days), y1 + 14, night.strftime("%d %b"), "tick small", "middle")
        )
    chart.add(Text((x0 + x1) / 2, y1 + 30, "Night", "axis-title small", "middle"))
    if limit is not None:
        ly = sy(limit * scale)
        chart.add(Line(x0, ly, x1, ly, "limit-h"))
    for night, value, status in points:
        if value is None and status == "blind":  # the nights the monitor could not see
            chart.add(
                Marker(
                    sx((night - first).days),
                    y1 - 5,
                    "cross",
                    "mk st-blind",
                    3.2,
                    f"{night.isoformat()}: no data (Blind)",
                )
            )
    coords = [(sx((night - first).days), sy(v), night, v, status) for night, v, status in values]
    if len(coords) > 1:
        chart.add(Polyline(" ".join(f"{x},{y}" for x, y, *_ in coords), "trend-line"))
    for x, y, night, v, status in coords:
        style = _status(status)
        shown_value = {"pct": f"{v:.2f} %", "ms": _ms(v)}.get(fmt, f"{v:.4f}")
        chart.add(
            Marker(
                x,
                y,
                style.shape,
                f"mk {style.cls}",
                3.6,
                f"{night.isoformat()}: {shown_value} ({style.label})",
            )
        )
    return chart


def _trend_panels(
    trend: Sequence[NightPoint], limits: Mapping[str, float | None], subject: str
) -> list[TrendPanel]:
    ordered = sorted(trend, key=lambda p: p.night)
    specs: list[tuple[str, str, str, float, str]] = [
        ("Quality", "quality", "pct", 100.0, "quality"),
        ("Error rate", "error_rate", "pct", 100.0, "error_rate"),
        ("Latency p95", "latency_p95", "ms", 1.0, "latency_ms.p95"),
        ("Calibration ECE", "ece", "ratio", 1.0, "calibration.ece"),
    ]
    units = {"pct": "%", "ms": "ms", "ratio": "0–1"}
    panels = []
    for title, attr, fmt, scale, threshold in specs:
        points = [(p.night, getattr(p, attr), p.status) for p in ordered]
        latest = points[-1][1] if points else None
        latest_text = (
            "no data tonight"
            if latest is None
            else _pct(latest)
            if fmt == "pct"
            else _ms(latest)
            if fmt == "ms"
            else _num(latest)
        )
        panels.append(
            TrendPanel(
                title=f"{title} ({units[fmt]})",
                latest=latest_text,
                chart=trend_chart(
                    points,
                    label=_about(subject, f"{title.lower()} over the last {len(points)} nights"),
                    fmt=fmt,
                    limit=limits.get(threshold),
                    scale=scale,
                ),
            )
        )
    return panels


# --------------------------------------------------------------------------- page model


@dataclass(frozen=True)
class Tile:
    """A headline number with its context and the status of the check that judges it."""

    label: str
    value: str
    detail: str
    status: StatusStyle | None


@dataclass(frozen=True)
class CheckRow:
    threshold: str
    status: StatusStyle
    observed: str
    limit: str
    interval: str
    n: str
    tier: str
    #: Significant at the support level: counts towards the ladder's persistence rule
    #: when the same check breaches on another night of the window.
    supports: bool = False


@dataclass(frozen=True)
class FailureModeRow:
    mode: str
    share: float
    share_text: str
    count: str
    confidence: str
    segment: str | None
    evidence: list[str]
    dominant: bool


@dataclass(frozen=True)
class RungStep:
    index: int
    rung: str
    title: str
    allowed: bool
    tried: bool
    current: bool
    recommended: bool


@dataclass(frozen=True)
class ModelView:
    """Everything the template shows for one model, formatted."""

    model: ModelReport
    anchor: str
    status: StatusStyle
    tiles: list[Tile]
    breaches: list[CheckRow]
    checks: list[CheckRow]
    reliability: Chart | None
    reliability_note: str
    latency: Chart | None
    latency_note: str
    trends: list[TrendPanel]
    nights: list[tuple[str, StatusStyle]]
    failure_modes: list[FailureModeRow]
    drift_link: str | None
    ladder: list[RungStep]
    ladder_supplied: bool
    summary_cells: dict[str, tuple[str, StatusStyle | None]]
    findings: str
    worst_tier: int | None
    output_types: list[tuple[str, str, str, str, StatusStyle | None]]


def _interval(threshold: str, low: float | None, high: float | None) -> str:
    if low is None and high is None:
        return _DASH
    return f"[{_value(threshold, low)}, {_value(threshold, high)}]"


def _limit(threshold: str, limit: float | None, direction: str | None) -> str:
    if limit is None:
        return _DASH
    if direction is None:
        direction = "min" if threshold in ("quality", "throughput") else "max"
    return f"{'≥' if direction == 'min' else '≤'} {_value(threshold, limit)}"


def _check_rows(model: ModelReport) -> tuple[list[CheckRow], list[CheckRow]]:
    directions = {c.threshold: c.direction for c in model.checks}
    breaches = [
        CheckRow(
            threshold=b.threshold,
            status=_status(b.level),
            observed=_value(b.threshold, b.observed),
            limit=_limit(b.threshold, b.limit, directions.get(b.threshold)),
            interval=_interval(b.threshold, b.ci_low, b.ci_high),
            n=_count(b.n),
            tier=f"T{b.tier}",
        )
        for b in sorted(model.breaches, key=lambda b: (-b.tier, b.level != "breach", b.threshold))
    ]
    checks = [
        CheckRow(
            threshold=c.threshold,
            status=_status(c.status),
            observed=_value(c.threshold, c.observed),
            limit=_limit(c.threshold, c.limit, c.direction),
            interval=_interval(c.threshold, c.ci_low, c.ci_high),
            n=_count(c.n),
            tier=f"T{c.tier}" if c.tier else _DASH,
            supports=c.supports_persistence,
        )
        for c in model.checks
    ]
    return breaches, checks


def _check_status(checks: Mapping[str, Check], name: str) -> StatusStyle | None:
    check = checks.get(name)
    return _status(check.status) if check is not None else None


_SEVERITY = {"ok": 0, "insufficient_data": 1, "warning": 2, "breach": 3}


def _worst_check(checks: Mapping[str, Check], *names: str) -> StatusStyle | None:
    """The most severe status among the named checks; None when none of them ran."""
    found = [check.status for name in names if (check := checks.get(name)) is not None]
    return _status(max(found, key=_SEVERITY.__getitem__)) if found else None


def _tiles(model: ModelReport, checks: Mapping[str, Check]) -> list[Tile]:
    m = model.metrics
    if m is None or model.n_rows == 0:
        return []  # a blind model has no numbers, only the callout that says so
    tiles: list[Tile] = []
    if m.quality is not None:
        q = m.quality
        what = "accuracy" if q.metric == "accuracy" else "mean quality score"
        tiles.append(
            Tile(
                "Quality",
                _pct(q.value),
                f"{what}, CI [{_pct(q.ci_low)}, {_pct(q.ci_high)}], "
                f"n={_count(q.n)}, labels {_pct(q.label_coverage, 0)}",
                _check_status(checks, "quality"),
            )
        )
    er = m.error_rate
    tiles.append(
        Tile(
            "Error rate",
            _pct(er.value),
            f"CI [{_pct(er.ci_low)}, {_pct(er.ci_high)}], {_count(er.count)} of {_count(er.n)}",
            _check_status(checks, "error_rate"),
        )
    )
    lat = m.latency_ms
    tiles.append(
        Tile(
            "Latency p95",
            _ms(lat.p95),
            f"p50 {_ms(lat.p50)} · p99 {_ms(lat.p99)} · max {_ms(lat.max)}",
            _worst_check(checks, "latency_ms.p50", "latency_ms.p95", "latency_ms.p99"),
        )
    )
    tp = m.throughput
    tiles.append(
        Tile(
            "Throughput",
            f"{_num(tp.per_hour_mean, 1)} /h",
            f"slowest hour {_num(tp.per_hour_min, 0)} /h over {tp.hours:.0f} h",
            _check_status(checks, "throughput"),
        )
    )
    conf = m.confidence
    tiles.append(
        Tile(
            "Confidence",
            _num(conf.mean, 2),
            f"{_pct(conf.share_below_min)} below {conf.min:.2f} · escalation rate "
            f"{_pct(conf.escalation_rate)} (auto {_pct(conf.band_auto, 0)}, review "
            f"{_pct(conf.band_review, 0)}, general {_pct(conf.band_general, 0)})",
            _check_status(checks, "confidence.share_below"),
        )
    )
    if m.calibration is not None:
        cal = m.calibration
        drift = m.calibration_drift
        delta = (
            f" · ΔECE {drift.ece_delta:+.3f} (p {_p_value(drift.p_value)})"
            if drift is not None and drift.ece_delta is not None
            else ""
        )
        tiles.append(
            Tile(
                "Calibration ECE",
                _num(cal.ece),
                f"MCE {_num(cal.mce)} · Brier {_num(cal.brier)} · overconfidence "
                f"{_num(cal.overconfidence_gap)}{delta}",
                _worst_check(checks, "calibration.ece", "calibration.drift"),
            )
        )
    return tiles


def _summary_cells(
    model: ModelReport, checks: Mapping[str, Check]
) -> dict[str, tuple[str, StatusStyle | None]]:
    m = model.metrics
    if m is None or model.status == "blind":
        return {key: (_DASH, None) for key in ("quality", "error_rate", "p95", "ece")}
    return {
        "quality": (
            _pct(m.quality.value) if m.quality else _DASH,
            _check_status(checks, "quality"),
        ),
        "error_rate": (_pct(m.error_rate.value), _check_status(checks, "error_rate")),
        "p95": (_ms(m.latency_ms.p95), _check_status(checks, "latency_ms.p95")),
        "ece": (
            _num(m.calibration.ece) if m.calibration else _DASH,
            _check_status(checks, "calibration.ece"),
        ),
    }


def _findings(model: ModelReport) -> str:
    """``2 breaches · 1 warning`` for the summary table; empty when there are none."""
    if not model.breaches:
        return ""
    parts = []
    for level, one, many in (
        ("blind", "blind", "blind"),
        ("breach", "breach", "breaches"),
        ("warning", "warning", "warnings"),
    ):
        n = sum(b.level == level for b in model.breaches)
        if n:
            parts.append(f"{n} {one if n == 1 else many}")
    return " · ".join(parts)


def _failure_rows(model: ModelReport) -> list[FailureModeRow]:
    # Only the mode the report names dominant is highlighted: on a healthy night the
    # background failures are listed without one.
    dominant = model.dominant_failure_mode
    return [
        FailureModeRow(
            mode=f.mode,
            share=max(0.0, min(1.0, f.share)),
            share_text=_pct(f.share),
            count=_count(f.count),
            confidence=_pct(f.confidence, 0),
            segment=f.segment,
            evidence=list(f.evidence),
            dominant=f.mode == dominant,
        )
        for f in sorted(model.failure_modes, key=lambda f: -f.share)
    ]


def _ladder(model: ModelReport, view: LadderView | None) -> tuple[list[RungStep], bool]:
    supplied = view is not None
    if view is None:
        view = LadderView(
            rungs=list(RUNGS), allowed=list(RUNGS), current=model.ladder_position, tried=[]
        )
    recommended = model.recommendation.rung if model.recommendation else None
    return [
        RungStep(
            index=i + 1,
            rung=rung,
            title=_title(rung),
            allowed=rung in view.allowed,
            tried=rung in view.tried,
            current=rung == view.current,
            recommended=rung == recommended,
        )
        for i, rung in enumerate(view.rungs)
    ], supplied


def _output_types(
    model: ModelReport, checks: Mapping[str, Check]
) -> list[tuple[str, str, str, str, StatusStyle | None]]:
    if model.metrics is None:
        return []
    rows = []
    for name, rate in sorted(model.metrics.error_rate.by_output_type.items()):
        check = checks.get(f"error_rate.{name}")
        rows.append(
            (
                name,
                _pct(rate.value),
                f"[{_pct(rate.ci_low)}, {_pct(rate.ci_high)}]",
                _count(rate.n),
                _status(check.status) if check else None,
            )
        )
    return rows


def _model_view(
    index: int,
    model: ModelReport,
    trend: Sequence[NightPoint],
    ladder: LadderView | None,
) -> ModelView:
    checks = {c.threshold: c for c in model.checks}
    limits: dict[str, float | None] = {name: c.limit for name, c in checks.items()}
    breaches, check_rows = _check_rows(model)
    m = model.metrics
    reliability: Chart | None = None
    reliability_note = ""
    latency: Chart | None = None
    latency_note = ""
    if model.status == "blind" or m is None:
        reliability_note = latency_note = "No rows in the current window: nothing to draw."
    else:
        cal, drift = m.calibration, m.calibration_drift
        if cal is not None and any(b.n for b in cal.bins):
            reliability = reliability_chart(
                cal.bins,
                drift.reference_bins if drift is not None else [],
                current_ece=cal.ece,
                reference_ece=drift.reference_ece if drift is not None else None,
                subject=model.model_id,
            )
        else:
            reliability_note = "No labeled rows in the current window: calibration unknown."
        lat = m.latency_ms
        latency = latency_chart(
            lat.histogram_edges,
            lat.histogram_counts,
            percentiles={"p50": lat.p50, "p95": lat.p95, "p99": lat.p99},
            limits={
                q: checks[f"latency_ms.{q}"].limit
                for q in ("p50", "p95", "p99")
                if f"latency_ms.{q}" in checks
            },
            subject=model.model_id,
        )
        if latency is None:
            latency_note = "No latency recorded in the current window."
    drift_link = _local_link(model.drift.html) if model.drift is not None else None
    steps, supplied = _ladder(model, ladder)
    ordered = sorted(trend, key=lambda p: p.night)
    return ModelView(
        model=model,
        anchor=_anchor(index, model.model_id),
        status=_status(model.status),
        tiles=_tiles(model, checks),
        breaches=breaches,
        checks=check_rows,
        reliability=reliability,
        reliability_note=reliability_note,
        latency=latency,
        latency_note=latency_note,
        trends=_trend_panels(ordered, limits, model.model_id) if ordered else [],
        nights=[(p.night.isoformat(), _status(p.status)) for p in ordered],
        failure_modes=_failure_rows(model),
        drift_link=drift_link,
        ladder=steps,
        ladder_supplied=supplied,
        summary_cells=_summary_cells(model, checks),
        findings=_findings(model),
        worst_tier=max((b.tier for b in model.breaches), default=None),
        output_types=_output_types(model, checks),
    )


@dataclass(frozen=True)
class IngestBar:
    label: str
    rows: int
    share: float
    cls: str


def _ingest_bars(report: Report) -> list[IngestBar]:
    ing = report.ingest
    parts = [
        ("Used", ing.rows_used, "seg-used"),
        ("Quarantined", ing.rows_quarantined, "seg-quarantined"),
        ("Duplicates", ing.rows_duplicate, "seg-duplicate"),
        ("Out of window", ing.rows_out_of_window, "seg-window"),
    ]
    total = sum(rows for _, rows, _ in parts) or 1
    return [IngestBar(label, rows, rows / total, cls) for label, rows, cls in parts]


# ---------------------------------------------------------------------------- rendering

#: The page's only script: adds "Copy" buttons to command blocks. The page works without it.
_COPY_SCRIPT = """
document.querySelectorAll("pre.command").forEach(function (pre) {
  if (!navigator.clipboard) { return; }
  var button = document.createElement("button");
  button.type = "button";
  button.className = "copy";
  button.textContent = "Copy";
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(pre.querySelector("code").textContent).then(function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 1500);
    }, function () { button.textContent = "Select and copy"; });
  });
  pre.appendChild(button);
});
"""
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_COPY_SCRIPT.encode()).digest()).decode()


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("monitor", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        pct=_pct, ms=_ms, num=_num, count=_count, p_value=_p_value, utc=_utc, title=_title
    )
    env.globals.update(money=_money, status=_status)
    return env


def render_html(
    report: Report,
    *,
    trends: Mapping[str, Sequence[NightPoint]] | None = None,
    ladders: Mapping[str, LadderView] | None = None,
) -> str:
    """The report as one self-contained HTML document.

    Parameters
    ----------
    report : Report
        Tonight's report.
    trends : mapping of model id to sequence of NightPoint, optional
        Past nights per model, from the ladder's state store, for the trend charts.
        Models without history get no trend charts.
    ladders : mapping of model id to LadderView, optional
        Each model's ladder (rungs, allowed, current, tried). A model without one is
        shown on the default six rungs at ``ModelReport.ladder_position``.

    Returns
    -------
    str
        The HTML page. It loads nothing from the network, is readable without
        JavaScript, and escapes every string that came from logs or the register.
    """
    trends = trends or {}
    ladders = ladders or {}
    views = [
        _model_view(i, model, trends.get(model.model_id, ()), ladders.get(model.model_id))
        for i, model in enumerate(report.models)
    ]
    counts: dict[str, int] = {}
    for view in views:
        counts[view.status.key] = counts.get(view.status.key, 0) + 1
    template = _environment().get_template("report.html.j2")
    return template.render(
        report=report,
        overall=_status(report.status),
        views=views,
        status_counts=[
            (_status(key), counts[key])
            for key in ("breach", "blind", "warning", "insufficient_data", "healthy", "unknown")
            if key in counts
        ],
        ingest_bars=_ingest_bars(report),
        script=Markup(_COPY_SCRIPT),  # our own constant, pinned by the CSP hash below
        script_hash=_SCRIPT_HASH,
        legend_statuses=[
            _status(s) for s in ("healthy", "warning", "breach", "insufficient_data", "blind")
        ],
    )
