"""Dropping old history in one transaction: usage, credit and figure readings, settled posts, charts.

A retention pass either removes everything older than its cutoff or nothing, so the tables never
disagree about how far back history goes.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, delete

from bot.store import usage as usage_store
from bot.store.db import Database, execute
from bot.store.models import ChartFile, CreditSnapshot, Delivery, TrackedFigureRow


class HistoryRetention:
    """Purges rows past the retention setting."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def purge(self, cutoff: datetime, *, unsettled: str, charts_before: datetime) -> None:
        """Drop history older than ``cutoff`` and chart files older than ``charts_before``.

        Deliveries still in the ``unsettled`` state ("posting") are kept whatever their age: a settle
        must still find out whether they went out.
        """
        async with self._db.write() as session:
            await usage_store.purge_before(session, cutoff)
            await execute(session, delete(CreditSnapshot).where(col(CreditSnapshot.observed_at) < cutoff))
            await execute(session, delete(TrackedFigureRow).where(col(TrackedFigureRow.observed_at) < cutoff))
            await execute(
                session,
                delete(Delivery).where(col(Delivery.created_at) < cutoff, col(Delivery.state) != unsettled),
            )
            await execute(session, delete(ChartFile).where(col(ChartFile.created_at) < charts_before))
