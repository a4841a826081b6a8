"""pace slots: Slack's posting and history allowances reserved in the database, shared by replicas

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pace_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pace_slots")),
    )
    op.create_index("ix_pace_slots_key_at", "pace_slots", ["key", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_pace_slots_key_at", table_name="pace_slots")
    op.drop_table("pace_slots")
