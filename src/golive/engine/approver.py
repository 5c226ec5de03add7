"""Who answers a step that waits for approvals: people through the store, or the rehearsal itself.

An approval step or a gate asks its approver for the roles still missing. ``StoreApprover`` (the default)
grants nothing: people approve with ``golive approve`` or the dashboard, and the step waits as stored
state. ``AutoApprover`` is what a rehearsal passes in: it records each missing approval as granted by the
rehearsal (marked so in the store and the report). The approver is injected with the services, so no
handler asks whether it runs in a rehearsal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from golive.store.store import Store


class Approver(Protocol):
    # Whether people answer (a gate waits for them); a rehearsal grants roles but never a data-losing Terraform
    # plan, so without people such a plan's missing approval ends the gate NO-GO instead of waiting forever.
    people: bool

    def settle(self, store: Store, release: str, env: str, gate: str, missing: Sequence[str],
               now: datetime) -> list[str]:
        """The roles of ``missing`` still without an approval once this approver has had its say."""


class StoreApprover:
    """Approvals come from people, through the store: nothing is granted here."""

    people = True

    def settle(self, store: Store, release: str, env: str, gate: str, missing: Sequence[str],
               now: datetime) -> list[str]:
        return list(missing)


class AutoApprover:
    """A rehearsal's approvals: each missing role granted at once, recorded as the rehearsal's."""

    people = False

    def settle(self, store: Store, release: str, env: str, gate: str, missing: Sequence[str],
               now: datetime) -> list[str]:
        for role in missing:
            store.add_approval(release, env, gate, f"rehearsal-{role}", role, "granted by the rehearsal", now,
                               rehearsal=True)
        return []
