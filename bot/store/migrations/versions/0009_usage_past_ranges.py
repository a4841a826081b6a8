"""usage past ranges: the people and totals of a past range by person, kept once counted, and the
version of a connection's history that says whether a count made before a write may be kept

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 22:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.store.types

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "usage_running_states", sa.Column("version", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.create_table(
        "usage_past_ranges",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("range_start", bot.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("range_end", bot.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("people", sa.BigInteger(), nullable=False),
        sa.Column("amount", bot.store.types.Amount(), nullable=False),
        sa.Column("requests", bot.store.types.Amount(), nullable=False),
        sa.Column("tokens", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_usage_past_ranges_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "connection_id", "range_start", "range_end", name=op.f("pk_usage_past_ranges")
        ),
    )


def downgrade() -> None:
    op.drop_table("usage_past_ranges")
    with op.batch_alter_table("usage_running_states") as batch:
        batch.drop_column("version")
