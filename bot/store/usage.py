"""Writing and reading usage history: quarter-hour buckets, their whole-UTC-day rollups, team totals.

Writes replace a time range wholesale (delete the range, insert what the vendor now says, recompute the
rollups it touches) in one short transaction, so running a sync twice changes nothing and late
corrections overwrite what was there.

Reads answer a period from the day rollups for the whole UTC days inside it and from the buckets for
the partial days at its edges, so a local-day period in any time zone is exact and still cheap. Series
by local day come from the per-team quarter-hour totals (96 rows a day, whatever the team size).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Date,
    Select,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col
from sqlmodel import select as sqlmodel_select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.periods import plan_rollups
from bot.domain.usage import SpendRow
from bot.store import past_ranges, running
from bot.store.db import execute
from bot.store.models import (
    UsageBucket,
    UsageDay,
    UsageModelBucket,
    UsageModelDay,
    UsageTeamBucket,
    UsageUserDay,
    UsageUserHour,
    UsageUserRunning,
)
from bot.store.types import Amount, date_value

_DAY = timedelta(days=1)
_HOUR = timedelta(hours=1)
ZERO = Decimal(0)
#: The figures every usage table holds, summed alike: money or credits, requests, tokens.
MEASURES = ("amount", "requests", "tokens")
#: The tables of the usage history and its rollups, which a backfill fills in bulk.
HISTORY_TABLES = tuple(
    str(table.__tablename__)
    for table in (
        UsageBucket,
        UsageTeamBucket,
        UsageModelBucket,
        UsageUserHour,
        UsageDay,
        UsageUserDay,
        UsageModelDay,
        UsageUserRunning,
    )
)

_Piece = tuple[type[Any], str | None, str, tuple[Any, ...], str | None]
"""A piece of a sum: (table, key column's name or None, how its rows are chosen: ``days`` (connection,
first, last), ``running`` (connection, day) or ``span`` (connections, start, end), those values, and
the one person's email it is limited to, if any)."""
_Part = tuple[Hashable, _Piece, int]
"""A piece with its sign in one range's sum, and what identifies it, so that ranges share pieces."""
_Shape = tuple[tuple[type[Any], str | None, str, bool, tuple[int, ...]], ...]
"""What a sum's statement is made of, without the values it is asked with: per piece its table, key,
kind, whether it is one person's, and its signs. Statements are built once per shape (the values are
bound parameters), so an answer neither builds its statement nor computes its cache key again."""
_STATEMENTS = 256
_VALUE_NAMES = {"days": ("c", "f", "l"), "running": ("c", "d"), "span": ("c", "s", "e")}
"""The names of a piece's values by kind, in its bound parameters ``p<piece>_<name>`` (and ``u``, the
person's email), as :func:`_where` binds them."""


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
    for table in (UsageBucket, UsageTeamBucket, UsageModelBucket):
        await execute(session, delete(table).where(*_in_buckets(table, connection_id, start, end)))
    if rows:
        await execute(
            session,
            insert(UsageBucket),
            [
                {
                    "connection_id": connection_id,
                    "bucket_start": row.bucket_start,
                    "user_email": row.user_email or "",
                    "model": row.model or "",
                    "amount": row.amount,
                    "requests": row.requests,
                    "tokens": row.tokens,
                }
                for row in rows
            ],
        )
        await _insert_sums(session, UsageTeamBucket, connection_id, rows, ("bucket_start",))
        await _insert_sums(session, UsageModelBucket, connection_id, rows, ("bucket_start", "model"))
    await _rebuild_user_hours(session, connection_id, start, end)
    last = (end - timedelta(microseconds=1)).date()
    await rebuild_day_rollups(session, connection_id, start.date(), last)
    await running.mark_stale(session, connection_id, start.date())


def _bucket_hour(session: AsyncSession) -> ColumnElement[Any]:
    """The UTC hour a bucket is in, in the dialect at hand (SQLite keeps naive UTC text)."""
    if _is_sqlite(session):
        return func.substr(col(UsageBucket.bucket_start), 1, 13).concat(":00:00.000000")
    utc = func.timezone("UTC", col(UsageBucket.bucket_start))
    return func.timezone("UTC", func.date_trunc("hour", utc))


async def _rebuild_user_hours(
    session: AsyncSession, connection_id: int, start: datetime, end: datetime
) -> None:
    """Recompute the person hours that ``[start, end)`` touches from the quarter hours, in SQL: the
    range is quarter-aligned, so its first and last hours also hold quarter hours it did not replace."""
    first, last = _hour_floor(start), _hour_ceiling(end)
    stale = delete(UsageUserHour).where(*_in_buckets(UsageUserHour, connection_id, first, last))
    await execute(session, stale)
    hour = _bucket_hour(session)
    summed = (
        select(
            literal(connection_id),
            hour,
            col(UsageBucket.user_email),
            *(func.sum(getattr(UsageBucket, measure)) for measure in MEASURES),
        )
        .where(*_in_buckets(UsageBucket, connection_id, first, last))
        .group_by(hour, col(UsageBucket.user_email))
    )
    columns = ["connection_id", "bucket_start", "user_email", *MEASURES]
    await execute(session, insert(UsageUserHour).from_select(columns, summed))


def _in_buckets(
    table: type[Any], connection_id: int, start: datetime, end: datetime
) -> tuple[ColumnElement[bool], ...]:
    """The rows of a table of time buckets (quarter hours, person hours) of one connection in
    ``[start, end)``."""
    return (
        col(table.connection_id) == connection_id,
        col(table.bucket_start) >= start,
        col(table.bucket_start) < end,
    )


def _hour_floor(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _hour_ceiling(moment: datetime) -> datetime:
    floor = _hour_floor(moment)
    return floor if floor == moment else floor + _HOUR


async def _insert_sums(
    session: AsyncSession, table: type[Any], connection_id: int, rows: Sequence[SpendRow], keys: Sequence[str]
) -> None:
    """Insert ``rows`` summed per ``keys`` (the per-team and per-model quarter hours)."""
    sums: dict[tuple[Any, ...], list[Any]] = {}
    for row in rows:
        cell = tuple(getattr(row, key) or "" for key in keys)
        _add(sums.setdefault(cell, _zeros()), row.amount, row.requests, row.tokens)
    await execute(
        session,
        insert(table),
        [
            {"connection_id": connection_id, **dict(zip(keys, cell, strict=True)), **_measures(total)}
            for cell, total in sums.items()
        ],
    )


async def rebuild_day_rollups(session: AsyncSession, connection_id: int, first: date, last: date) -> None:
    """Recompute the day rollups (by person and model, by person, by model) of ``first..last``, in SQL."""
    in_days = _in_buckets(UsageBucket, connection_id, day_start(first), day_start(last) + _DAY)
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
    await running.mark_stale(session, connection_id, first)


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


class UsageTotal(NamedTuple):
    """A sum over a period, for one ``key`` (a user email, a model; "" or None for no one, everything).

    A named tuple: an answer by person makes one for each of thousands of people.
    """

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
    complements: bool = True,
) -> list[UsageTotal]:
    """Totals over ``[start, end)``, overall (``by=None``) or by ``user`` or ``model``, in one statement.

    Whole UTC days come from the rollups (by person: two days of running totals), the partial days at
    the edges from the quarter-hour rows (:func:`~bot.domain.periods.plan_rollups`). Connections that
    only have day rows (Windsurf) are asked without ``complements``. Keys without any figure are left out.
    """
    return (await range_totals(session, connection_ids, [(start, end)], by, user_email, complements))[0]


async def range_totals(
    session: AsyncSession,
    connection_ids: Sequence[int],
    ranges: Sequence[tuple[datetime, datetime]],
    by: str | None = None,
    user_email: str | None = None,
    complements: bool = True,
) -> list[list[UsageTotal]]:
    """:func:`usage_totals` of several ranges in one statement (a period and its comparison share
    the pieces at their boundary)."""
    weighted = _weighted(await _parts(session, connection_ids, ranges, by, user_email, complements))
    if not weighted:
        return [[] for _ in ranges]
    statement = _summed(_shape(weighted), len(ranges))
    rows: list[Any] = list((await execute(session, statement, _params(weighted))).all())
    return [
        [
            UsageTotal(row[0], row[1 + 3 * index], row[2 + 3 * index], int(row[3 + 3 * index]))
            for row in rows
            if any(row[1 + 3 * index : 4 + 3 * index])
        ]
        for index in range(len(ranges))
    ]


class PeopleAndTotal(NamedTuple):
    """How many people used a source in a range, and its totals there (everyone's, no one's included)."""

    people: int
    total: UsageTotal


@dataclass(frozen=True)
class RankedTotals:
    """The largest keys of a sum by user or model, and what every key together comes to.

    ``rows``: at most the ``limit`` asked for, largest first; ``size``: how many keys have any figure;
    ``people``: as many, leaving out the key of no one ("", when by user: spend under no one);
    ``positive``: how many of those ranked above zero; ``total``: the sums over every key;
    ``unattributed``: spend under no one exists; ``previous``: the people and the sums of the range
    asked for beside it (None when none was).
    """

    rows: list[UsageTotal]
    size: int
    people: int
    positive: int
    total: UsageTotal
    unattributed: bool
    previous: PeopleAndTotal | None = None


async def ranked_totals(
    session: AsyncSession,
    connection_ids: Sequence[int],
    start: datetime,
    end: datetime,
    *,
    by: str,
    limit: int | None,
    order: str = "amount",
    people_first: bool = False,
    complements: bool = True,
    previous: tuple[datetime, datetime] | None = None,
) -> RankedTotals:
    """Totals by ``by`` over ``[start, end)`` ranked in SQL by ``order`` (``amount`` or ``requests``),
    only the first ``limit`` rows read (None: all), so an answer's cost follows the rows it shows.

    ``people_first`` ranks the row of no one after every person (a ranking of people). ``previous``
    (by user only): a second range whose people are counted in the same statement; the ranges of an
    answer and of its comparison share their boundary day's rows, so one pass reads both.
    """
    ranges = [(start, end)] if previous is None else [(start, end), previous]
    parts = await _parts(session, connection_ids, ranges, by, None, complements)
    nothing = UsageTotal(None, ZERO, ZERO)
    empty = RankedTotals(
        [], 0, 0, 0, nothing, False, None if previous is None else PeopleAndTotal(0, nothing)
    )
    weighted = _weighted(parts)
    if not weighted:
        return empty
    query = _ranking(_shape(weighted), len(ranges), order, people_first, limit)
    rows: list[Any] = list((await execute(session, query, _params(weighted))).all())
    if not rows:
        return empty
    head = rows[0]
    return RankedTotals(
        rows=[UsageTotal(row[0], row[1], row[2], int(row[3])) for row in rows if row[4]],
        size=int(head[5]),
        people=int(head[6]),
        positive=int(head[7]),
        total=UsageTotal(None, head[8], head[9], int(head[10])),
        unattributed=bool(head[11]),
        previous=None
        if previous is None
        else PeopleAndTotal(int(head[12]), UsageTotal(None, head[13], head[14], int(head[15]))),
    )


@lru_cache(maxsize=_STATEMENTS)
def _ranking(shape: _Shape, ranges: int, order: str, people_first: bool, limit: int | None) -> Select[Any]:
    """The keys of range 0 first, largest first (the first ``limit``), each row carrying the counts
    and totals of all of them and, with two ``ranges``, the people and totals of range 1.

    The sums by key are a common table read twice: once in one pass of aggregates for the counts and
    totals, once sorted for the rows. Window aggregates over every key would spill the whole grouping
    to a table of its own and sort it all, where the caller's ``LIMIT`` keeps only the rows shown.
    """
    counts_previous = ranges > 1
    grouped = _summed(shape, ranges).cte("grouped")
    key, ordered, shown = grouped.c.key, grouped.c[order], _nonzero(grouped, 0)
    person = and_(shown, key != "")
    counts = select(
        func.sum(_one_if(shown)),
        func.sum(_one_if(person)),
        func.sum(_one_if(and_(person, ordered > 0))),
        type_coerce(func.sum(grouped.c.amount), Amount),
        type_coerce(func.sum(grouped.c.requests), Amount),
        func.sum(grouped.c.tokens),
        func.max(_one_if(and_(key == "", grouped.c.amount != 0))),
        *(
            [
                func.sum(_one_if(and_(key != "", _nonzero(grouped, 1)))),
                type_coerce(func.sum(grouped.c.amount_1), Amount),
                type_coerce(func.sum(grouped.c.requests_1), Amount),
                func.sum(grouped.c.tokens_1),
            ]
            if counts_previous
            else []
        ),
    ).subquery("counts")
    return (
        select(*grouped.c[:4], _one_if(shown), *counts.c)
        .select_from(grouped.join(counts, literal(True)))
        .order_by(
            _one_if(shown).desc(),
            *([_one_if(key != "").desc()] if people_first else []),
            ordered.desc(),
            key,
        )
        .limit(limit)
    )


async def people_counts(
    session: AsyncSession, connection_ids: Sequence[int], ranges: Sequence[tuple[datetime, datetime]]
) -> list[PeopleAndTotal]:
    """How many people have any usage (money, requests or tokens) in each of ``ranges``, and the totals,
    in SQL in one statement over the rows of the totals by person (the ranges share their pieces)."""
    weighted = _weighted(await _parts(session, connection_ids, ranges, "user", None, True))
    if not weighted:
        return [PeopleAndTotal(0, UsageTotal(None, ZERO, ZERO)) for _ in ranges]
    statement = _people_and_totals(_shape(weighted), len(ranges))
    row: Any = (await execute(session, statement, _params(weighted))).one()
    return [
        PeopleAndTotal(
            int(row[4 * index] or 0),
            UsageTotal(
                None, row[4 * index + 1] or ZERO, row[4 * index + 2] or ZERO, int(row[4 * index + 3] or 0)
            ),
        )
        for index in range(len(ranges))
    ]


async def people_count(
    session: AsyncSession, connection_ids: Sequence[int], start: datetime, end: datetime
) -> int:
    """How many people have any usage in ``[start, end)``: one number, not a row per person."""
    return (await people_counts(session, connection_ids, [(start, end)]))[0].people


@lru_cache(maxsize=_STATEMENTS)
def _people_and_totals(shape: _Shape, ranges: int) -> Select[Any]:
    """Per range: the people (keys but no one's) with any figure, and the sums over every key."""
    grouped = _summed(shape, ranges).subquery()
    return select(
        *(
            column
            for index in range(ranges)
            for column in (
                func.sum(_one_if(and_(grouped.c.key != "", _nonzero(grouped, index)))),
                type_coerce(func.sum(grouped.c[_column("amount", index)]), Amount),
                type_coerce(func.sum(grouped.c[_column("requests", index)]), Amount),
                func.sum(grouped.c[_column("tokens", index)]),
            )
        )
    )


def _tables(by_person: bool, user_email: str | None) -> tuple[type[Any], type[Any]]:
    """(whole-day table, quarter-hour table) of a sum: one person's rows, everyone's by person (whose
    whole days the running totals answer when they can), or the per-model rows, a few a day."""
    if user_email is not None:
        return UsageDay, UsageBucket
    if by_person:
        return UsageUserDay, UsageBucket
    return UsageModelDay, UsageModelBucket


async def _parts(
    session: AsyncSession,
    connection_ids: Sequence[int],
    ranges: Sequence[tuple[datetime, datetime]],
    by: str | None,
    user_email: str | None,
    complements: bool,
) -> list[list[_Part]]:
    """For each range, the signed pieces that sum it: whole days from the smallest table that answers
    them (running totals by person, the model rollups otherwise), partial days from the fine rows."""
    by_person = by == "user" and user_email is None
    states = await running.states(session, connection_ids) if by_person and connection_ids else {}
    return [
        _range_parts(connection_ids, start, end, by, user_email, complements, states) for start, end in ranges
    ]


def _range_parts(
    connection_ids: Sequence[int],
    start: datetime,
    end: datetime,
    by: str | None,
    user_email: str | None,
    complements: bool,
    states: dict[int, Any],
) -> list[_Part]:
    """The pieces of one range (``states``: the connections' running totals, read once for all)."""
    plan = plan_rollups(start, end, complements=complements)
    if not connection_ids or (plan.days is None and not plan.spans):
        return []
    by_person = by == "user" and user_email is None
    day_table, bucket_table = _tables(by_person, user_email)
    key = {"user": "user_email", "model": "model"}.get(by or "")
    parts: list[_Part] = []
    if plan.days is not None:
        first, last = plan.days
        for connection_id in connection_ids:
            days = running.running_days(states.get(connection_id), first, last) if by_person else None
            if days is None:
                values: tuple[Any, ...] = (connection_id, first, last)
                parts.append((("days", *values), (day_table, key, "days", values, user_email), 1))
                continue
            for day, sign in days:
                piece = (UsageUserRunning, "user_email", "running", (connection_id, day), None)
                parts.append((("running", connection_id, day), piece, sign))
    for span_start, span_end, sign in plan.spans:
        for table, piece_start, piece_end in _span_pieces(bucket_table, span_start, span_end, by_person):
            values = (tuple(connection_ids), piece_start, piece_end)
            parts.append(
                (("span", table, piece_start, piece_end), (table, key, "span", values, user_email), sign)
            )
    return parts


def _span_pieces(
    bucket_table: type[Any], start: datetime, end: datetime, by_person: bool
) -> list[tuple[type[Any], datetime, datetime]]:
    """Where a partial day's span is read: everyone's by person from the person hours, with quarter
    hours only at its ends when they are not on the hour (a zone such as India's); else as it is."""
    middle_start, middle_end = _hour_ceiling(start), _hour_floor(end)
    if not by_person or middle_start >= middle_end:
        return [(bucket_table, start, end)]
    pieces: list[tuple[type[Any], datetime, datetime]] = [
        (bucket_table, start, middle_start),
        (UsageUserHour, middle_start, middle_end),
        (bucket_table, middle_end, end),
    ]
    return [(table, first, last) for table, first, last in pieces if first < last]


def _weighted(ranges: Sequence[Sequence[_Part]]) -> list[tuple[_Piece, tuple[int, ...]]]:
    """Each distinct piece once, with its sign in each range's sum (0: not in that range)."""
    merged: dict[Hashable, tuple[_Piece, list[int]]] = {}
    for index, parts in enumerate(ranges):
        for ident, piece, sign in parts:
            merged.setdefault(ident, (piece, [0] * len(ranges)))[1][index] += sign
    return [(piece, tuple(signs)) for piece, signs in merged.values() if any(signs)]


def _column(name: str, index: int) -> str:
    """The name of a measure's sum in range ``index`` (the first range's keep the plain names)."""
    return name if index == 0 else f"{name}_{index}"


def _times(column: Any, sign: int) -> Any:
    """A measure's stored integer times the piece's sign: cast out of the amount type first, which
    would otherwise scale the literal as an amount."""
    raw = type_coerce(column, BigInteger)
    return literal(0) if sign == 0 else raw if sign == 1 else -raw if sign == -1 else raw * sign


def _shape(weighted: Sequence[tuple[_Piece, tuple[int, ...]]]) -> _Shape:
    return tuple(
        (table, key, kind, person is not None, signs) for (table, key, kind, _, person), signs in weighted
    )


def _params(weighted: Sequence[tuple[_Piece, tuple[int, ...]]]) -> dict[str, Any]:
    """The values of a shape's bound parameters (:data:`_VALUE_NAMES`)."""
    params: dict[str, Any] = {}
    for index, ((_, _, kind, values, person), _) in enumerate(weighted):
        names = _VALUE_NAMES[kind]
        params.update({f"p{index}_{name}": value for name, value in zip(names, values, strict=True)})
        if person is not None:
            params[f"p{index}_u"] = person
    return params


def _where(table: type[Any], kind: str, of_person: bool, index: int) -> tuple[ColumnElement[bool], ...]:
    """The conditions that choose a piece's rows, on bound parameters named after the piece."""

    def value(name: str) -> Any:
        return bindparam(f"p{index}_{name}")

    person = (col(table.user_email) == value("u"),) if of_person else ()
    if kind == "running":
        return (col(table.connection_id) == value("c"), col(table.day) == value("d"))
    if kind == "days":
        return (
            col(table.connection_id) == value("c"),
            col(table.day).between(value("f"), value("l")),
            *person,
        )
    return (
        col(table.connection_id).in_(bindparam(f"p{index}_c", expanding=True)),
        col(table.bucket_start) >= value("s"),
        col(table.bucket_start) < value("e"),
        *person,
    )


@lru_cache(maxsize=_STATEMENTS)
def _summed(shape: _Shape, ranges: int = 1) -> Select[Any]:
    """(key, then amount, requests, tokens of each range) summed over the weighted pieces, for keys
    whose sums are not all zero."""
    pieces = [
        select(
            (col(getattr(table, key)) if key is not None else literal("")).label("key"),
            *(
                _times(col(getattr(table, measure)), signs[index]).label(_column(measure, index))
                for index in range(ranges)
                for measure in MEASURES
            ),
        ).where(*_where(table, kind, of_person, number))
        for number, (table, key, kind, of_person, signs) in enumerate(shape)
    ]
    every = (union_all(*pieces) if len(pieces) > 1 else pieces[0]).subquery()
    names = [_column(measure, index) for index in range(ranges) for measure in MEASURES]
    sums = {name: func.sum(every.c[name]) for name in names}
    return (
        select(
            every.c.key,
            *(
                (sums[name] if name.startswith("tokens") else type_coerce(sums[name], Amount)).label(name)
                for name in names
            ),
        )
        .group_by(every.c.key)
        .having(or_(*(total != 0 for total in sums.values())))
    )


def _nonzero(grouped: Any, index: int) -> ColumnElement[bool]:
    """Whether a key has any figure in range ``index`` of a summed subquery."""
    return or_(*(grouped.c[_column(measure, index)] != 0 for measure in MEASURES))


def _one_if(condition: ColumnElement[bool]) -> Any:
    return case((condition, 1), else_=0)


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
        day = date_value(row[0])
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
    return {date_value(r[0]): r[1] or ZERO for r in rows}


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
    return {row[0]: date_value(row[1]) for row in rows}


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
        found.setdefault(email, {})[date_value(day)] = amount
    return found


async def first_usage_day(session: AsyncSession, connection_id: int) -> date | None:
    """The first UTC day the stored history of a connection holds (None: none yet)."""
    query = select(func.min(col(UsageModelDay.day))).where(col(UsageModelDay.connection_id) == connection_id)
    value: Any = (await execute(session, query)).scalar()
    return None if value is None else date_value(value)


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
    for bucket_table in (UsageBucket, UsageUserHour, UsageTeamBucket, UsageModelBucket):
        await execute(session, delete(bucket_table).where(col(bucket_table.bucket_start) < cutoff))
    for day_table in (UsageDay, UsageUserDay, UsageModelDay):
        await execute(session, delete(day_table).where(col(day_table.day) < cutoff.date()))
    await running.purge_before(session, cutoff.date())
    await past_ranges.purge_before(session, cutoff)
