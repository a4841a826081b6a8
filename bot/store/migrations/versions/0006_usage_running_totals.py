"""usage running totals: each person's totals through every day, and everyone's spend per model and
quarter hour, so answers by person and by model read rows in proportion to what they show

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import bot.store.types

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _measures() -> list[sa.Column[object]]:
    return [
        sa.Column("amount", bot.store.types.Amount(), nullable=False),
        sa.Column("requests", bot.store.types.Amount(), nullable=False),
        sa.Column("tokens", sa.BigInteger(), server_default="0", nullable=False),
    ]


def _connection() -> sa.Column[object]:
    return sa.Column("connection_id", sa.Integer(), nullable=False)


def _connection_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["connection_id"],
        ["connections.id"],
        name=op.f(f"fk_{table}_connection_id_connections"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "usage_model_buckets",
        _connection(),
        sa.Column("bucket_start", bot.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("model", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        *_measures(),
        _connection_fk("usage_model_buckets"),
        sa.PrimaryKeyConstraint(
            "connection_id", "bucket_start", "model", name=op.f("pk_usage_model_buckets")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "usage_user_running",
        _connection(),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        *_measures(),
        _connection_fk("usage_user_running"),
        sa.PrimaryKeyConstraint("connection_id", "day", "user_email", name=op.f("pk_usage_user_running")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "usage_running_states",
        _connection(),
        sa.Column("stale_from", sa.Date(), nullable=True),
        sa.Column("first_day", sa.Date(), nullable=True),
        sa.Column("last_day", sa.Date(), nullable=True),
        sa.Column("floor_day", sa.Date(), nullable=True),
        _connection_fk("usage_running_states"),
        sa.PrimaryKeyConstraint("connection_id", name=op.f("pk_usage_running_states")),
    )
    # History synced before this revision: the model quarter hours are summed from the buckets now; the
    # running totals are built by the next sync (until then answers sum the day rollups, as before).
    op.execute(
        "INSERT INTO usage_model_buckets (connection_id, bucket_start, model, amount, requests, tokens) "
        "SELECT connection_id, bucket_start, model, SUM(amount), SUM(requests), SUM(tokens) "
        "FROM usage_buckets GROUP BY connection_id, bucket_start, model"
    )
    op.execute(
        "INSERT INTO usage_running_states (connection_id, stale_from) "
        "SELECT connection_id, MIN(day) FROM usage_user_days GROUP BY connection_id"
    )


def downgrade() -> None:
    op.drop_table("usage_running_states")
    op.drop_table("usage_user_running")
    op.drop_table("usage_model_buckets")
