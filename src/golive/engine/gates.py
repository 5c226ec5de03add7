"""Gates: approvals recorded by people, and the GO / NO-GO decision.

An approval is only accepted for a gate the plan has (or ``signoff``) and,
when the gate lists roles, for one of those roles: a typo in ``--role``
must not silently leave the gate closed.
"""

from __future__ import annotations

from datetime import datetime

from golive.errors import UnknownNameError, UsageError
from golive.plan.model import Plan
from golive.store.store import Store


def gate_roles(plan: Plan, gate: str) -> list[str]:
    if gate == "signoff":
        return list(plan.signoff)
    if gate not in plan.gates:
        raise UnknownNameError("gate", gate, [*plan.gates, "signoff"])
    return list(plan.gates[gate].approvals)


def record_approval(store: Store, plan: Plan, gate: str, env: str, by: str, role: str | None, note: str | None,
                    now: datetime) -> int:
    roles = gate_roles(plan, gate)
    if roles and role is None:
        raise UsageError(f"gate '{gate}' needs approvals by role ({', '.join(roles)}): add --role ROLE")
    if roles and role not in roles:
        raise UsageError(f"gate '{gate}' takes no approval from role '{role}' (roles: {', '.join(roles)})")
    approval_id = store.add_approval(plan.release, env, gate, by, role, note, now)
    store.append_event(release=plan.release, env=env, kind="approval", subject=gate, outcome="approved", at=now,
                       data={"by": by, "role": role, "note": note, "approval": approval_id})
    return approval_id
