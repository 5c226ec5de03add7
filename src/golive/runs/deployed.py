"""Which projects of a release are deployed in an environment, from the store's evidence.

A project is deployed when a deploy of it succeeded in this release, version and environment (a ``deploy``
record with outcome ``pass``, written by ``golive deploy``, ``golive run`` or a rehearsal against this
store, in a run started for the plan's version). The world is not asked: a bucket may exist from an earlier
release, and what ``verify`` must know is whether this release's deploy ran. A project deployed outside
golive therefore counts as not deployed.
"""

from __future__ import annotations

from golive.evidence.runs import DeployFinished, RunNote
from golive.plan.model import Plan
from golive.store.store import Store


def deployed_projects(store: Store, plan: Plan, env: str) -> set[str]:
    versions = {e.run_id: e.record.plan_version for e in store.records(RunNote, release=plan.release, env=env)
                if e.record.outcome == "started"}
    found = {e.record.project or e.record.subject
             for e in store.records(DeployFinished, release=plan.release, env=env)
             if e.record.outcome == "pass" and versions.get(e.run_id) in (None, plan.version)}
    return found & set(plan.projects)
