"""Writing and reading usage history: quarter-hour buckets, their whole-UTC-day rollups, team totals.

Writes replace a time range wholesale (delete the range, insert what the vendor now says, recompute the
rollups it touches) in one short transaction, so running a sync twice changes nothing and late
corrections overwrite what was there.

Reads answer a period from the day rollups for the whole UTC days inside it and from the buckets for
the partial days at its edges, so a local-day period in any time zone is exact and still cheap. Series
by local day come from the per-team quarter-hour totals (96 rows a day, whatever the team size).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Executable, cast, delete, func, insert, literal, select, union
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col
from sqlmodel import select as sqlmodel_select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.periods import split_for_rollups
from bot.domain.usage import SpendRow
from bot.store.db import execute
from bot.store.models import (
    UsageBucket,
    UsageDay,
    UsageModelDay,
    UsageTeamBucket,
    UsageUserDay,
)

_DAY = timedelta(days=1)
ZERO = Decimal(0)
#: The figures every usage table holds, summed alike: money or credits, requests, tokens.
MEASURES = ("amount", "requests", "tokens")


def _zeros() -> list[Any]:
    return [ZERO, ZERO, 0]


def _add(total: list[Any], amount: Decimal, requests: Decimal, tokens: int) -> None:
    total[0] += amount
    total[1] += requests
    total[2] += tokens


def _measures(total: Sequence[Any]) -> dict[str, Any]:
    return dict(zip(MEASURES, total, strict=True))


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _is_sqlite(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "sqlite"


def _as_date(value: Any) -> date:
    """A date column's value: SQLite hands back ISO text, PostgreSQL a date."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def _bucket_day(session: AsyncSession) -> ColumnElement[Any]:
    """The UTC date of a bucket, in the dialect at hand (SQLite keeps naive UTC text)."""
    if _is_sqlite(session):
        return func.date(col(UsageBucket.bucket_start))
    return cast(func.timezone("UTC", col(UsageBucket.bucket_start)), Date)


async def replace_buckets(
    session: AsyncSession, connection_id: int, start: datetime, end: datetime, rows: Sequence[SpendRow]
) -> None:
    """Make ``[start, end)`` hold exactly ``rows`` (quarter-hour rows), then refresh the rollups.

    ``start`` and ``end`` must be quarter-hour boundaries, so no bucket is half replaced.
    """
    for table in (UsageBucket, UsageTeamBucket):
        await execute(
            session,
            delete(table).where(
                col(table.connection_id) == connection_id,
                col(table.bucket_start) >= start,
                col(table.bucket_start) < end,
            ),
        )
    values = []
    team: dict[datetime, list[Any]] = {}
    for row in rows:
        values.append(
            {
                "connection_id": connection_id,
                "bucket_start": row.bucket_start,
                "user_email": row.user_email or "",
                "model": row.model or "",
                "amount": row.amount,
                "requests": row.requests,
                "tokens": row.tokens,
            }
        )
        _add(team.setdefault(row.bucket_start, _zeros()), row.amount, row.requests, row.tokens)
    if values:
        await execute(session, insert(UsageBucket), values)
        await execute(
            session,
            insert(UsageTeamBucket),
            [
                {"connection_id": connection_id, "bucket_start": bucket, **_measures(total)}
                for bucket, total in team.items()
            ],
        )
    last = (end - timedelta(microseconds=1)).date()
    await rebuild_day_rollups(session, connection_id, start.date(), last)


async def rebuild_day_rollups(session: AsyncSession, connection_id: int, first: date, last: date) -> None:
    """Recompute the day rollups (by person and model, by person, by model) of ``first..last``, in SQL."""
    in_days = (
        col(UsageBucket.connection_id) == connection_id,
        col(UsageBucket.bucket_start) >= day_start(first),
        col(UsageBucket.bucket_start) < day_start(last) + _DAY,
    )
    bucket_day = _bucket_day(session)
    groupings: list[tuple[type[Any], list[Any]]] = [
        (UsageDay, [col(UsageBucket.user_email), col(UsageBucket.model)]),
        (UsageUserDay, [col(UsageBucket.user_email)]),
        (UsageModelDay, [col(UsageBucket.model)]),
    ]
    for table, keys in groupings:
        await _delete_days(session, table, connection_id, first, last)
        summed = (
            select(
                literal(connection_id),
                bucket_day,
                *keys,
                *(func.sum(getattr(UsageBucket, measure)) for measure in MEASURES),
            )
            .where(*in_days)
            .group_by(bucket_day, *keys)
        )
        columns = ["connection_id", "day", *(key.key for key in keys), *MEASURES]
        await execute(session, insert(table).from_select(columns, summed))


async def _delete_days(
    session: AsyncSession, table: type[Any], connection_id: int, first: date, last: date
) -> None:
    await execute(
        session,
        delete(table).where(
            col(table.connection_id) == connection_id, col(table.day) >= first, col(table.day) <= last
        ),
    )


async def replace_days(
    session: AsyncSession, connection_id: int, first: date, last: date, rows: Iterable[SpendRow]
) -> None:
    """Make days ``first..last`` hold exactly ``rows`` (whole-UTC-day rows, e.g. Windsurf credits)."""
    totals, by_user, by_model = day_sums(rows)
    tables: list[tuple[type[Any], list[dict[str, Any]]]] = [
        (
            UsageDay,
            [
                {"day": day, "user_email": user, "model": model, **_measures(total)}
                for (day, user, model), total in totals.items()
            ],
        ),
        (
            UsageUserDay,
            [{"day": day, "user_email": user, **_measures(total)} for (day, user), total in by_user.items()],
        ),
        (
            UsageModelDay,
            [{"day": day, "model": model, **_measures(total)} for (day, model), total in by_model.items()],
        ),
    ]
    for table, values in tables:
        await _delete_days(session, table, connection_id, first, last)
        if values:
            await execute(
                session, insert(table), [{"connection_id": connection_id, **value} for value in values]
            )


DaySums = dict[tuple[date, str, str], list[Any]]
"""(amount, requests, tokens) per (UTC day, user email, model); "" stands for no user or no model."""


def day_sums(
    rows: Iterable[SpendRow],
) -> tuple[DaySums, dict[tuple[date, str], list[Any]], dict[tuple[date, str], list[Any]]]:
    """Whole-day rows summed per (day, user, model), and the same sums per (day, user) and (day, model)."""
    totals: DaySums = {}
    for row in rows:
        cell = (row.day, row.user_email or "", row.model or "")
        _add(totals.setdefault(cell, _zeros()), row.amount, row.requests, row.tokens)
    by_user: dict[tuple[date, str], list[Any]] = {}
    by_model: dict[tuple[date, str], list[Any]] = {}
    for (day, user, model), total in totals.items():
        for target, key in ((by_user, (day, user)), (by_model, (day, model))):
            _add(target.setdefault(key, _zeros()), *total)
    return totals, by_user, by_model


@dataclass(frozen=True)
class UsageTotal:
    """A sum over a period, for one ``key`` (a user email, a model, or None for everything)."""

    key: str | None
    amount: Decimal
    requests: Decimal
    tokens: int = 0


async def usage_totals(
    session: AsyncSession,
    connection_ids: Sequence[int],
    start: datetime,
    end: datetime,
    *,
    by: str | None = None,
    user_email: str | None = None,
) -> list[UsageTotal]:
    """Totals over ``[start, end)``, overall (``by=None``) or by ``user`` or ``model``.

    Whole UTC days come from the rollups; the partial days at the edges from the quarter-hour buckets.
    Connections that only have day rows (Windsurf) must be asked with UTC-day bounds.
    """
    if not connection_ids:
        return []
    totals: dict[str | None, list[Any]] = {}
    head, days, tail = split_for_rollups(start, end)
    if days is not None:
        query = _rollup_query(connection_ids, days[0], days[1], by=by, user_email=user_email)
        _accumulate(totals, (await execute(session, query)).all())
    for edge_start, edge_end in (edge for edge in (head, tail) if edge is not None):
        query = _bucket_query(connection_ids, edge_start, edge_end, by=by, user_email=user_email)
        _accumulate(totals, (await execute(session, query)).all())
    return [UsageTotal(key, *total) for key, total in totals.items() if any(total)]


def _rollup_query(
    connection_ids: Sequence[int], first: date, last: date, *, by: str | None, user_email: str | None
) -> Executable:
    """(key, amount, requests, tokens) over whole UTC days ``first..last``, from the smallest rollup."""
    table: type[Any] = UsageDay
    if user_email is None and by == "user":
        table = UsageUserDay
    elif user_email is None and by == "model":
        table = UsageModelDay
    elif user_email is None:
        table = UsageModelDay  # fewest rows per day, and the same totals
    key = col(getattr(table, {"user": "user_email", "model": "model"}[by])) if by else None
    query = select(
        key if key is not None else literal(None),
        *(func.sum(getattr(table, measure)) for measure in MEASURES),
    ).where(
        col(table.connection_id).in_(connection_ids),
        col(table.day) >= first,
        col(table.day) <= last,
    )
    if user_email is not None:
        query = query.where(col(UsageDay.user_email) == user_email)
    if key is not None:
        query = query.group_by(key)
    return query


def _bucket_query(
    connection_ids: Sequence[int], start: datetime, end: datetime, *, by: str | None, user_email: str | None
) -> Executable:
    """(key, amount, requests, tokens) over ``[start, end)`` from the quarter-hour buckets (partial days)."""
    key = {"user": col(UsageBucket.user_email), "model": col(UsageBucket.model)}.get(by or "")
    query = select(
        key if key is not None else literal(None),
        *(func.sum(getattr(UsageBucket, measure)) for measure in MEASURES),
    ).where(
        col(UsageBucket.connection_id).in_(connection_ids),
        col(UsageBucket.bucket_start) >= start,
        col(UsageBucket.bucket_start) < end,
    )
    if user_email is not None:
        query = query.where(col(UsageBucket.user_email) == user_email)
    if key is not None:
        query = query.group_by(key)
    return query


async def people_count(
    session: AsyncSession, connection_ids: Sequence[int], start: datetime, end: datetime
) -> int:
    """How many people have any usage (money, requests or tokens) in ``[start, end)``.

    Counted in SQL over the day rollups and the partial days' buckets, so a large team costs one
    number, not a row per person.
    """
    if not connection_ids:
        return 0
    head, days, tail = split_for_rollups(start, end)
    selects: list[Any] = []
    if days is not None:
        selects.append(
            select(col(UsageUserDay.user_email)).where(
                col(UsageUserDay.connection_id).in_(connection_ids),
                col(UsageUserDay.day) >= days[0],
                col(UsageUserDay.day) <= days[1],
                col(UsageUserDay.user_email) != "",
                _used(UsageUserDay),
            )
        )
    for edge_start, edge_end in (edge for edge in (head, tail) if edge is not None):
        selects.append(
            select(col(UsageBucket.user_email)).where(
                col(UsageBucket.connection_id).in_(connection_ids),
                col(UsageBucket.bucket_start) >= edge_start,
                col(UsageBucket.bucket_start) < edge_end,
                col(UsageBucket.user_email) != "",
                _used(UsageBucket),
            )
        )
    if not selects:
        return 0
    people = union(*selects).subquery()  # UNION drops the duplicates
    value: Any = (await execute(session, select(func.count()).select_from(people))).scalar()
    return int(value or 0)


def _used(table: type[Any]) -> ColumnElement[bool]:
    return (col(table.amount) != 0) | (col(table.requests) != 0) | (col(table.tokens) != 0)


async def team_total(
    session: AsyncSession, connection_ids: Sequence[int], start: datetime, end: datetime
) -> UsageTotal:
    """The whole team's total over ``[start, end)`` from the per-team quarter-hour rows.

    Exact for any local period (quarter-hour bounds) and cheap whatever the team size: 96 rows a day.
    Only sources with timestamps (Cursor) have these rows.
    """
    query = select(*(func.sum(getattr(UsageTeamBucket, measure)) for measure in MEASURES)).where(
        col(UsageTeamBucket.connection_id).in_(connection_ids),
        col(UsageTeamBucket.bucket_start) >= start,
        col(UsageTeamBucket.bucket_start) < end,
    )
    row: Any = (await execute(session, query)).one()
    return UsageTotal(None, row[0] or ZERO, row[1] or ZERO, int(row[2] or 0))


def _accumulate(totals: dict[str | None, list[Any]], rows: Iterable[Any]) -> None:
    for key, amount, requests, tokens in rows:
        _add(totals.setdefault(key, _zeros()), amount or ZERO, requests or ZERO, int(tokens or 0))


async def usage_by_local_day(
    session: AsyncSession,
    connection_ids: Sequence[int],
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
    *,
    user_email: str | None = None,
) -> dict[date, Decimal]:
    """Spend per local day of ``tz`` over ``[start, end)``, from quarter-hour rows (exact across DST)."""
    if not connection_ids:
        return {}
    if user_email is None:
        query = select(col(UsageTeamBucket.bucket_start), col(UsageTeamBucket.amount)).where(
            col(UsageTeamBucket.connection_id).in_(connection_ids),
            col(UsageTeamBucket.bucket_start) >= start,
            col(UsageTeamBucket.bucket_start) < end,
        )
    else:
        query = select(col(UsageBucket.bucket_start), col(UsageBucket.amount)).where(
            col(UsageBucket.connection_id).in_(connection_ids),
            col(UsageBucket.user_email) == user_email,
            col(UsageBucket.bucket_start) >= start,
            col(UsageBucket.bucket_start) < end,
        )
    series: dict[date, Decimal] = {}
    rows: list[Any] = list((await execute(session, query)).all())
    for row in rows:
        local = row[0].astimezone(tz).date()
        series[local] = series.get(local, ZERO) + row[1]
    return series


async def usage_by_utc_day(
    session: AsyncSession,
    connection_ids: Sequence[int],
    first: date,
    last: date,
    *,
    user_email: str | None = None,
) -> dict[date, Decimal]:
    """Spend per UTC day from the rollups (for sources that only report whole UTC days)."""
    if not connection_ids:
        return {}
    query = (
        select(col(UsageDay.day), func.sum(col(UsageDay.amount)))
        .where(
            col(UsageDay.connection_id).in_(connection_ids),
            col(UsageDay.day) >= first,
            col(UsageDay.day) <= last,
        )
        .group_by(col(UsageDay.day))
    )
    if user_email is not None:
        query = query.where(col(UsageDay.user_email) == user_email)
    series: dict[date, Decimal] = {}
    rows: list[Any] = list((await execute(session, query)).all())
    for row in rows:
        day = _as_date(row[0])
        series[day] = row[1] or ZERO
    return series


async def requests_by_utc_day(
    session: AsyncSession, connection_id: int, first: date, last: date
) -> dict[date, Decimal]:
    """Requests (events) per UTC day from the rollups: how busy a connection has been."""
    query = (
        select(col(UsageDay.day), func.sum(col(UsageDay.requests)))
        .where(
            col(UsageDay.connection_id) == connection_id,
            col(UsageDay.day) >= first,
            col(UsageDay.day) <= last,
        )
        .group_by(col(UsageDay.day))
    )
    rows: list[Any] = list((await execute(session, query)).all())
    return {_as_date(r[0]): r[1] or ZERO for r in rows}


async def last_use_days(session: AsyncSession, connection_id: int) -> dict[str, date]:
    """Each person's last UTC day with any usage (money, requests or tokens) in the stored history."""
    query = (
        select(col(UsageUserDay.user_email), func.max(col(UsageUserDay.day)))
        .where(
            col(UsageUserDay.connection_id) == connection_id,
            col(UsageUserDay.user_email) != "",
            _used(UsageUserDay),
        )
        .group_by(col(UsageUserDay.user_email))
    )
    rows: list[Any] = list((await execute(session, query)).all())
    return {row[0]: _as_date(row[1]) for row in rows}


async def user_day_amounts(
    session: AsyncSession, connection_id: int, first: date, last: date
) -> dict[str, dict[date, Decimal]]:
    """Each person's amount per UTC day ``first..last`` (days without use are absent)."""
    query = select(col(UsageUserDay.user_email), col(UsageUserDay.day), col(UsageUserDay.amount)).where(
        col(UsageUserDay.connection_id) == connection_id,
        col(UsageUserDay.user_email) != "",
        col(UsageUserDay.day) >= first,
        col(UsageUserDay.day) <= last,
        col(UsageUserDay.amount) != 0,
    )
    found: dict[str, dict[date, Decimal]] = {}
    rows: list[Any] = list((await execute(session, query)).all())
    for email, day, amount in rows:
        found.setdefault(email, {})[_as_date(day)] = amount
    return found


async def first_usage_day(session: AsyncSession, connection_id: int) -> date | None:
    """The first UTC day the stored history of a connection holds (None: none yet)."""
    query = select(func.min(col(UsageModelDay.day))).where(col(UsageModelDay.connection_id) == connection_id)
    value: Any = (await execute(session, query)).scalar()
    return None if value is None else _as_date(value)


async def day_rows(session: AsyncSession, connection_id: int, first: date, last: date) -> list[UsageDay]:
    """The day rollup rows (per person and model) of ``first..last``, by day, person and model."""
    found = await session.exec(
        sqlmodel_select(UsageDay)
        .where(
            UsageDay.connection_id == connection_id,
            col(UsageDay.day) >= first,
            col(UsageDay.day) <= last,
        )
        .order_by(col(UsageDay.day), col(UsageDay.user_email), col(UsageDay.model))
    )
    return list(found.all())


async def purge_before(session: AsyncSession, cutoff: datetime) -> None:
    """Drop usage history older than ``cutoff`` (the retention setting)."""
    for bucket_table in (UsageBucket, UsageTeamBucket):
        await execute(session, delete(bucket_table).where(col(bucket_table.bucket_start) < cutoff))
    for day_table in (UsageDay, UsageUserDay, UsageModelDay):
        await execute(session, delete(day_table).where(col(day_table.day) < cutoff.date()))
