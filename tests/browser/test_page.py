"""The page in a real browser (Playwright driving Debian's /usr/bin/chromium; nothing downloads a browser).

One test watches a rehearsal as a team would: ``golive rehearse --speed`` in
one process, ``golive serve`` on its store in another, the page open in
Chromium: the canary's weight moves on the page, the gate's reasons show,
and ``/metrics`` carries the weight during a bake. The other signs in as a
devops and then a tech_lead user, clicks the tech_lead approval (refused,
then taken: the gate goes GO), and restarts the server under the open page:
the event stream reconnects and the page shows what was recorded meanwhile.
Screenshots are kept in test-output/browser/.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from golive.examples import example_path
from golive.store.store import Store
from loopback import free_port
from serve_helpers import Served, users_file
from watch_plan import write_watch_plan

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).parents[2] / "test-output" / "browser"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                                reason="Debian's chromium is not installed (.ci/run installs it)")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.mark.extended
def test_the_weight_moves_and_the_gate_reasons_show_while_a_rehearsal_runs(browser: object, tmp_path: Path) -> None:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    plan = write_watch_plan(tmp_path / "plan")
    out = tmp_path / "out"
    db = out / "rehearsal.db"
    rehearsal = subprocess.Popen([sys.executable, "-m", "golive", "rehearse", "-f", str(plan), "--out", str(out),
                                  "--speed", "60", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    server: Served | None = None
    try:
        deadline = time.monotonic() + 300
        while not db.exists():
            assert time.monotonic() < deadline and rehearsal.poll() is None, "the rehearsal made no store"
            time.sleep(0.2)
        server = Served(plan, f"sqlite:///{db}", free_port(), log=tmp_path / "serve.log").start()
        page = browser.new_page()
        page.goto(server.url + "/?release=bbws")
        page.wait_for_selector("#live.on", timeout=30_000)
        seen: list[float] = []
        metrics_during_bake = ""
        while (not seen or seen[-1] < 100) and time.monotonic() < deadline + 300:
            weight = page.locator('.canary[data-project="product_lambda"] .weight')
            if weight.count():
                value = float(weight.get_attribute("data-weight") or "0")
                if not seen or seen[-1] != value:
                    seen.append(value)
                    if 0 < value < 100 and not metrics_during_bake:
                        metrics_during_bake = httpx.get(server.url + "/metrics", timeout=10).text
                        page.screenshot(path=str(tmp_path / "bake.png"), full_page=True)
            time.sleep(0.1)
        assert rehearsal.wait(timeout=400) == 0, rehearsal.stderr.read() if rehearsal.stderr else ""
        assert len(seen) >= 2 and seen[-1] == 100 and any(0 < w < 100 for w in seen), \
            f"the page never showed the weight moving: {seen}"
        assert 'golive_canary_weight_percent{env="prod",project="product_lambda",release="bbws"}' in metrics_during_bake
        decided = page.locator('.gate[data-gate="go_no_go"][data-live="false"]')
        assert decided.locator(".verdict").inner_text() == "GO"
        assert "preflight: passed" in decided.inner_text()
        assert "approval tech_lead" in decided.inner_text()
        assert page.locator('.canary[data-project="product_lambda"] svg path').count() == 1
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "rehearsal.png"), full_page=True)
        if (tmp_path / "bake.png").exists():
            (SHOTS / "rehearsal-bake.png").write_bytes((tmp_path / "bake.png").read_bytes())
    finally:
        if rehearsal.poll() is None:
            rehearsal.kill()
            rehearsal.wait()
        if server is not None:
            server.stop()


def test_approvals_by_role_in_the_browser_and_the_stream_reconnects_after_a_restart(browser: object,
                                                                                    tmp_path: Path) -> None:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = Store.open(url)
    now = datetime.now(UTC)
    store.append_event(release="bbws", env="prod", kind="soak", subject="sit soak", outcome="pass", at=now,
                       data={"env": "sit", "checkpoints": 8})
    store.append_event(release="bbws", env="prod", kind="preflight", subject="preflight prod", outcome="pass", at=now,
                       data={"blocking": [], "fixable": []})
    store.create_run("bbws", "prod", "release", "x", [], now)
    port = free_port()
    users = str(users_file(tmp_path))
    server = Served(example_path("bbws"), url, port, "--users", users, log=tmp_path / "serve.log").start()
    page = browser.new_page()
    try:
        page.goto(server.url + "/?release=bbws")
        page.wait_for_selector("#live.on", timeout=30_000)
        gate = page.locator('.gate[data-gate="go_no_go"][data-live="true"]')
        assert gate.locator(".verdict").inner_text() == "NO-GO"

        def sign_in(user: str, password: str) -> None:
            page.fill("#login input[name=user]", user)
            page.fill("#login input[name=password]", password)
            page.click("#login button")
            page.wait_for_selector(f"#me:has-text('{user}')", timeout=15_000)

        sign_in("dana", "dana-pw")
        gate.locator('button[data-role="tech_lead"]').click()
        page.wait_for_selector("#flash:has-text('does not hold the role')", timeout=15_000)
        gate.locator('button[data-role="devops"]').click()
        page.wait_for_selector('.gate[data-live="true"] li.ok:has-text("approval devops")', timeout=15_000)
        page.context.clear_cookies()
        page.reload()
        sign_in("tom", "tom-pw")
        gate.locator('button[data-role="tech_lead"]').click()
        page.wait_for_selector('.gate[data-live="true"] .verdict.GO', timeout=15_000)
        assert "refused" in page.locator("#actions").inner_text()

        server.stop()
        page.wait_for_selector("#live.off", timeout=15_000)
        store.open_incident("bbws", "prod", "P3", "recorded while the server was down", datetime.now(UTC))
        server = Served(example_path("bbws"), url, port, "--users", users, log=tmp_path / "serve.log").start()
        page.wait_for_selector("#live.on", timeout=30_000)
        page.wait_for_selector("#incidents:has-text('recorded while the server was down')", timeout=15_000)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "approvals.png"), full_page=True)
    finally:
        page.close()
        server.stop()
        store.close()
