"""usage user hours: each person's spend per UTC hour, so the partial days of an answer by person read
a row per person and hour instead of one per person, model and quarter hour

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 19:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import bot.store.types

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "usage_user_hours",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("bucket_start", bot.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("amount", bot.store.types.Amount(), nullable=False),
        sa.Column("requests", bot.store.types.Amount(), nullable=False),
        sa.Column("tokens", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_usage_user_hours_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "connection_id", "bucket_start", "user_email", name=op.f("pk_usage_user_hours")
        ),
        sqlite_with_rowid=False,
    )
    # History synced before this revision: summed from the quarter hours now.
    if op.get_bind().dialect.name == "sqlite":
        hour = "substr(bucket_start, 1, 13) || ':00:00.000000'"  # naive UTC text, as UTCDateTime keeps it
    else:
        hour = "date_trunc('hour', bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    columns = "connection_id, bucket_start, user_email, amount, requests, tokens"
    summed = f"SELECT connection_id, {hour}, user_email, SUM(amount), SUM(requests), SUM(tokens)"
    grouped = f"FROM usage_buckets GROUP BY connection_id, {hour}, user_email"
    op.execute(f"INSERT INTO usage_user_hours ({columns}) {summed} {grouped}")


def downgrade() -> None:
    op.drop_table("usage_user_hours")
