"""A small server-side SVG line chart: axes, series, threshold lines, event markers, accessible titles.

The HTML report is one file that must open offline and pass a change
review, so its charts are drawn here as inline SVG, with no script and no
library fetched from anywhere. A chart is data (``Chart``) turned into
markup (``svg``); the scale it picks is a pure function (``y_scale``) so
tests can hold it to its promises: the data and the thresholds always fit,
ticks are round numbers, and an empty or one-point chart still draws.

A threshold far above the data (a 5% trigger over a 0.2% error rate) would
flatten the data into the axis; beyond ``THRESHOLD_REACH`` times the data's
top it is drawn at the top edge, labelled as off the scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from golive.textout import html_text

THRESHOLD_REACH = 4.0
_LEFT, _RIGHT, _TOP, _BOTTOM = 58, 14, 34, 36


@dataclass(frozen=True)
class Series:
    """One line: ``(x, y)`` points in x order; ``steps`` draws it as a staircase (a weight held until changed)."""

    name: str
    points: Sequence[tuple[float, float]]
    colour: str = "#3b6fd8"
    steps: bool = False
    dashed: bool = False


@dataclass(frozen=True)
class Threshold:
    label: str
    value: float
    colour: str = "#c62828"


@dataclass(frozen=True)
class Marker:
    """A vertical line at ``x`` (a rollback, a shift), with its label above the plot."""

    label: str
    x: float
    colour: str = "#a31515"
    kind: str = "marker"


@dataclass(frozen=True)
class Chart:
    title: str  # the accessible name: says what the chart is about on its own
    series: Sequence[Series]
    x_label: str = "minutes"
    y_format: Callable[[float], str] = lambda v: f"{v:g}"
    thresholds: Sequence[Threshold] = ()
    markers: Sequence[Marker] = ()
    x_range: tuple[float, float] | None = None
    y_max: float | None = None  # a fixed top (a weight chart's 100%)
    width: int = 360
    height: int = 200
    css_class: str = "chart"
    note: str = ""
    heading: str = ""  # the visible title, where the page around it already names the subject; else the title
    extra: Sequence[str] = field(default_factory=tuple)
    legend: str = ""  # what the chart's test decides on and where it rolls back, for the text under the chart


def nice_step(span: float, ticks: int = 4) -> float:
    """A tick step of 1, 2, 2.5 or 5 times a power of ten giving about ``ticks`` ticks over ``span`` (> 0)."""
    raw = span / ticks
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))


def y_scale(values: Sequence[float], thresholds: Sequence[float], fixed_top: float | None = None
            ) -> tuple[float, float, tuple[float, ...]]:
    """``(top, step, on_scale_thresholds)``: the axis runs 0..top in round steps.

    The top covers every value and every threshold within ``THRESHOLD_REACH`` times the values' maximum;
    thresholds beyond that are left out of ``on_scale_thresholds`` (drawn at the edge). With no values at
    all every threshold is on the scale; with nothing, the axis is 0..1.
    """
    if fixed_top is not None and fixed_top > 0:
        return fixed_top, nice_step(fixed_top), tuple(t for t in thresholds if 0 <= t <= fixed_top)
    data_top = max((v for v in values if math.isfinite(v)), default=0.0)
    if data_top > 0:
        reach = data_top * THRESHOLD_REACH
        on_scale = tuple(t for t in thresholds if t <= reach)
    else:
        on_scale = tuple(thresholds)
    top = max([data_top, *on_scale, 0.0]) * 1.1
    if top <= 0:
        return 1.0, 0.25, on_scale
    step = nice_step(top)
    return math.ceil(top / step - 1e-9) * step, step, on_scale


def _e(text: object) -> str:
    return html_text(text)


def _fmt(v: float) -> str:
    return f"{v:.1f}"


def svg(chart: Chart) -> str:
    """The chart as an inline ``<svg>`` with a ``<title>`` (its accessible name) and a legend."""
    values = [y for s in chart.series for _, y in s.points]
    xs = [x for s in chart.series for x, _ in s.points] + [m.x for m in chart.markers]
    lo, hi = chart.x_range or (min(xs, default=0.0), max(xs, default=1.0))
    if hi <= lo:
        hi = lo + 1.0
    top, step, on_scale = y_scale(values, [t.value for t in chart.thresholds], chart.y_max)
    w, h = chart.width, chart.height
    plot_w, plot_h = w - _LEFT - _RIGHT, h - _TOP - _BOTTOM

    def px(x: float) -> float:
        return _LEFT + plot_w * (x - lo) / (hi - lo)

    def py(y: float) -> float:
        return _TOP + plot_h * (1 - min(max(y, 0.0), top) / top)

    parts = [f'<svg class="{_e(chart.css_class)}" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img">'
             f'<title>{_e(chart.title)}</title>',
             f'<text x="{_LEFT}" y="14" font-size="12" font-weight="600" fill="#1d2330">'
             f"{_e(chart.heading or chart.title)}</text>"]
    for i in range(round(top / step) + 1):
        gy = py(step * i)
        parts.append(f'<line class="grid" x1="{_LEFT}" y1="{_fmt(gy)}" x2="{w - _RIGHT}" y2="{_fmt(gy)}" '
                     f'stroke="#eceff4"/><text class="tick" x="{_LEFT - 5}" y="{_fmt(gy + 3)}" font-size="9" '
                     f'text-anchor="end" fill="#6b7280">{_e(chart.y_format(step * i))}</text>')
    x_step = nice_step(hi - lo, 5)
    tick = math.ceil(lo / x_step - 1e-9) * x_step
    while tick <= hi + 1e-9:
        parts.append(f'<text class="tick" x="{_fmt(px(tick))}" y="{_TOP + plot_h + 12}" font-size="9" '
                     f'text-anchor="middle" fill="#6b7280">{tick:g}</text>')
        tick += x_step
    parts.append(f'<line class="axis" x1="{_LEFT}" y1="{_TOP + plot_h}" x2="{w - _RIGHT}" y2="{_TOP + plot_h}" '
                 f'stroke="#9aa0a6"/><line class="axis" x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_TOP + plot_h}" '
                 f'stroke="#9aa0a6"/><text x="{_LEFT + plot_w / 2:.0f}" y="{h - 8}" font-size="9" '
                 f'text-anchor="middle" fill="#6b7280">{_e(chart.x_label)}</text>')
    for threshold in chart.thresholds:
        off = threshold.value not in on_scale
        ty = _TOP if off else py(threshold.value)
        label = f"{threshold.label} {chart.y_format(threshold.value)}" + (" (above the scale)" if off else "")
        parts.append(f'<line class="threshold{" off-scale" if off else ""}" x1="{_LEFT}" y1="{_fmt(ty)}" '
                     f'x2="{w - _RIGHT}" y2="{_fmt(ty)}" stroke="{threshold.colour}" stroke-width="1.2" '
                     f'stroke-dasharray="5 4"><title>{_e(label)}</title></line>'
                     f'<text x="{w - _RIGHT - 2}" y="{_fmt(ty - 3)}" font-size="9" text-anchor="end" '
                     f'fill="{threshold.colour}">{_e(label)}</text>')
    for marker in chart.markers:
        mx = px(marker.x)
        left = mx > _LEFT + plot_w * 0.6  # near the right edge the label goes to the left of the line
        parts.append(f'<line class="{_e(marker.kind)}" data-x="{marker.x:g}" x1="{_fmt(mx)}" y1="{_TOP}" '
                     f'x2="{_fmt(mx)}" y2="{_TOP + plot_h}" stroke="{marker.colour}" stroke-width="1.5">'
                     f'<title>{_e(marker.label)}</title></line>'
                     f'<text x="{_fmt(mx - 3 if left else mx + 3)}" y="{_TOP + 9}" font-size="9" '
                     f'text-anchor="{"end" if left else "start"}" fill="{marker.colour}">'
                     f'{_e(marker.label)}</text>')
    for series in chart.series:
        parts.append(_series(series, px, py, chart.y_format))
    legend_x = _LEFT
    for series in chart.series:
        dash = ' stroke-dasharray="4 3"' if series.dashed else ""
        parts.append(f'<line x1="{legend_x}" y1="24" x2="{legend_x + 14}" y2="24" stroke="{series.colour}" '
                     f'stroke-width="2"{dash}/><text x="{legend_x + 17}" y="27" font-size="9" fill="#3b4252">'
                     f"{_e(series.name)}</text>")
        legend_x += 24 + 6 * len(series.name)
    if not values:
        parts.append(f'<text class="empty" x="{_LEFT + plot_w / 2:.0f}" y="{_TOP + plot_h / 2:.0f}" font-size="11" '
                     f'text-anchor="middle" fill="#6b7280">{_e(chart.note or "no data")}</text>')
    parts.extend(chart.extra)
    parts.append("</svg>")
    return "".join(parts)


def _series(series: Series, px: Callable[[float], float], py: Callable[[float], float],
            fmt: Callable[[float], str]) -> str:
    points = [(x, y) for x, y in series.points if math.isfinite(y)]
    if not points:
        return ""
    coords: list[str] = []
    for i, (x, y) in enumerate(points):
        if series.steps and i:
            coords.append(f"{_fmt(px(x))},{_fmt(py(points[i - 1][1]))}")
        coords.append(f"{_fmt(px(x))},{_fmt(py(y))}")
    dash = ' stroke-dasharray="4 3"' if series.dashed else ""
    out = [f'<polyline class="series" data-series="{_e(series.name)}" points="{" ".join(coords)}" fill="none" '
           f'stroke="{series.colour}" stroke-width="1.8"{dash}/>']
    out += [f'<circle class="point" cx="{_fmt(px(x))}" cy="{_fmt(py(y))}" r="2.5" fill="{series.colour}">'
            f"<title>{_e(series.name)} at {x:g}: {_e(fmt(y))}</title></circle>" for x, y in points]
    return "".join(out)
