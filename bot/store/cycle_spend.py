"""Reading billing-cycle spend: what a vendor (Cursor) says each member has spent in its current cycle.

Sync stores one row per member per cycle; the newest ``cycle_start`` of a connection is its current
cycle. These are the vendor's own totals, so they are read as they are, never re-added from usage rows.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.models import CycleSpendRow


async def latest_cycle_spend(
    session: AsyncSession, connection_id: int, user_email: str | None = None
) -> CycleSpendRow | None:
    """The newest billing cycle's spend row of a Cursor connection (of one person, when named)."""
    statement = select(CycleSpendRow).where(col(CycleSpendRow.connection_id) == connection_id)
    if user_email is not None:
        statement = statement.where(col(CycleSpendRow.user_email) == user_email)
    return (await session.exec(statement.order_by(col(CycleSpendRow.cycle_start).desc()).limit(1))).first()


async def latest_cycle_start(session: AsyncSession, connection_id: int) -> datetime | None:
    """When the connection's newest stored cycle began, or None before its first cycle figures."""
    latest: datetime | None = (
        await session.exec(
            select(func.max(CycleSpendRow.cycle_start)).where(CycleSpendRow.connection_id == connection_id)
        )
    ).one()
    return latest


async def latest_cycle_rows(session: AsyncSession, connection_id: int) -> list[CycleSpendRow]:
    """Every member's row of the connection's newest cycle (none before its first cycle figures)."""
    latest = await latest_cycle_start(session, connection_id)
    rows = await session.exec(
        select(CycleSpendRow).where(
            CycleSpendRow.connection_id == connection_id, CycleSpendRow.cycle_start == latest
        )
    )
    return list(rows.all())


async def latest_cycle_total(session: AsyncSession, connection_id: int) -> Decimal | None:
    """The team's spend in its newest cycle (the sum of the members' rows), or None without a cycle."""
    latest = await latest_cycle_start(session, connection_id)
    if latest is None:
        return None
    total: Decimal | None = (
        await session.exec(
            select(func.sum(CycleSpendRow.total)).where(
                CycleSpendRow.connection_id == connection_id, CycleSpendRow.cycle_start == latest
            )
        )
    ).one()
    return total or Decimal(0)
