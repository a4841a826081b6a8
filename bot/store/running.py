"""Each person's running totals by UTC day: ``by user`` and ``top`` over any whole days in two reads.

A person's sum over days ``a..b`` is their running total through ``b`` less the one through ``a - 1``,
so a month of a 20,000-person team reads 40,000 rows instead of 600,000. The rows are dense (a day
without use repeats the day before) so each lookup is one day's rows of the primary key.

Writes of usage history only mark the running totals stale from the first day they touched, in their
own transaction; the sync rebuilds them once after its usage dataset (:func:`rebuild`), a few days per
transaction so no write holds the database for long. Until then a read whose days reach the stale ones
sums the day rollups instead, so an answer never misses a late correction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store import past_ranges
from bot.store.db import execute
from bot.store.models import UsageRunningState, UsageUserDay, UsageUserRunning
from bot.store.types import date_value

_DAY = timedelta(days=1)
#: Days rebuilt per transaction: a week of a 20,000-person team is 140,000 rows, about a second.
DAYS_PER_STEP = 7
_INSERT_CHUNK = 10_000
MEASURES = ("amount", "requests", "tokens")


async def _state_for_update(session: AsyncSession, connection_id: int) -> UsageRunningState | None:
    """The state row, locked on PostgreSQL, so a write marking it stale and a rebuild finishing it
    never interleave (SQLite's immediate write transactions already run one at a time)."""
    query = select(UsageRunningState).where(col(UsageRunningState.connection_id) == connection_id)
    found = await session.exec(query.with_for_update())  # type: ignore[call-overload]
    row = found.first()
    return None if row is None else row[0]


async def mark_stale(session: AsyncSession, connection_id: int, first: date) -> None:
    """Note, in the writing transaction, that the history from ``first`` on changed: the running totals
    from then on are stale, and the past ranges kept that reach it are forgotten."""
    state = await _state_for_update(session, connection_id)
    if state is None:
        state = UsageRunningState(connection_id=connection_id, stale_from=first)
    elif state.stale_from is None or first < state.stale_from:
        state.stale_from = first
    state.version += 1
    session.add(state)
    await past_ranges.forget_from(session, connection_id, first)


async def states(session: AsyncSession, connection_ids: Sequence[int]) -> dict[int, UsageRunningState]:
    found = await session.exec(
        select(UsageRunningState).where(col(UsageRunningState.connection_id).in_(connection_ids))  # type: ignore[call-overload]
    )
    return {row[0].connection_id: row[0] for row in found.all()}


async def rebuild_step(session: AsyncSession, connection_id: int, *, days: int = DAYS_PER_STEP) -> bool:
    """Rebuild up to ``days`` stale days of one connection; True when stale days remain after it."""
    state = await _state_for_update(session, connection_id)
    if state is None or state.stale_from is None:
        return False
    start = _rebuild_from(state)
    await execute(
        session,
        delete(UsageUserRunning).where(
            col(UsageUserRunning.connection_id) == connection_id, col(UsageUserRunning.day) >= start
        ),
    )
    totals = (
        await _running_at(session, connection_id, start - _DAY) if _has_day(state, start - _DAY) else None
    )
    if totals is None:  # nothing before ``start`` to carry: the history is built again from its first day
        totals = {}
        start = await _first_day_from(session, connection_id, start) or start
        state.first_day = None
    last_stored = await _last_day(session, connection_id)
    if last_stored is None or last_stored < start:  # nothing from ``start`` on: the rows before it stand
        state.last_day = start - _DAY if state.first_day is not None else None
        state.stale_from = None
        session.add(state)
        return False
    end = min(start + timedelta(days=days - 1), last_stored)
    await _write_days(session, connection_id, start, end, totals)
    state.first_day = state.first_day or start
    state.last_day = end
    state.stale_from = end + _DAY if end < last_stored else None
    session.add(state)
    return state.stale_from is not None


def _rebuild_from(state: UsageRunningState) -> date:
    """The first day to rebuild: the stale one, past the purge floor, with no gap after the built days."""
    assert state.stale_from is not None
    start = state.stale_from
    if state.floor_day is not None and start <= state.floor_day:
        start = state.floor_day + _DAY
    if state.last_day is not None and start > state.last_day + _DAY:
        start = state.last_day + _DAY
    return start


def _has_day(state: UsageRunningState, day: date) -> bool:
    return (
        state.first_day is not None
        and state.last_day is not None
        and state.first_day <= day <= state.last_day
    )


async def _running_at(session: AsyncSession, connection_id: int, day: date) -> dict[str, list[Any]]:
    query = select(
        col(UsageUserRunning.user_email),
        col(UsageUserRunning.amount),
        col(UsageUserRunning.requests),
        col(UsageUserRunning.tokens),
    ).where(col(UsageUserRunning.connection_id) == connection_id, col(UsageUserRunning.day) == day)
    rows: list[Any] = list((await execute(session, query)).all())
    return {row[0]: [row[1], row[2], int(row[3])] for row in rows}


async def _first_day_from(session: AsyncSession, connection_id: int, day: date) -> date | None:
    query = select(func.min(col(UsageUserDay.day))).where(
        col(UsageUserDay.connection_id) == connection_id, col(UsageUserDay.day) >= day
    )
    found: date | None = date_value((await execute(session, query)).scalar())
    return found


async def _last_day(session: AsyncSession, connection_id: int) -> date | None:
    query = select(func.max(col(UsageUserDay.day))).where(col(UsageUserDay.connection_id) == connection_id)
    found: date | None = date_value((await execute(session, query)).scalar())
    return found


async def _write_days(
    session: AsyncSession, connection_id: int, first: date, last: date, totals: dict[str, list[Any]]
) -> None:
    """Carry ``totals`` (through the day before ``first``) forward day by day, writing every person's row."""
    query = (
        select(
            col(UsageUserDay.day), col(UsageUserDay.user_email), *(getattr(UsageUserDay, m) for m in MEASURES)
        )
        .where(
            col(UsageUserDay.connection_id) == connection_id,
            col(UsageUserDay.day) >= first,
            col(UsageUserDay.day) <= last,
        )
        .order_by(col(UsageUserDay.day))
    )
    by_day: dict[date, list[Any]] = {}
    for row in (await execute(session, query)).all():
        by_day.setdefault(date_value(row[0]), []).append(row)
    values: list[dict[str, Any]] = []
    day = first
    while day <= last:
        for _, email, amount, requests, tokens in by_day.get(day, ()):
            total = totals.setdefault(email, [Decimal(0), Decimal(0), 0])
            total[0] += amount
            total[1] += requests
            total[2] += int(tokens)
        values.extend(
            {
                "connection_id": connection_id,
                "day": day,
                "user_email": email,
                "amount": t[0],
                "requests": t[1],
                "tokens": t[2],
            }
            for email, t in totals.items()
        )
        if len(values) >= _INSERT_CHUNK:
            await execute(session, insert(UsageUserRunning), values)
            values = []
        day += _DAY
    if values:
        await execute(session, insert(UsageUserRunning), values)


def running_days(state: UsageRunningState | None, first: date, last: date) -> list[tuple[date, int]] | None:
    """The days whose running rows, with their signs, sum whole days ``first..last`` by person; None when
    the running totals cannot answer (stale there, or never built): the day rollups must."""
    if state is None or (state.stale_from is not None and state.stale_from <= last):
        return None
    if state.first_day is None or state.last_day is None:
        return []
    high = min(last, state.last_day)
    if high < state.first_day:
        return []
    days = [(high, 1)]
    low = first - _DAY
    if low >= state.first_day:
        days.append((min(low, state.last_day), -1))
    elif state.floor_day is not None:
        days.append((state.floor_day, -1))
    return days


async def purge_before(session: AsyncSession, cutoff: date) -> None:
    """Drop running rows older than the day before ``cutoff``; that day's rows stay as the floor, the
    base of every period that starts before the kept history (so the purged days count as nothing)."""
    floor = cutoff - _DAY
    await execute(session, delete(UsageUserRunning).where(col(UsageUserRunning.day) < floor))
    found = await session.exec(
        select(UsageRunningState).where(col(UsageRunningState.first_day) < floor)  # type: ignore[call-overload]
    )
    for (state,) in found.all():
        if state.last_day is not None and state.last_day >= floor:
            state.first_day = state.floor_day = floor
        else:  # every running row was older: the history starts again with the next write
            state.first_day = state.last_day = None
        if state.stale_from is not None:
            state.stale_from = max(state.stale_from, cutoff)
        session.add(state)
