"""delivery retry times: a post Slack held back (429) or that met a passing error waits for its own
time to be tried again, until the end of the time it is due in

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.store.types

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


#: Slack's errors that no retry cures, as ``bot.services.slack_api.PERMANENT_ERRORS`` held them when
#: this revision was written (a revision does not read the code of later ones).
PERMANENT = (
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "invalid_auth",
    "account_inactive",
    "token_revoked",
    "missing_scope",
    "user_not_found",
    "message_not_found",
    "restricted_action",
    "msg_too_long",
    "invalid_blocks",
    "invalid_metadata_format",
    "invalid_metadata_schema",
    "no_text",
)


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("retry_at", bot.store.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("due_until", bot.store.types.UTCDateTime(timezone=True), nullable=True))
    # A post that failed for a passing reason was retried up to three times by the failed rows' retry,
    # which is gone: such rows wait as delayed instead, tried at the next settle (and failed as no
    # longer due when their day is over).
    deliveries = sa.table(
        "deliveries",
        sa.column("state", sa.String),
        sa.column("error", sa.String),
        sa.column("attempts", sa.Integer),
        sa.column("retry_at", sa.DateTime),
        sa.column("updated_at", sa.DateTime),
    )
    op.execute(
        deliveries.update()
        .where(
            deliveries.c.state == "failed",
            deliveries.c.attempts < 3,
            deliveries.c.error.is_not(None),
            deliveries.c.error.not_in(PERMANENT),
        )
        .values(state="delayed", retry_at=deliveries.c.updated_at)
    )


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("due_until")
        batch.drop_column("retry_at")
