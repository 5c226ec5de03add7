"""The SVG chart builder: scales that fit the data and thresholds, and charts that draw with little or no data."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest

from golive.report.charts import THRESHOLD_REACH, Chart, Marker, Series, Threshold, nice_step, svg, y_scale


def _tree(chart: Chart) -> ET.Element:
    return ET.fromstring(svg(chart))  # well-formed XML, not only browser-tolerated HTML


def _y_of(root: ET.Element, css: str) -> float:
    line = next(e for e in root.iter("line") if css in (e.get("class") or "").split())
    return float(line.get("y1") or "nan")


@pytest.mark.parametrize(("span", "step"), [(1.0, 0.25), (0.09, 0.025), (7.0, 2.0), (430.0, 200.0), (100.0, 25.0)])
def test_tick_steps_are_round(span: float, step: float) -> None:
    assert nice_step(span) == pytest.approx(step)


def test_the_scale_covers_the_data_and_a_threshold_just_above_it() -> None:
    top, step, on_scale = y_scale([0.01, 0.03, 0.02], [0.05])
    assert top >= 0.05 and on_scale == (0.05,)
    assert math.isclose(top / step, round(top / step))  # the top is a tick


def test_a_threshold_far_above_the_data_is_off_the_scale_and_drawn_at_the_top_edge() -> None:
    values = [0.001, 0.002]
    far = 0.002 * THRESHOLD_REACH * 2
    top, _, on_scale = y_scale(values, [far])
    assert on_scale == () and top < far and top >= 0.002
    root = _tree(Chart("errors", [Series("canary", [(0, 0.001), (1, 0.002)])], thresholds=[Threshold("trigger", far)]))
    threshold = next(e for e in root.iter("line") if "threshold" in (e.get("class") or ""))
    assert "off-scale" in (threshold.get("class") or "")
    assert float(threshold.get("y1") or 0) == pytest.approx(34)  # the plot's top edge
    assert "above the scale" in svg(Chart("e", [Series("c", [(0, 0.001)])], thresholds=[Threshold("t", far)]))


def test_a_threshold_below_the_data_is_drawn_below_every_point() -> None:
    root = _tree(Chart("p95", [Series("ratio", [(0, 1.4), (1, 1.6)])], thresholds=[Threshold("tolerance", 0.2)]))
    ty = _y_of(root, "threshold")
    ys = [float(c.get("cy") or 0) for c in root.iter("circle")]
    assert ys and all(y < ty for y in ys)  # smaller y is higher on the page


def test_an_empty_chart_draws_its_axes_and_says_there_is_no_data() -> None:
    root = _tree(Chart("p95, canary ÷ stable", [Series("ratio", [])], note="no p95 comparison recorded"))
    assert root.findtext("title") == "p95, canary ÷ stable"
    assert "no p95 comparison recorded" in "".join(root.itertext())
    assert not list(root.iter("polyline")) and not list(root.iter("circle"))
    assert y_scale([], []) == (1.0, 0.25, ())


def test_an_empty_chart_with_a_threshold_puts_the_threshold_on_the_scale() -> None:
    top, _, on_scale = y_scale([], [0.05])
    assert on_scale == (0.05,) and top >= 0.05


def test_one_point_draws_a_marker_without_dividing_by_a_zero_x_span() -> None:
    root = _tree(Chart("errors", [Series("canary", [(3.0, 0.02)])]))
    (point,) = root.iter("circle")
    x, y = float(point.get("cx") or "nan"), float(point.get("cy") or "nan")
    assert math.isfinite(x) and math.isfinite(y)
    assert "canary at 3: 0.02" in "".join(point.itertext())


def test_points_and_markers_land_where_their_values_are() -> None:
    chart = Chart("weight", [Series("weight", [(0, 0.0), (10, 50.0), (20, 100.0)], steps=True)], y_max=100.0,
                  x_range=(0, 20), markers=[Marker("rollback at +15 min", 15, kind="rollback")], width=400, height=200)
    root = _tree(chart)
    xs = [float(c.get("cx") or 0) for c in root.iter("circle")]
    ys = [float(c.get("cy") or 0) for c in root.iter("circle")]
    assert xs[1] - xs[0] == pytest.approx(xs[2] - xs[1])  # linear in x
    assert ys[0] - ys[1] == pytest.approx(ys[1] - ys[2])  # linear in y, 0 at the bottom
    rollback = next(e for e in root.iter("line") if e.get("class") == "rollback")
    assert float(rollback.get("x1") or 0) == pytest.approx(xs[0] + (xs[2] - xs[0]) * 0.75)
    assert rollback.findtext("title") == "rollback at +15 min"
    staircase = next(root.iter("polyline")).get("points") or ""
    assert len(staircase.split()) == 5  # each change drawn as a step: hold, then jump


def test_text_is_escaped() -> None:
    text = svg(Chart("a <b> & c", [Series('x"y', [(0, 1.0)])]))
    assert "<b>" not in text and "a &lt;b&gt; &amp; c" in text
    assert re.search(r'data-series="x&quot;y"', text)
