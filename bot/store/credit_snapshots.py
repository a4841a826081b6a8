"""Reading credit balances: each sync of a credit source (Windsurf) stores what it says is left.

Snapshots are kept as a history; the answers use the newest one, which also carries the billing cycle
the vendor reported with it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.models import CreditSnapshot


async def latest_snapshot(session: AsyncSession, connection_id: int) -> CreditSnapshot | None:
    """The newest credit snapshot of a connection, or None before its first."""
    rows = await session.exec(
        select(CreditSnapshot)
        .where(CreditSnapshot.connection_id == connection_id)
        .order_by(col(CreditSnapshot.observed_at).desc())
        .limit(1)
    )
    return rows.first()


async def last_of_each_day(
    session: AsyncSession, connection_id: int, start: datetime, end: datetime
) -> dict[date, CreditSnapshot]:
    """The newest snapshot of each UTC day in ``[start, end)`` that has one (``backtest credit-low``)."""
    rows = await session.exec(
        select(CreditSnapshot)
        .where(
            CreditSnapshot.connection_id == connection_id,
            col(CreditSnapshot.observed_at) >= start,
            col(CreditSnapshot.observed_at) < end,
        )
        .order_by(col(CreditSnapshot.observed_at))
    )
    return {row.observed_at.astimezone(UTC).date(): row for row in rows}
