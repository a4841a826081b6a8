"""usage tokens and member activity: every usage table counts the tokens its rows processed, and a
member keeps when the vendor last saw them use the tool

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 16:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.store.types

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Every table that holds usage rows: history synced before this revision counts 0 tokens until the
#: next backfill rewrites it.
USAGE_TABLES = ("usage_buckets", "usage_team_buckets", "usage_days", "usage_user_days", "usage_model_days")


def upgrade() -> None:
    for table in USAGE_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("tokens", sa.BigInteger(), nullable=False, server_default="0"))
    with op.batch_alter_table("members") as batch:
        batch.add_column(
            sa.Column("last_active_at", bot.store.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_column("last_active_at")
    for table in USAGE_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("tokens")
