"""One active run per release, environment and kind, enforced by the database.

A partial unique index over the active statuses: two processes that start the
same release at the same instant both insert, and the database lets exactly
one of them win (``runs/release.py:start_or_resume`` reads the winner). A
store written before this revision may already hold two active runs of one
key (the race this closes); all but the newest are ended as ``aborted`` so the
index can be built.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"

ACTIVE = ("pending", "running", "waiting", "failing")


def upgrade() -> None:
    runs = sa.table("runs", sa.column("id", sa.Integer), sa.column("release", sa.String),
                    sa.column("env", sa.String), sa.column("kind", sa.String), sa.column("status", sa.String),
                    sa.column("reason", sa.Text))
    conn = op.get_bind()
    newest: dict[tuple[str, str, str], int] = {}
    stale: list[int] = []
    rows = conn.execute(sa.select(runs.c.id, runs.c.release, runs.c.env, runs.c.kind)
                        .where(runs.c.status.in_(ACTIVE)).order_by(runs.c.id.desc()))
    for row in rows:
        key = (row.release, row.env, row.kind)
        if key in newest:
            stale.append(row.id)
        else:
            newest[key] = row.id
    if stale:
        conn.execute(runs.update().where(runs.c.id.in_(stale))
                     .values(status="aborted", reason="a second active run of the same release (schema 0002)"))
    active = sa.text("status IN ('pending', 'running', 'waiting', 'failing')")
    op.create_index("uq_runs_one_active", "runs", ["release", "env", "kind"], unique=True,
                    sqlite_where=active, postgresql_where=active)


def downgrade() -> None:
    op.drop_index("uq_runs_one_active", table_name="runs")
