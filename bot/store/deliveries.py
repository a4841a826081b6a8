"""The delivery ledger's rows: one per scheduled post, claimed under a unique idempotency key.

The exactly-once guarantees of ``bot.services.deliveries`` rest on three statements here: the claim is a
unique insert (the loser gets False), a settle takes rows over only if they are still in the state and
at the ``updated_at`` it read (compare-and-set), and an attempt's outcome is written on each row with
the pause of its subscription in the same transaction. The states (``DeliveryState``) are defined here,
beside the statements that filter on them; the ledger decides which one a row is in, so the methods that
filter on one take it from the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select as columns
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.store.db import Database, execute
from bot.store.models import Delivery, Subscription


class DeliveryState:
    """The states of a ledger row: claimed and being posted, posted, waiting to be tried again (Slack
    held it back, or a passing error), failed (a permanent error, or no longer due), never to be posted."""

    POSTING = "posting"
    SENT = "sent"
    DELAYED = "delayed"
    FAILED = "failed"
    SKIPPED = "skipped"


class DeliveryOutcome(NamedTuple):
    """A post as the App Home lists it."""

    channel_id: str
    kind: str
    period: str
    state: str
    late: bool
    updated_at: datetime
    error: str | None
    retry_at: datetime | None


class DeliveryRepository:
    """Claims, updates and reads :class:`Delivery` rows."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def claim(self, row: Delivery) -> bool:
        """Insert ``row``; False when its idempotency key was claimed before, by any process."""
        try:
            async with self._db.write() as session:
                session.add(row)
        except IntegrityError:
            return False
        return True

    async def by_key(self, key: str) -> Delivery | None:
        async with self._db.session() as session:
            return (await session.exec(select(Delivery).where(Delivery.idempotency_key == key))).first()

    async def mark_skipped(self, delivery_id: int | None, state: str, reason: str) -> None:
        """Record why a claimed post will not be made (``state`` is the ledger's "skipped")."""
        async with self._db.write() as session:
            stored = await session.get(Delivery, delivery_id)
            if stored is not None:
                stored.state = state
                stored.error = reason[:500]
                session.add(stored)

    async def mark_posting(
        self, delivery_id: int | None, state: str, now: datetime, *, message: dict[str, Any] | None = None
    ) -> None:
        """Put a row back to ``state`` ("posting") before it is posted again, with a new ``message``
        (its text and blocks) when one is given."""
        async with self._db.write() as session:
            stored = await session.get(Delivery, delivery_id)
            if stored is not None:
                if message is not None:
                    payload = dict(stored.payload or {})
                    payload.update(message)
                    stored.payload = payload
                stored.state = state
                stored.updated_at = now
                stored.retry_at = None
                stored.error = None  # in flight again: see in_state_untouched_since
                session.add(stored)

    async def record_attempt(
        self,
        rows: Sequence[Delivery],
        state: str,
        now: datetime,
        *,
        ts: str | None = None,
        error: str | None = None,
        pause: str | None = None,
        retry_at: datetime | None = None,
    ) -> list[Delivery]:
        """Write one posting attempt's outcome on ``rows`` in one transaction; the rows written.

        ``pause`` pauses each row's subscription with that reason (unless it is paused already);
        ``retry_at``: when a delayed row is tried again.
        """
        written: list[Delivery] = []
        async with self._db.write() as session:
            for row in rows:
                stored = await session.get(Delivery, row.id)
                if stored is None:
                    continue
                stored.state = state
                stored.attempts += 1
                stored.error = None if error is None else error[:500]
                stored.updated_at = now
                stored.retry_at = retry_at
                if ts is not None:
                    stored.message_ts = ts
                session.add(stored)
                written.append(stored)
                if pause is not None and stored.subscription_id is not None:
                    subscription = await session.get(Subscription, stored.subscription_id)
                    if subscription is not None and subscription.paused_reason is None:
                        subscription.paused_reason = pause
                        subscription.paused_at = now
                        session.add(subscription)
        return written

    async def in_state_with_attempts_below(self, state: str, attempts: int) -> list[Delivery]:
        async with self._db.session() as session:
            rows = await session.exec(
                select(Delivery).where(Delivery.state == state, col(Delivery.attempts) < attempts)
            )
            return list(rows.all())

    async def delayed_until(self, state: str, now: datetime) -> list[Delivery]:
        """Rows in ``state`` ("delayed") whose time to be tried again has come, oldest first."""
        async with self._db.session() as session:
            rows = await session.exec(
                select(Delivery)
                .where(Delivery.state == state, col(Delivery.retry_at) <= now)
                .order_by(col(Delivery.retry_at), col(Delivery.id))
            )
            return list(rows.all())

    async def in_state_untouched_since(
        self, state: str, cutoff: datetime, *, ended_cutoff: datetime | None = None
    ) -> list[Delivery]:
        """Rows in ``state`` not updated after ``cutoff``, by id; with ``ended_cutoff``, also those whose
        last attempt ended (an error is recorded on them: nothing is in flight) before that.

        A row is in flight from its claim, a retry or a take-over (each clears ``error``) until its
        attempt's outcome is recorded; an outcome that left it in ``state`` records why.
        """
        untouched = col(Delivery.updated_at) <= cutoff
        if ended_cutoff is not None:
            untouched = untouched | (
                col(Delivery.error).is_not(None) & (col(Delivery.updated_at) <= ended_cutoff)
            )
        async with self._db.session() as session:
            rows = await session.exec(
                select(Delivery).where(Delivery.state == state, untouched).order_by(col(Delivery.id))
            )
            return list(rows.all())

    async def take_over(self, rows: Sequence[Delivery], state: str, now: datetime) -> bool:
        """Stamp ``rows`` with ``now`` if each is still in ``state`` at the ``updated_at`` it was read with.

        A compare-and-set: of two processes that read the same rows, only the first gets True. It stops
        at the first row that moved on; the rows stamped before it stay stamped (as they always have).
        """
        async with self._db.write() as session:
            for row in rows:
                stored = await session.get(Delivery, row.id)
                if stored is None or stored.state != state or stored.updated_at != row.updated_at:
                    return False
                stored.updated_at = now
                stored.error = None  # being settled: in flight until its outcome is recorded
                session.add(stored)
        return True

    async def of_message(self, channel_id: str, ts: str) -> list[Delivery]:
        """The rows posted as one message (alerts due together share it), the latest updated first."""
        async with self._db.session() as session:
            return list(
                (
                    await session.exec(
                        select(Delivery)
                        .where(Delivery.channel_id == channel_id, Delivery.message_ts == ts)
                        .order_by(col(Delivery.updated_at).desc())
                    )
                ).all()
            )

    async def set_payload(self, rows: Sequence[Delivery], payload: dict[str, Any]) -> None:
        """Store ``payload`` (the message as edited) on each of ``rows`` still there, in one transaction."""
        async with self._db.write() as session:
            for delivery in rows:
                stored = await session.get(Delivery, delivery.id)
                if stored is not None:
                    stored.payload = payload
                    session.add(stored)

    async def recent(self, team_id: str, limit: int) -> list[Delivery]:
        """A workspace's latest rows, newest first."""
        async with self._db.session() as session:
            rows = await session.exec(
                select(Delivery)
                .where(Delivery.team_id == team_id)
                .order_by(col(Delivery.created_at).desc(), col(Delivery.id).desc())
                .limit(limit)
            )
            return list(rows.all())

    async def recent_outcomes(self, team_id: str, limit: int) -> list[DeliveryOutcome]:
        """The same rows as :meth:`recent`, only the columns the App Home shows."""
        async with self._db.session() as session:
            found = (
                await execute(
                    session,
                    columns(
                        col(Delivery.channel_id),
                        col(Delivery.kind),
                        col(Delivery.period),
                        col(Delivery.state),
                        col(Delivery.late),
                        col(Delivery.updated_at),
                        col(Delivery.error),
                        col(Delivery.retry_at),
                    )
                    .where(col(Delivery.team_id) == team_id)
                    .order_by(col(Delivery.created_at).desc(), col(Delivery.id).desc())
                    .limit(limit),
                )
            ).all()
        return [DeliveryOutcome._make(row) for row in found]
