"""The canary section of a rehearsal's HTML report, read as a person reads it: charts, one row per look, numbers folded.

One rehearsal for the module (``golive rehearse`` in a subprocess, the short
bbws plan): order's DR canary gets 8% errors (``@dr`` anchors the fault at
the DR batch, so the primary canaries promote after their bakes and the DR
ones roll back). Expected values come from the store the rehearsal wrote,
not from the report code: the minute of each rollback, the count of
analyses of each canary step.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from golive.store.store import Event, Store
from short_plan import write_short_plan

CHROMIUM = Path("/usr/bin/chromium")
FAULT = "order_lambda:error_rate=8%@dr"
SECTION = re.compile(r'<section class="canary" data-project="([^"]+)" data-region="([^"]+)">(.*?)</section>', re.S)


@dataclass(frozen=True)
class Rehearsed:
    html: str
    markdown: str
    events: list[Event]
    out: Path


@pytest.fixture(scope="module")
def rehearsed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsed]:
    root = tmp_path_factory.mktemp("view")
    plan = write_short_plan(root / "plan")
    out = root / "out"
    done = subprocess.run([sys.executable, "-m", "golive", "rehearse", "-f", str(plan), "--out", str(out),
                           "--inject", FAULT], check=False, capture_output=True, text=True, timeout=600)
    assert (out / "report.html").exists(), done.stderr[-2000:]
    store = Store.open(f"sqlite:///{out / 'rehearsal.db'}")
    try:
        events = [e for e in store.events() if e.kind in ("canary", "rollback")]
    finally:
        store.close()
    yield Rehearsed((out / "report.html").read_text(encoding="utf-8"), (out / "report.md").read_text(encoding="utf-8"),
                    events, out)


def _sections(html: str) -> dict[tuple[str, str], str]:
    return {(project, region): body for project, region, body in SECTION.findall(html)}


def _svgs(body: str) -> list[ET.Element]:
    return [ET.fromstring(s) for s in re.findall(r"<svg\b.*?</svg>", body, flags=re.S)]


def _step_of(project: str, region: str) -> str:
    return f"canary.{project}" + ("@dr" if region == "eu-west-1" else "")


def test_one_chart_set_per_canary_and_region_with_the_rollback_where_the_store_has_it(rehearsed: Rehearsed) -> None:
    sections = _sections(rehearsed.html)
    steps = sorted({e.step_key for e in rehearsed.events if e.step_key and e.step_key.startswith("canary.")})
    # three APIs, each in af-south-1 and in its DR region, and the site's CloudFront canary (global: one)
    assert len(steps) == 7 and len(sections) == 7
    assert {_step_of(p, r) for p, r in sections} == set(steps)
    rolled_back = []
    looks = 0
    for (project, region), body in sections.items():
        step = _step_of(project, region)
        mine = [e for e in rehearsed.events if e.step_key == step]
        charts = _svgs(body)
        assert [c.get("class") for c in charts] == ["canary-chart weight", "canary-chart errors", "canary-chart p95"]
        assert all(project in (c.findtext("title") or "") and (c.findtext("title") or "") for c in charts)
        rollbacks = [e for e in mine if e.kind == "rollback"]
        markers = [line for c in charts for line in c.iter("line") if line.get("class") == "rollback"]
        if rollbacks:
            rolled_back.append((project, region))
            minute = (rollbacks[0].at - mine[0].at).total_seconds() / 60
            assert len(markers) == 3
            assert all(float(m.get("data-x") or "nan") == pytest.approx(minute, abs=0.01) for m in markers)
        else:
            assert markers == []
        analyses = [e for e in mine if e.kind == "canary" and e.outcome == "analysis"]
        assert body.count('<tr class="analysis') == len(analyses)
        assert body.count("<details") == 1 and f"{len(analyses)} analyses" in body
        looks += len(analyses)
    assert looks >= 20  # the primary canaries baked at 10% and 50%
    assert ("order_lambda", "eu-west-1") in rolled_back
    assert ("order_lambda", "af-south-1") not in rolled_back  # the fault waited for the DR batch


def test_the_faulty_canary_crosses_the_trigger_and_the_stable_version_does_not(rehearsed: Rehearsed) -> None:
    body = _sections(rehearsed.html)[("order_lambda", "eu-west-1")]
    errors = _svgs(body)[1]
    threshold = next(line for line in errors.iter("line") if "threshold" in (line.get("class") or ""))
    assert "5%" in (threshold.findtext("title") or "")
    line_y = float(threshold.get("y1") or "nan")
    canary = [float(c.get("cy") or "nan") for c in errors.iter("circle") if "canary at" in "".join(c.itertext())]
    stable = [float(c.get("cy") or "nan") for c in errors.iter("circle") if "stable at" in "".join(c.itertext())]
    assert canary and stable
    assert min(canary) < line_y < min(stable)  # higher on the page is a larger value
    failed = re.findall(r'<tr class="analysis fail">(.*?)</tr>', body, flags=re.S)
    assert failed and "errors on" in failed[-1] and re.search(r"p=[0-9.e+-]+ &lt; [0-9.e+-]+", failed[-1])


def test_healthy_canaries_show_the_tail_count_against_what_the_test_allows(rehearsed: Rehearsed) -> None:
    body = _sections(rehearsed.html)[("product_lambda", "af-south-1")]
    tail = _svgs(body)[2]
    assert "canary calls above stable p95 ×1.1" in (tail.findtext("title") or "")

    def points(name: str) -> dict[str, float]:
        found = {}
        for circle in tail.iter("circle"):
            text = "".join(circle.itertext())
            if text.startswith(f"{name} at "):
                at, value = text.removeprefix(f"{name} at ").split(": ")
                found[at] = float(value.replace(",", ""))
        return found

    above, allowed = points("canary calls above"), points("allowed")
    assert len(above) >= 3 and set(above) == set(allowed)
    assert all(above[at] <= allowed[at] for at in above), (above, allowed)  # promoted: never more than allowed
    assert "more than allowed rolls back" in body and "tolerance ×" not in body


def test_the_markdown_has_the_compact_rows_and_no_chart(rehearsed: Rehearsed) -> None:
    md = rehearsed.markdown
    assert "<svg" not in md
    section = md.split("### order_lambda (eu-west-1): rolled_back", 1)[1].split("###", 1)[0]
    analyses = [e for e in rehearsed.events if e.step_key == "canary.order_lambda@dr" and e.outcome == "analysis"]
    rows = [line for line in section.splitlines() if line.startswith("| +")]
    assert len([r for r in rows if "| Failed" in r or "| Inconclusive" in r or "| Successful" in r]) == len(analyses)
    assert any("| rolled_back |" in r for r in rows)


@pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"), reason="Debian's chromium is not installed")
def test_the_section_in_headless_chromium(rehearsed: Rehearsed, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1240, "height": 900})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: errors.append(f"fetched {r.url}") if not r.url.startswith("file:") else None)
            page.goto((rehearsed.out / "report.html").as_uri())
            section = page.locator('section.canary[data-project="order_lambda"][data-region="eu-west-1"]')
            assert section.locator("svg").count() == 3
            for i in range(3):
                box = section.locator("svg").nth(i).bounding_box()
                assert box is not None and box["width"] > 200 and box["height"] > 100
            assert section.locator("svg polyline.series").first.is_visible()
            marker = section.locator("line.rollback").first.bounding_box()  # a vertical line: no width
            assert marker is not None and marker["height"] > 100
            assert section.locator("table.results").first.is_hidden()  # folded in <details>
            shot = tmp_path / "canary-section.png"
            section.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000
            section.locator("details summary").click()
            assert section.locator("table.results").first.is_visible()
            assert errors == []
        finally:
            browser.close()

# The module-scoped fixture is built once: every test of this module runs on one xdist worker.
pytestmark = pytest.mark.xdist_group("report_view")
