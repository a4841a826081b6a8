"""The people and totals of past ranges by person, kept once counted.

An answer by person compares its period with the one before, and counting that period's people is a
pass over every person, as costly as the answer's own ranking: at 20,000 people it was half of
``spend 30d by user``. The previous period is the same for every answer of the day, and whole past
days change only when a write of their history does, so it is counted once and kept.

A write forgets every kept range that reaches the days it changed, in its own transaction
(:func:`bot.store.running.mark_stale`), and counts a version of the connection's history. A count is
kept only if no write came between its reading and its keeping (:func:`keep` compares the version read
before the count with the one it locks), so no count of history since replaced survives.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import and_, delete, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.db import execute
from bot.store.models import UsagePastRange, UsageRunningState


async def kept(
    session: AsyncSession, connection_id: int, start: datetime, end: datetime
) -> tuple[UsagePastRange | None, int]:
    """A past range's kept figures (None: not kept) and the version of the connection's history (0
    before its first write), read together before any counting, which must still match to keep one."""
    query = (
        select(col(UsageRunningState.version), UsagePastRange)
        .select_from(UsageRunningState)
        .outerjoin(
            UsagePastRange,
            and_(
                col(UsagePastRange.connection_id) == col(UsageRunningState.connection_id),
                col(UsagePastRange.range_start) == start,
                col(UsagePastRange.range_end) == end,
            ),
        )
        .where(col(UsageRunningState.connection_id) == connection_id)
    )
    row = (await session.exec(query)).first()  # type: ignore[call-overload]
    return (None, 0) if row is None else (row[1], int(row[0]))


async def keep(session: AsyncSession, figures: UsagePastRange, counted_at: int) -> bool:
    """Keep ``figures``, counted at history version ``counted_at``, in a write transaction; False (and
    nothing kept) when a write of the history came since, or none ever did.

    The state row is locked as a write locks it, so a write either comes before (and its version
    differs) or after (and forgets what this kept). A connection without a state row has no history
    to count, and a first write could create the row unseen by the lock: nothing is kept for it.
    """
    query = select(col(UsageRunningState.version)).where(
        col(UsageRunningState.connection_id) == figures.connection_id
    )
    found = (await execute(session, query.with_for_update())).scalar()
    if found is None or int(found) != counted_at:
        return False
    await execute(
        session,
        delete(UsagePastRange).where(
            col(UsagePastRange.connection_id) == figures.connection_id,
            col(UsagePastRange.range_start) == figures.range_start,
            col(UsagePastRange.range_end) == figures.range_end,
        ),
    )
    session.add(figures)
    return True


async def forget_from(session: AsyncSession, connection_id: int, first: date) -> None:
    """Forget, in a writing transaction, the kept ranges that reach day ``first`` or later."""
    midnight = datetime.combine(first, time(), tzinfo=UTC)
    await execute(
        session,
        delete(UsagePastRange).where(
            col(UsagePastRange.connection_id) == connection_id, col(UsagePastRange.range_end) > midnight
        ),
    )


async def purge_before(session: AsyncSession, cutoff: datetime) -> None:
    """Forget the ranges that start before the history retention keeps: their days are gone."""
    await execute(session, delete(UsagePastRange).where(col(UsagePastRange.range_start) < cutoff))
