"""The first schema: runs, steps, events, approvals, incidents, leases."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from golive.store.tables import JsonType, UtcDateTime

revision = "0001"
down_revision: str | None = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("release", sa.String(200), nullable=False),
        sa.Column("env", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("plan_digest", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("ended_at", UtcDateTime),
        sa.Column("reason", sa.Text),
        sa.Column("meta", JsonType, nullable=False),
    )
    op.create_index("ix_runs_release_env", "runs", ["release", "env", "kind"])
    op.create_table(
        "steps",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("phase", sa.String(50), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("grp", sa.String(200), nullable=False),
        sa.Column("lane", sa.String(200), nullable=False),
        sa.Column("params", JsonType, nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("state", JsonType, nullable=False),
        sa.Column("due_at", UtcDateTime),
        sa.Column("wait_reason", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("started_at", UtcDateTime),
        sa.Column("ended_at", UtcDateTime),
        sa.Column("result", JsonType),
        sa.UniqueConstraint("run_id", "key", name="uq_steps_run_key"),
    )
    op.create_index("ix_steps_run_seq", "steps", ["run_id", "seq"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE")),
        sa.Column("release", sa.String(200), nullable=False),
        sa.Column("env", sa.String(100), nullable=False),
        sa.Column("step_key", sa.String(300)),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("outcome", sa.String(30)),
        sa.Column("data", JsonType, nullable=False),
    )
    op.create_index("ix_events_run", "events", ["run_id", "id"])
    op.create_index("ix_events_release_kind", "events", ["release", "env", "kind"])
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("release", sa.String(200), nullable=False),
        sa.Column("env", sa.String(100), nullable=False),
        sa.Column("gate", sa.String(200), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("role", sa.String(100)),
        sa.Column("note", sa.Text),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("rehearsal", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("release", sa.String(200), nullable=False),
        sa.Column("env", sa.String(100)),
        sa.Column("severity", sa.String(2), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("scope", sa.String(200)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("opened_at", UtcDateTime, nullable=False),
        sa.Column("resolved_at", UtcDateTime),
        sa.Column("opened_by", sa.String(200)),
        sa.Column("source", sa.String(100)),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(300), primary_key=True),
        sa.Column("holder", sa.String(300), nullable=False),
        sa.Column("acquired_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("leases", "incidents", "approvals", "events", "steps", "runs"):
        op.drop_table(table)
