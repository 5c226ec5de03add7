"""The state store's tables: the durable memory of every release.

Runs and their steps are the engine's state machine; events are the
append-only evidence (every check, measurement, decision, with inputs and
result); approvals and incidents come from people and alerting tools; leases
make sure one process at a time advances a run. Plain SQLAlchemy Core tables,
portable between SQLite and PostgreSQL; the schema itself is created by the
Alembic migrations beside this file, never by ``create_all``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

from golive.store.statuses import RUN_ACTIVE


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData()

ACTIVE_SQL = f"status IN ({', '.join(repr(s) for s in RUN_ACTIVE)})"

JsonType: Any = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

runs = sa.Table(
    "runs",
    metadata,
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
    sa.Index("ix_runs_release_env", "release", "env", "kind"),
    # At most one active run per release, environment and kind (migration 0002).
    sa.Index("uq_runs_one_active", "release", "env", "kind", unique=True,
             sqlite_where=sa.text(ACTIVE_SQL), postgresql_where=sa.text(ACTIVE_SQL)),
)

steps = sa.Table(
    "steps",
    metadata,
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
    sa.Index("ix_steps_run_seq", "run_id", "seq"),
)

events = sa.Table(
    "events",
    metadata,
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
    sa.Index("ix_events_run", "run_id", "id"),
    sa.Index("ix_events_release_kind", "release", "env", "kind"),
)

approvals = sa.Table(
    "approvals",
    metadata,
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

incidents = sa.Table(
    "incidents",
    metadata,
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

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(300), primary_key=True),
    sa.Column("holder", sa.String(300), nullable=False),
    sa.Column("acquired_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.Integer, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    sa.Column("topic", sa.String(50), nullable=False),
    sa.Column("release", sa.String(200), nullable=False),
    sa.Column("env", sa.String(100), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("deliveries", JsonType, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_at", UtcDateTime, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.UniqueConstraint("event_id", name="uq_outbox_event"),
    sa.Index("ix_outbox_due", "status", "next_at"),
)
