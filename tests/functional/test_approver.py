"""The injected approvers against a real store: people's approvals only, or the rehearsal's own."""

from __future__ import annotations

from datetime import UTC, datetime

from golive.engine.approver import AutoApprover, StoreApprover
from golive.store.store import Store

T0 = datetime(2026, 1, 8, 18, 0, tzinfo=UTC)


def test_the_store_approver_grants_nothing(store: Store) -> None:
    assert StoreApprover().settle(store, "r", "prod", "go_no_go", ["devops"], T0) == ["devops"]
    assert store.approvals("r", "prod", "go_no_go") == []


def test_the_auto_approver_records_each_missing_role_as_the_rehearsal(store: Store) -> None:
    assert AutoApprover().settle(store, "r", "prod", "go_no_go", ["devops", "tech_lead"], T0) == []
    got = store.approvals("r", "prod", "go_no_go")
    assert [(a.by, a.role, a.rehearsal, a.at) for a in got] == [("rehearsal-devops", "devops", True, T0),
                                                                 ("rehearsal-tech_lead", "tech_lead", True, T0)]
