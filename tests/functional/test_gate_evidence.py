"""Issue 27: the gate trusts no preflight that a command has since made stale, and never ticks a failing item.

After ``golive secrets set`` (or ``golive tag``) the last preflight no longer says what is true: the gate
must run it again. ``golive gate`` by hand is followed by no prep, so a preflight with items left to prep
is not a ✓ there. A real SQLite store and the example plan.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from golive.evidence.checks import Preflight
from golive.evidence.runs import SecretSet
from golive.examples import example_path
from golive.plan.validate import load_plan
from golive.steps.gate import by_hand, evaluate_gate
from golive.store.store import Store

T0 = datetime(2026, 1, 9, 19, 0, tzinfo=UTC)
MISSING = "github_secrets BigBeardWebSolutions/2_1_bbws_dynamodb_schemas: missing: AWS_ROLE_PROD"


def _preflight(store: Store, release: str) -> None:
    store.append_record(Preflight(subject="preflight prod", outcome="warn", total=20, passed=16, fixable=(MISSING,)),
                        release=release, env="prod", at=T0)


def _item(store: Store, at: datetime, *, hand: bool = False) -> tuple[bool, bool, str]:
    plan = load_plan(example_path("bbws"))
    decision = evaluate_gate(store, plan, "go_no_go", "prod", at)
    if hand:
        decision = by_hand(decision)
    item = next(i for i in decision.items if i.name == "preflight")
    return item.ok, item.refreshable, item.detail


def test_a_secret_set_after_the_preflight_makes_the_gate_run_it_again(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    release = load_plan(example_path("bbws")).release
    _preflight(store, release)
    ok, refresh, _ = _item(store, T0 + timedelta(minutes=1))
    assert ok and not refresh

    store.append_record(SecretSet(subject="x AWS_ROLE_PROD", repo="x", name="AWS_ROLE_PROD", origin="plan"),
                        release=release, env="prod", at=T0 + timedelta(minutes=2))
    ok, refresh, detail = _item(store, T0 + timedelta(minutes=3))
    assert (ok, refresh) == (False, True)
    assert "predates secrets set since: AWS_ROLE_PROD" in detail
    store.close()


def test_golive_gate_by_hand_does_not_tick_a_preflight_with_items_left_to_prep(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    _preflight(store, load_plan(example_path("bbws")).release)
    ok, _, detail = _item(store, T0 + timedelta(seconds=46))
    assert ok and "left to prep" in detail  # in a release run, prep follows the gate and sets the secret
    ok, _, detail = _item(store, T0 + timedelta(seconds=46), hand=True)
    assert not ok and "AWS_ROLE_PROD" in detail
    store.close()
