"""Run statuses: which are active, which failed, and the exit code a command ends with after each."""

from __future__ import annotations

from golive.store.statuses import RUN_ACTIVE, RUN_FAILED, RUN_FINISHED, RunStatus, exit_code_of


def test_every_status_is_active_or_finished_exactly_once() -> None:
    stored = [s for s in RunStatus if s is not RunStatus.STOPPED]
    assert sorted(RUN_ACTIVE + RUN_FINISHED) == sorted(s.value for s in stored)
    assert not set(RUN_ACTIVE) & set(RUN_FINISHED)


def test_exit_codes() -> None:
    assert {s: exit_code_of(s) for s in RUN_FAILED} == dict.fromkeys(RUN_FAILED, 1)
    assert exit_code_of("succeeded") == 0
    assert exit_code_of("stopped") == 0  # a rehearsal stopped where --until said
    assert exit_code_of("something newer") == 1
    assert RunStatus("no_go").failed and not RunStatus("waiting").failed and RunStatus("waiting").active
