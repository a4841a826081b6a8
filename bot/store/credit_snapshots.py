"""Reading credit balances: each sync of a credit source (Windsurf) stores what it says is left.

Snapshots are kept as a history; the answers use the newest one, which also carries the billing cycle
the vendor reported with it.
"""

from __future__ import annotations

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
