"""The page in a real browser (Playwright driving Debian's /usr/bin/chromium; nothing downloads a browser).

One test watches a rehearsal as a team would: ``golive rehearse --sandbox D``
in one process, ``golive serve`` on its store in another, the page open in
Chromium: the canary's weight moves on the page, the gate's reasons show,
and ``/metrics`` carries the weight during a bake. The other signs in as a
devops and then a tech_lead user, clicks the tech_lead approval (refused,
then taken: the gate goes GO), signs off, aborts a canary, opens and
resolves an incident from the page's forms, and restarts the server under
the open page: the event stream reconnects and the page shows what was
recorded meanwhile.
Screenshots go to the test's tmp_path; the test prints their paths.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from golive.evidence.terraform import TerraformPlanSummary
from golive.examples import example_path
from golive.plan.validate import load_plan
from golive.store.store import Store
from loopback import free_port
from serve_helpers import Served, users_file
from watch_plan import sandbox_up, write_watch_plan

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                                reason="Debian's chromium is not installed (.ci/run installs it)")


def _clean_env() -> dict[str, str]:
    """A user's shell: nothing of AWS, GitHub or golive from the test's environment."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GOLIVE_", "GITHUB_"))}


def _weights(metrics: str) -> list[float]:
    return [float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
            if line.startswith("golive_canary_weight_percent{")]


@pytest.mark.extended
def test_the_weight_moves_and_the_gate_reasons_show_while_a_rehearsal_runs(browser: object, tmp_path: Path) -> None:
    """The Done-when line as typed: ``golive rehearse --sandbox D`` in one terminal, ``golive serve`` in another."""
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    plan = write_watch_plan(tmp_path / "plan")
    state = tmp_path / "sandbox"
    env = _clean_env()
    sandbox_up(plan, state, env)
    db = state / "rehearsal.db"
    server: Served | None = None
    rehearsal: subprocess.Popen[bytes] | None = None
    try:
        rehearsal = subprocess.Popen([sys.executable, "-m", "golive", "-f", str(plan), "rehearse", "--sandbox", str(state),
                                      "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        deadline = time.monotonic() + 300
        while not db.exists():
            assert time.monotonic() < deadline and rehearsal.poll() is None, "the rehearsal made no store"
            time.sleep(0.1)
        server = Served(plan, f"sqlite:///{db}", free_port(), log=tmp_path / "serve.log").start()
        page = browser.new_page()
        page.goto(server.url + "/?release=bbws")
        page.wait_for_selector("#live.on", timeout=30_000)
        seen: dict[str, list[float]] = {}
        baking: list[float] = []  # canary weights /metrics reported while a canary baked between 0 and 100 %
        while rehearsal.poll() is None and time.monotonic() < deadline:
            shown = page.eval_on_selector_all(".canary .weight", "els => els.map(e => [e.closest('.canary')"
                                              ".dataset.step, parseFloat(e.dataset.weight)])")
            for step, value in shown:
                if not seen.get(step) or seen[step][-1] != value:
                    seen.setdefault(step, []).append(value)
                    if 0 < value < 100 and not any(0 < w < 100 for w in baking):
                        baking = _weights(httpx.get(server.url + "/metrics", timeout=10).text)
            time.sleep(0.05)
        assert rehearsal.wait(timeout=60) == 0, rehearsal.stderr.read() if rehearsal.stderr else ""
        moving = {step: w for step, w in seen.items() if len(w) >= 2 and any(0 < x < 100 for x in w)}
        assert moving, f"the page never showed a weight between 0 and 100 % change under the eye: {seen}"
        assert any(0 < w < 100 for w in baking), f"/metrics never showed a canary mid-bake: {baking}"
        page.wait_for_selector('.canary[data-step="canary.product_lambda"] .weight[data-weight="100"]', timeout=15_000)
        history = page.get_attribute('.canary[data-step="canary.product_lambda"]', "data-weights") or ""
        assert history.split() == ["10", "50", "100"], history
        card = page.locator('.canary[data-step="canary.product_lambda"]')
        versus = card.locator('figure.series[data-series*="canary vs stable"]')
        assert versus.count() >= 1, card.inner_html()
        assert (versus.first.get_attribute("data-values") or "").split(), "canary against stable has no points"
        assert card.locator('figure.series[data-series^="error_rate"] path[stroke-dasharray]').count() == 1
        decided = page.locator('.gate[data-gate="go_no_go"][data-live="false"]')
        assert decided.locator(".verdict").inner_text() == "GO"
        assert "preflight: passed" in decided.inner_text()
        assert "approval tech_lead" in decided.inner_text()
        # The gate step decided: the page shows that decision, not a live evaluation beside it.
        assert page.locator('.gate[data-gate="go_no_go"][data-live="true"]').count() == 0
        shot = tmp_path / "rehearsal.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}")
    finally:
        if rehearsal is not None and rehearsal.poll() is None:
            rehearsal.kill()
            rehearsal.wait()
        if server is not None:
            server.stop()
        subprocess.run([sys.executable, "-m", "golive", "sandbox", "down", "-f", str(plan), "--state-dir", str(state)],
                       capture_output=True, env=env, timeout=60, check=False)


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
    # What a run records before its gate: each schema project's Terraform plan at the tag (no data changes here).
    plan = load_plan(example_path("bbws"))
    for project, spec in plan.projects.items():
        if spec.terraform is not None:
            store.append_record(TerraformPlanSummary(
                subject=project, outcome="no_data_changes", project=project, sha256=f"{len(project):02d}" * 32,
                tag=plan.version, source="test", format_version="1.2", creates=1, approver=spec.terraform.approver),
                release="bbws", env="prod", at=now)
    store.create_run("bbws", "prod", "release", "x", [], now)
    port = free_port()
    users = str(users_file(tmp_path))
    server = Served(example_path("bbws"), url, port, "--users", users, log=tmp_path / "serve.log").start()
    page = browser.new_page()
    try:
        page.goto(server.url + "/?release=bbws")
        page.wait_for_selector("#live.on", timeout=30_000)
        gate = page.locator('.gate[data-gate="go_no_go"][data-live="true"]')
        assert gate.locator(".verdict").inner_text() == "WAITING"  # only approvals missing

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

        def submit(action: str, **fields: str) -> None:
            form = page.locator(f'form[data-action="{action}"]')
            for name, value in fields.items():
                if name == "severity":
                    form.locator('select[name="severity"]').select_option(value)
                else:
                    form.locator(f'[name="{name}"]').fill(value)
            form.locator("button").click()
            page.wait_for_selector(f"#flash:has-text('{action} recorded')", timeout=15_000)

        submit("signoff", role="tech_lead", note="smoke tests green")
        submit("abort", project="product_lambda", why="error budget burning")
        submit("incident_open", severity="P2", title="checkout slow from the page")
        page.locator("#incidents button[data-resolve]").click()
        page.wait_for_selector("#flash:has-text('incident_resolve recorded')", timeout=15_000)
        page.wait_for_selector("#incidents tr:has-text('checkout slow from the page') .resolved", timeout=15_000)
        # The stream refreshes the actions table after the incidents table: wait for its last row.
        page.wait_for_selector("#actions :text('incident_resolve')", timeout=15_000)
        actions = page.locator("#actions").inner_text()
        for action in ("signoff", "abort", "incident_open", "incident_resolve"):
            assert f"{action}\ttom\t127.0.0.1\trecorded" in actions, actions
        operator = store.events(kind="operator")
        assert [(e.subject, e.outcome, e.data["by"], e.data["why"]) for e in operator] == \
            [("product_lambda", "abort", "tom", "error budget burning")]
        assert [(a.gate, a.by, a.role, a.note) for a in store.approvals("bbws", "prod", "signoff")] == \
            [("signoff", "tom", "tech_lead", "smoke tests green")]
        assert [(i.severity, i.status) for i in store.incidents("bbws")] == [("P2", "resolved")]

        server.stop()
        page.wait_for_selector("#live.off", timeout=15_000)
        store.open_incident("bbws", "prod", "P3", "recorded while the server was down", datetime.now(UTC))
        server = Served(example_path("bbws"), url, port, "--users", users, log=tmp_path / "serve.log").start()
        page.wait_for_selector("#live.on", timeout=30_000)
        page.wait_for_selector("#incidents:has-text('recorded while the server was down')", timeout=15_000)
        shot = tmp_path / "after-restart.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}")
    finally:
        page.close()
        server.stop()
        store.close()
