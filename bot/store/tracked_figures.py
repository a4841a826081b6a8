"""Reading tracked figures: the one number a REST connection follows (often a balance), over time.

Each sync stores a reading; the answers show the newest beside the one from about a day before it, and a
credit-low alert with a percent line measures the newest against the month's peak.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.models import TrackedFigureRow


async def latest_figure(session: AsyncSession, connection_id: int) -> TrackedFigureRow | None:
    """The newest reading of a connection's tracked figure, or None before its first."""
    return await figure_at_or_before(session, connection_id, None)


async def figure_at_or_before(
    session: AsyncSession, connection_id: int, moment: datetime | None
) -> TrackedFigureRow | None:
    """The newest reading observed at or before ``moment`` (any reading when ``moment`` is None)."""
    statement = select(TrackedFigureRow).where(TrackedFigureRow.connection_id == connection_id)
    if moment is not None:
        statement = statement.where(col(TrackedFigureRow.observed_at) <= moment)
    rows = await session.exec(statement.order_by(col(TrackedFigureRow.observed_at).desc()).limit(1))
    return rows.first()


async def peak_since(session: AsyncSession, connection_id: int | None, since: datetime) -> Decimal:
    """The highest reading observed since ``since`` (0 without any)."""
    rows = await session.exec(
        select(TrackedFigureRow).where(
            TrackedFigureRow.connection_id == connection_id,
            col(TrackedFigureRow.observed_at) >= since,
        )
    )
    values = [row.value for row in rows.all()]
    return max(values, default=Decimal(0))


async def readings_between(
    session: AsyncSession, connection_id: int, start: datetime, end: datetime
) -> list[TrackedFigureRow]:
    """Every reading observed in ``[start, end)``, oldest first (``backtest credit-low``)."""
    rows = await session.exec(
        select(TrackedFigureRow)
        .where(
            TrackedFigureRow.connection_id == connection_id,
            col(TrackedFigureRow.observed_at) >= start,
            col(TrackedFigureRow.observed_at) < end,
        )
        .order_by(col(TrackedFigureRow.observed_at))
    )
    return list(rows)
