"""The notification outbox: one row per event worth telling people about, delivered by a separate loop."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from golive.store.tables import JsonType, UtcDateTime

revision = "0003"
down_revision: str | None = "0002"


def upgrade() -> None:
    op.create_table(
        "outbox",
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
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "next_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_table("outbox")
