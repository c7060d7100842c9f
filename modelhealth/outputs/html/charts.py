"""The report's SVG charts, as plain geometry: reliability diagram, latency histogram,
metric trends.

A chart is a :class:`Chart`: a view box, an accessible label and a flat list of
primitives in SVG user units (:class:`Rect`, :class:`Line`, :class:`Text`,
:class:`Polyline`, :class:`Marker`). Everything is computed here as numbers and short
labels; one template macro draws them, so escaping lives in exactly one place.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from modelhealth.outputs.html.format import (
    MarkerShape,
    compact,
    ms,
    num,
    status_style,
)
from monitor.report import ReliabilityBinOut

__all__ = [
    "Chart",
    "Element",
    "Line",
    "Marker",
    "Polyline",
    "Rect",
    "Scale",
    "Text",
    "chart_label",
    "latency_chart",
    "nice_ticks",
    "reliability_chart",
    "trend_chart",
]


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
    shape: MarkerShape
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


#: The same map, for the other chart modules of this package.
Scale = _Scale


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


nice_ticks = _nice_ticks


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


# ------------------------------------------------------------------------------- charts


def chart_label(subject: str, text: str) -> str:
    """An accessible chart label: ``"<model id>: <what the chart shows>"``."""
    return f"{subject}: {text}" if subject else text[:1].upper() + text[1:]


_RELIABILITY_W, _RELIABILITY_H = 460, 466
#: Bins with fewer rows than this are drawn pale: their accuracy is mostly noise.
_SPARSE_BIN = 20


def _bin_points(
    bins: Sequence[ReliabilityBinOut], sx: _Scale, sy: _Scale
) -> list[tuple[float, float, ReliabilityBinOut]]:
    """Each bin at (mean confidence, accuracy); the bin's middle when it has no mean."""
    return [
        (
            sx(b.mean_confidence if b.mean_confidence is not None else (b.lower + b.upper) / 2),
            sy(b.accuracy or 0.0),
            b,
        )
        for b in bins
    ]


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
        chart_label(subject, "reliability diagram, accuracy against confidence, both windows"),
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
                f"{b.accuracy:.3f}, mean confidence {num(b.mean_confidence)}, n={b.n:,}",
            )
        )
    ref_points = _bin_points(reference_used, sx, sy)
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
                f"{num(b.accuracy)}, mean confidence {num(b.mean_confidence)}, n={b.n:,}",
            )
        )
    cur_points = _bin_points(current_used, sx, sy)
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
                Text(mid, top - 2, compact(b.n), "count", "middle"),
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
        Text(x0 + 17, 15, f"Current  n={cur_n:,}  ECE {num(current_ece)}", "legend"),
        Marker(mid + 6, 11.5, "diamond", "mk-reference", 4.5),
        Text(
            mid + 17,
            15,
            f"Reference  n={ref_n:,}  ECE {num(reference_ece)}" if reference else "Reference: none",
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
        chart_label(subject, "latency histogram, log scale, with percentiles and limits"),
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
            Text(x0 - 6, sy(tick) + 4, compact(tick), "tick", "end"),
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
                f"{ms(left)} – {ms(right)}: {count:,} predictions",
            )
        )
    chart.add(Line(x0, y1, x1, y1, "axis"), Line(x0, y0, x0, y1, "axis"))
    # Labels above the plot, stacked into rows so that neighbours never overlap.
    row_ends: list[float] = []
    labels: list[Text] = []
    for line in sorted(vlines, key=lambda v: v.value):
        x = sx(line.value)
        text = f"{line.label} {ms(line.value)}"
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
            return compact(value)
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
        style = status_style(status)
        shown_value = {"pct": f"{v:.2f} %", "ms": ms(v)}.get(fmt, f"{v:.4f}")
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
