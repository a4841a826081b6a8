"""Shared pace: slots under a rate limit reserved in the database, so every replica counts them.

A reservation is one write transaction, serialized per key (``BEGIN IMMEDIATE`` on SQLite, an advisory
transaction lock on PostgreSQL): it finds the ``limit``-th newest slot of the key and gives the new one
the later of now and that slot plus the window, which keeps every window of that length at ``limit``
slots or fewer, as Slack's sliding windows count them. Slots older than a window are dropped on the way.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, delete, select

from bot.store.db import Database, execute
from bot.store.models import PaceSlot


class PaceRepository:
    """Reserves :class:`PaceSlot` rows."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def reserve(self, key: str, limit: int, window: float, now: float) -> float:
        """Reserve a slot of ``key`` (at most ``limit`` a ``window`` seconds); the instant it is for."""
        async with self._db.write() as session:
            if not self._db.is_sqlite:
                await execute(session, select(func.pg_advisory_xact_lock(func.hashtext(key))))
            await execute(
                session, delete(PaceSlot).where(col(PaceSlot.key) == key, col(PaceSlot.at) <= now - window)
            )
            rows = await session.exec(
                select(PaceSlot.at)
                .where(PaceSlot.key == key)
                .order_by(col(PaceSlot.at).desc())
                .offset(limit - 1)
                .limit(1)
            )
            oldest_counted = rows.first()
            at = now if oldest_counted is None else max(now, oldest_counted + window)
            session.add(PaceSlot(key=key, at=at))
        return at
