"""Alert states: one row per subscription + metric + threshold + cycle, the memory of each state machine.

Two replicas checking at once may both find no row and both insert one: the unique key lets one win and
the other reads the winner's row, so ``state_for`` retries that race, once. A state changes by
read-modify-write inside one transaction (``update``, ``change_of_team``), so a button pressed during a
check applies on top of what the check wrote, not on a copy read before it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.store import tracked_figures
from bot.store.db import Database
from bot.store.models import AlertStateRow, Subscription

METRIC_WIDTH = 120
KEY_WIDTH = 40
"""The widths of the ``metric``, and of the ``threshold`` and ``cycle`` columns: longer values are cut."""


def state_key(metric: str, threshold: str, cycle: str) -> tuple[str, str, str]:
    """An alert's metric, threshold and cycle as stored: cut to their columns' widths."""
    return metric[:METRIC_WIDTH], threshold[:KEY_WIDTH], cycle[:KEY_WIDTH]


class AlertStateRepository:
    """Reads and writes :class:`AlertStateRow`, and the tracked-figure peak a credit-low alert measures by."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def state_for(
        self,
        subscription_id: int,
        metric: str,
        threshold: str,
        cycle: str,
        new: Callable[[], AlertStateRow],
        *,
        raced: bool = False,
    ) -> AlertStateRow:
        """The stored state under this key (cut by :func:`state_key`), or the row ``new()`` builds, inserted.

        Only the race of two inserts is retried, and once (``raced``): a failure that persists is raised
        as it is.
        """
        metric, threshold, cycle = state_key(metric, threshold, cycle)
        async with self._db.session() as session:
            row = (
                await session.exec(
                    select(AlertStateRow).where(
                        AlertStateRow.subscription_id == subscription_id,
                        AlertStateRow.metric == metric,
                        AlertStateRow.threshold == threshold,
                        AlertStateRow.cycle == cycle,
                    )
                )
            ).first()
        if row is not None:
            return row
        row = new()
        try:
            async with self._db.write() as session:
                session.add(row)
        except IntegrityError:
            if raced:
                raise
            return await self.state_for(  # another replica's row
                subscription_id, metric, threshold, cycle, new, raced=True
            )
        return row

    async def update(self, state_id: int | None, change: Callable[[AlertStateRow], None]) -> None:
        """Apply ``change`` to the stored row in one transaction; nothing when the row is gone."""
        async with self._db.write() as session:
            stored = await session.get(AlertStateRow, state_id)
            if stored is None:
                return
            change(stored)
            session.add(stored)

    async def change_of_team(
        self, state_id: int, team_id: str, change: Callable[[AlertStateRow], None]
    ) -> bool:
        """Apply ``change`` to a state of one of ``team_id``'s subscriptions, in one transaction.

        False, with nothing written, when the state or its subscription is gone or another team's.
        """
        async with self._db.write() as session:
            row = await session.get(AlertStateRow, state_id)
            subscription = await session.get(Subscription, row.subscription_id) if row is not None else None
            if row is None or subscription is None or subscription.team_id != team_id:
                return False
            change(row)
            session.add(row)
        return True

    async def firing_of_team(self, team_id: str) -> list[tuple[Subscription, AlertStateRow]]:
        """A workspace's firing alerts with their subscriptions, oldest first."""
        async with self._db.session() as session:
            rows = await session.exec(
                select(Subscription, AlertStateRow)
                .join(AlertStateRow, col(AlertStateRow.subscription_id) == col(Subscription.id))
                .where(Subscription.team_id == team_id, AlertStateRow.status == "firing")
                .order_by(col(AlertStateRow.fired_at))
            )
            return [(subscription, state) for subscription, state in rows.all()]

    async def tracked_peak(self, connection_id: int | None, since: datetime) -> Decimal:
        """The highest reading of a connection's tracked figure observed since ``since`` (0 without any).

        A percent threshold on a tracked figure is a share of this peak (the statement is
        ``tracked_figures.peak_since``, beside the other reads of those figures).
        """
        async with self._db.session() as session:
            return await tracked_figures.peak_since(session, connection_id, since)
