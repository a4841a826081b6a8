"""Reading rate-limit headroom: one row per connection and limit scope, overwritten by each request.

A row holds the vendor's last ``X-RateLimit-*`` figures (or our own count) with the running totals of
429s met and time waited, so ``limits`` and ``status`` answer without calling the vendor.
"""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.models import RateLimitReading


async def readings(session: AsyncSession, connection_id: int) -> list[RateLimitReading]:
    """A connection's readings, one per scope, by scope name."""
    rows = await session.exec(
        select(RateLimitReading)
        .where(RateLimitReading.connection_id == connection_id)
        .order_by(col(RateLimitReading.scope))
    )
    return list(rows.all())
