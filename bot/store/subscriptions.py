"""Channel subscriptions and the alert states that hang off them, scoped by team id.

Changes that an admin makes (subscribe, unsubscribe, snooze, resume) commit with their audit entry, so
those methods take the caller's session; a digest's next due time moves by compare-and-set, so two
replicas that both see it due move it once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select as columns
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.db import Database, execute
from bot.store.models import AlertStateRow, Subscription


class FiringAlert(NamedTuple):
    """An alert firing now, with the few columns the App Home shows."""

    subscription_id: int
    alert_channel_id: str | None
    subscription_channel_id: str
    kind: str
    metric: str
    threshold: str
    summary: str | None
    fired_at: datetime | None
    snoozed_until: datetime | None
    muted_until_resolved: bool


class SubscriptionRepository:
    """Reads and writes :class:`Subscription` rows, and their :class:`AlertStateRow` that change with them.

    A method with an optional ``session`` runs in the caller's transaction when given one.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    @asynccontextmanager
    async def _reading(self, session: AsyncSession | None) -> AsyncIterator[AsyncSession]:
        if session is not None:
            yield session
            return
        async with self._db.session() as own:
            yield own

    # ----- one subscription ------------------------------------------------------------------------

    async def by_id(
        self, subscription_id: int, *, session: AsyncSession | None = None
    ) -> Subscription | None:
        """The subscription with this id, in any workspace: the caller checks the team."""
        async with self._reading(session) as reading:
            return await reading.get(Subscription, subscription_id)

    async def of_kind(
        self, team_id: str, channel_id: str, kind: str, *, session: AsyncSession | None = None
    ) -> list[Subscription]:
        """The subscriptions of one kind in a channel."""
        async with self._reading(session) as reading:
            rows = await reading.exec(
                select(Subscription).where(
                    Subscription.team_id == team_id,
                    Subscription.channel_id == channel_id,
                    Subscription.kind == kind,
                )
            )
            return list(rows.all())

    async def add(self, session: AsyncSession, row: Subscription) -> None:
        """Insert ``row`` in the caller's transaction; flushed, so its id is known for the audit entry."""
        session.add(row)
        await session.flush()

    async def delete(self, session: AsyncSession, row: Subscription) -> None:
        await session.delete(row)

    def save(self, session: AsyncSession, *rows: Subscription | AlertStateRow) -> None:
        """Write changed rows in the caller's transaction."""
        session.add_all(rows)

    async def alert_states(self, session: AsyncSession, subscription_id: int) -> list[AlertStateRow]:
        """The alert states of a subscription, to change with it (a snooze applies to each)."""
        rows = await session.exec(
            select(AlertStateRow).where(AlertStateRow.subscription_id == subscription_id)
        )
        return list(rows.all())

    async def move_next_due(self, subscription_id: int, due: datetime, *, previous: datetime | None) -> bool:
        """Set a digest's next due time to ``due`` only if it is still ``previous``; True when moved."""
        async with self._db.write() as session:
            stored = await session.get(Subscription, subscription_id)
            if stored is None or stored.next_due_at != previous:
                return False
            stored.next_due_at = due
            session.add(stored)
        return True

    # ----- lists -----------------------------------------------------------------------------------

    async def for_team(self, team_id: str, channel_id: str | None = None) -> list[Subscription]:
        """A workspace's subscriptions (of one channel when ``channel_id`` is given), by id."""
        query = select(Subscription).where(Subscription.team_id == team_id)
        if channel_id is not None:
            query = query.where(Subscription.channel_id == channel_id)
        async with self._db.session() as session:
            return list((await session.exec(query.order_by(col(Subscription.id)))).all())

    async def by_channel(self, team_id: str, limit: int) -> list[Subscription]:
        """A workspace's subscriptions by channel then id, at most ``limit``."""
        async with self._db.session() as session:
            rows = await session.exec(
                select(Subscription)
                .where(col(Subscription.team_id) == team_id)
                .order_by(col(Subscription.channel_id), col(Subscription.id))
                .limit(limit)
            )
            return list(rows.all())

    async def alerts_of_team(self, team_id: str) -> list[Subscription]:
        """A workspace's alert subscriptions (every kind but digests), by id."""
        async with self._db.session() as session:
            rows = await session.exec(
                select(Subscription)
                .where(Subscription.team_id == team_id, Subscription.kind != "digest")
                .order_by(col(Subscription.id))
            )
            return list(rows.all())

    async def due_digests(self, now: datetime) -> list[Subscription]:
        """Digests of every workspace due at ``now``, paused ones left out, earliest first."""
        async with self._db.session() as session:
            rows = await session.exec(
                select(Subscription)
                .where(
                    Subscription.kind == "digest",
                    col(Subscription.next_due_at) <= now,
                    col(Subscription.paused_reason).is_(None),
                )
                .order_by(col(Subscription.next_due_at), col(Subscription.id))
            )
            return list(rows.all())

    async def teams_with_alerts(self) -> list[str]:
        """The workspaces with at least one alert subscription."""
        async with self._db.session() as session:
            rows = await session.exec(
                select(Subscription.team_id).where(Subscription.kind != "digest").distinct()
            )
            return list(rows.all())

    async def firing_alerts(self, team_id: str, limit: int) -> list[FiringAlert]:
        """Alerts of a workspace's subscriptions firing now, oldest first, at most ``limit``.

        Named columns, not rows: the App Home needs few of each table's.
        """
        async with self._db.session() as session:
            found = (
                await execute(
                    session,
                    columns(
                        col(AlertStateRow.subscription_id),
                        col(AlertStateRow.channel_id),
                        col(Subscription.channel_id),
                        col(Subscription.kind),
                        col(AlertStateRow.metric),
                        col(AlertStateRow.threshold),
                        col(AlertStateRow.summary),
                        col(AlertStateRow.fired_at),
                        col(AlertStateRow.snoozed_until),
                        col(AlertStateRow.muted_until_resolved),
                    )
                    .join(Subscription, col(Subscription.id) == col(AlertStateRow.subscription_id))
                    .where(col(Subscription.team_id) == team_id, col(AlertStateRow.status) == "firing")
                    .order_by(col(AlertStateRow.fired_at), col(AlertStateRow.id))
                    .limit(limit),
                )
            ).all()
        return [FiringAlert._make(row) for row in found]
