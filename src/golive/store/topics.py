"""Which stored events people are told about, and under which topic.

A plan's sink subscribes to topics (``gate``, ``rollback``...); the store
asks ``topic_of`` for every event it writes, and only events with a topic
enter the outbox.
"""

from __future__ import annotations

from typing import Any

from golive.store.statuses import RUN_FAILED, RunStatus

TOPICS = ("gate", "checkpoint_failed", "canary_step", "rollback", "release_done", "release_failed")



def topic_of(kind: str, outcome: str | None, data: dict[str, Any]) -> str | None:
    if kind == "gate" and outcome in ("GO", "NO-GO", "fail"):
        return "gate"
    if kind == "checkpoint" and outcome == "fail":
        return "checkpoint_failed"
    if kind == "canary" and (outcome in ("shifted", "promoted") or data.get("choice") == "pause"):
        return "canary_step"
    if kind == "rollback":
        return "rollback"
    if kind == "run" and outcome == RunStatus.SUCCEEDED:
        return "release_done"
    if kind == "run" and outcome in RUN_FAILED:
        return "release_failed"
    return None
