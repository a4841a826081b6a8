"""usage tokens: every usage table counts the tokens its rows processed

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 16:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

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


def downgrade() -> None:
    for table in USAGE_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("tokens")
