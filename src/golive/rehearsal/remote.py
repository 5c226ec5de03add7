"""A rehearsal runner against a sandbox daemon, so the runner can be killed and started again.

``golive rehearse`` keeps the world and the runner in one process. Here the
world is the sandbox daemon (``golive.sandbox.daemon.start_world_detached``):
AWS, GitHub, endpoints, traffic and the virtual clock live there, and this
process only drives the release, reaching the clock over HTTP
(``RemoteClock``). Killed anywhere (the chaos test uses SIGKILL) and started
again with the same store and sandbox, it continues where the run stands:
``start_or_resume`` finds the run, the engine's handlers look before they act,
and no virtual time is lost because the clock did not stop with the runner.

What a restarted runner must redo by itself: send the anchors again that its
predecessor may have placed in the store but not yet in the world (the step
started, then the kill), and open injected incidents that came due (once per
store). The faults themselves are the daemon's (its ``--inject``); pass the
same list here so the runner knows the incidents among them.

    python -m golive.rehearsal --sandbox DIR --db URL -f PLAN --env prod [--inject F]... [--until PHASE]

(``golive/rehearsal/__main__.py``: the runner as a process of its own, for the chaos test's kills.)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from golive import schedule
from golive.clock import Listener
from golive.engine.approver import AutoApprover
from golive.engine.context import Services
from golive.errors import UsageError
from golive.providers.github import GitHub
from golive.rehearsal.local import Notify, anchoring, incident_opener, placed_anchors
from golive.runs import session
from golive.sandbox import daemon
from golive.sandbox.accounts import sandbox_aws_for
from golive.sandbox.faults import ResolvedFault, parse_faults
from golive.sandbox.github_server import SANDBOX_CLIENT_TIMEOUT
from golive.sandbox.world import SANDBOX_TOKEN, RemoteClock, plan_for_world
from golive.store.statuses import RUN_FINISHED, RunStatus
from golive.store.store import Store


class ListeningClock:
    """The world's remote clock, calling listeners after each move (what ``VirtualClock.on_advance`` does)."""

    def __init__(self, remote: RemoteClock, listeners: Sequence[Listener] = ()) -> None:
        self.remote = remote
        self.listeners = list(listeners)

    def now(self) -> datetime:
        return self.remote.now()

    def sleep_until(self, when: datetime) -> None:
        old = self.remote.now()
        self.remote.sleep_until(when)
        new = self.remote.now()
        if new > old:
            for listener in self.listeners:
                listener(old, new)

    def advance(self, delta: timedelta) -> None:
        self.sleep_until(self.now() + delta)


def run_attached(plan_path: Path, env: str, sandbox_state_dir: Path, db_url: str, *, until: str | None = None,
                 faults: Sequence[str] = (), notify: Notify | None = None, holder: str | None = None,
                 accept_change: str | None = None) -> str:
    """Drive the release of ``plan_path`` against the running sandbox of ``sandbox_state_dir``; the run's status.

    With ``until``, a run still going after that phase reads ``stopped``. A store whose release run has
    already ended answers with that run's status (one rehearsal per sandbox and store).
    """
    from golive.plan.validate import load_plan

    info = daemon.status(sandbox_state_dir)
    if info is None:
        raise UsageError(f"no sandbox runs from {sandbox_state_dir} (start one: golive sandbox up --detach)")
    world_url = info.services.get("world")
    github_url = info.services.get("github")
    if world_url is None or github_url is None:
        raise UsageError(f"the sandbox of {sandbox_state_dir} is not a whole world (no world or GitHub service)")
    plan = plan_for_world(load_plan(plan_path), world_url)
    schedule.show_in(plan.tz)
    if env not in plan.environments:
        raise UsageError(f"unknown environment '{env}' (known: {', '.join(plan.environments)})")
    remote = RemoteClock(world_url, info.token)
    clock = ListeningClock(remote)
    aws_for = sandbox_aws_for(plan, info.endpoint)

    store = Store.open(db_url)
    try:
        latest = store.latest_run(plan.release, env, "release")
        if latest is not None and latest.status in RUN_FINISHED:
            # This sandbox's rehearsal already ended (a runner killed after the end is started again): its
            # world is past the release, so the answer is that run's, not a second release.
            return latest.status
        services = Services(plan=plan, store=store, clock=clock, aws_for=aws_for,
                            github=GitHub(github_url, SANDBOX_TOKEN, clock=clock, timeout=SANDBOX_CLIENT_TIMEOUT),
                            http=httpx.Client(timeout=5.0),
                            rehearsal=True, approver=AutoApprover(), extras={"workdir": str(plan_path.resolve().parent)})
        anchors = _resume_anchors(store, plan.release, env, remote)
        parsed = parse_faults(list(faults))

        def place(name: str, at: datetime) -> None:
            anchors.setdefault(name, at)
            remote.anchor(name, at)

        def resolved() -> list[ResolvedFault]:
            return [r for f in parsed if f.kind == "incident" and (r := f.resolve(anchors)) is not None]

        opener = incident_opener(resolved, store, plan, env)
        clock.listeners.append(opener)
        opener(remote.now(), remote.now())  # a predecessor may have died between the move and the opening
        services.notify = anchoring(place, clock, notify)
        # The holder is this process (engine/runner.py:default_holder): a second runner on the same sandbox
        # is refused naming the first, and a runner started again after a kill takes its dead predecessor's
        # lease at once.
        driven = session.release(services, env, wait_external=False, until_phase=until, holder=holder,
                                 accept_change=accept_change)
        status = driven.run.status
        if until is not None and RunStatus(status).active:
            status = RunStatus.STOPPED
        return status
    finally:
        store.close()


def _resume_anchors(store: Store, release: str, env: str, remote: RemoteClock) -> dict[str, datetime]:
    """The anchors of the active run's started steps, sent to the world again (it keeps the first of each)."""
    anchors: dict[str, datetime] = {}
    run = store.active_run(release, env, "release")
    if run is None:
        anchors["run"] = remote.now()
        return anchors
    anchors["run"] = run.created_at
    for name, at in placed_anchors(store, run.id).items():
        anchors[name] = at
        remote.anchor(name, at)
    return anchors

