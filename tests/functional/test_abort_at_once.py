"""Issue 27: ``golive abort`` acts at once and records who, in the run whose canary it stops.

Before, abort was an event with no run and "an operator" for a name, read by the canary at its next
analysis (up to a minute later) while the canary's traffic stayed on the new version. The sandbox world
(moto's Lambda, real aliases), a real SQLite store, the engine driving a canary run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from canary_world import ENV, Harness, canary_plan

from golive.evidence.canary import OperatorCommand
from golive.runs.audit import hand_on_canary
from golive.sandbox.world import SandboxWorld

pytestmark = pytest.mark.xdist_group("abort_at_once")


@pytest.fixture(scope="module")
def world() -> Iterator[SandboxWorld]:
    world = SandboxWorld(canary_plan(), ENV, follow_release=False).start()
    try:
        yield world
    finally:
        world.stop()


def test_abort_restores_the_aliases_before_the_canary_s_next_pass_and_names_who(world: SandboxWorld,
                                                                               tmp_path: Path) -> None:
    h = Harness.open(world, tmp_path / "state.db")
    h.publish("product_lambda")
    run = h.canary_run("product_lambda")
    h.drive(run, until=h.at_weight(run, "product_lambda", 10))
    assert all(s.weights for s in h.aliases("product_lambda").values())
    stable = {fn: v["stable"] for fn, v in h.step(run, "canary.product_lambda").state["versions"].items()}

    hand_on_canary(h.services(), ENV, "product_lambda", "abort", "alice", "latency looks odd")

    # No engine pass yet: the traffic is already back on the stable versions.
    assert {fn: (s.version, s.weights) for fn, s in h.aliases("product_lambda").items()} == \
        {fn: (v, {}) for fn, v in stable.items()}
    mine = [e for e in h.store.records(OperatorCommand, run_id=run.id) if e.record.outcome == "abort"]
    assert [e.record.by for e in mine] == ["alice"]

    h.drive(run)
    assert h.store.get_run(run.id).status == "rolled_back"
    reasons = [e.data["reason"] for e in h.events(run, "rollback", "product_lambda")]
    assert reasons == ["aborted by alice: latency looks odd"]
    h.store.close()
