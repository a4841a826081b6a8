"""Totals by person and by model from the running totals and the signed partial days, checked against
a plain sum of the quarter-hour rows over many ranges: before the rebuild, after it, after a late
correction, and after the retention purge."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import text
from sqlmodel import col, select

from bot.domain.usage import Granularity, SpendRow, Unit, Vendor
from bot.store import usage
from bot.store.db import Database
from bot.store.models import UsageRunningState, UsageUserRunning
from bot.store.repositories import Repositories
from tests.store.rows import connection, workspace

DAY0 = datetime(2026, 10, 1, tzinfo=UTC)
PEOPLE = ("ana@x.io", "bo@x.io", "cy@x.io", "di@x.io", "")
MODELS = ("fast", "slow")


def _rows(seed: int, first: datetime, days: int) -> list[SpendRow]:
    """Quarter hours of a few people over ``days`` days: some people stop, one starts late, some rows
    use nothing, one person has requests but no money."""
    pick = random.Random(seed)
    rows = []
    for quarter in range(days * 96):
        moment = first + timedelta(minutes=15 * quarter)
        for person in PEOPLE:
            if pick.random() < 0.8 or (person == "cy@x.io" and quarter > days * 48):
                continue
            if person == "di@x.io" and quarter < 96:
                continue
            cents = "0" if person == "bo@x.io" else f"{pick.randint(0, 900)}.{pick.randint(0, 999999):06d}"
            rows.append(
                SpendRow(
                    vendor=Vendor.CURSOR,
                    bucket_start=moment,
                    granularity=Granularity.QUARTER_HOUR,
                    user_email=person,
                    model=pick.choice(MODELS),
                    amount=Decimal(cents),
                    unit=Unit.USD_CENTS,
                    requests=Decimal(pick.randint(0, 3)),
                    tokens=pick.randint(0, 5000),
                )
            )
    return rows


def _expected(
    rows: Sequence[SpendRow], start: datetime, end: datetime, key: str
) -> dict[str, tuple[Decimal, Decimal, int]]:
    sums: dict[str, list[object]] = {}
    for row in rows:
        if start <= row.bucket_start < end:
            name = (row.user_email if key == "user" else row.model) or ""
            total = sums.setdefault(name, [Decimal(0), Decimal(0), 0])
            total[0] += row.amount  # type: ignore[operator]
            total[1] += row.requests  # type: ignore[operator]
            total[2] += row.tokens  # type: ignore[operator]
    return {name: (t[0], t[1], t[2]) for name, t in sums.items() if any(t)}  # type: ignore[misc]


def _ranges(seed: int, first: datetime, days: int) -> list[tuple[datetime, datetime]]:
    pick = random.Random(seed)
    found = [(first, first + timedelta(days=days)), (first + timedelta(hours=5), first + timedelta(hours=19))]
    for _ in range(40):
        start = first + timedelta(minutes=15 * pick.randint(-96, days * 96))
        found.append((start, start + timedelta(minutes=15 * pick.randint(0, 20 * 96))))
    return found


async def _check(database: Database, connection_id: int, rows: Sequence[SpendRow], days: int) -> None:
    async with database.session() as session:
        for start, end in _ranges(days, DAY0, days):
            for key in ("user", "model"):
                got = await usage.usage_totals(session, [connection_id], start, end, by=key)
                assert {row.key or "": (row.amount, row.requests, row.tokens) for row in got} == _expected(
                    rows, start, end, key
                ), (start, end, key)
            people = {name for name in _expected(rows, start, end, "user") if name}
            assert await usage.people_count(session, [connection_id], start, end) == len(people)


async def _running_state(database: Database, connection_id: int) -> UsageRunningState:
    async with database.session() as session:
        state = await session.get(UsageRunningState, connection_id)
    assert state is not None
    return state


async def test_totals_by_person_and_model_are_exact_before_and_after_the_rebuild(
    database: Database, store: Repositories
) -> None:
    await workspace(database)
    row = await connection(database)
    assert row.id is not None
    days = 9
    rows = _rows(1, DAY0, days)
    # Written newest window first, as a backfill does.
    for offset in range(days - 3, -1, -3):
        start = DAY0 + timedelta(days=offset)
        window = [item for item in rows if start <= item.bucket_start < start + timedelta(days=3)]
        await store.sync.replace_quarter_hours(row.id, start, start + timedelta(days=3), window, None)
    assert (await _running_state(database, row.id)).stale_from == DAY0.date()
    await _check(database, row.id, rows, days)  # stale: the day rollups answer

    await store.sync.refresh_running_totals(row.id)
    state = await _running_state(database, row.id)
    assert (state.stale_from, state.first_day, state.last_day) == (None, date(2026, 10, 1), date(2026, 10, 9))
    async with database.session() as session:
        on_last_day = (
            await session.exec(
                select(UsageUserRunning).where(
                    UsageUserRunning.connection_id == row.id, col(UsageUserRunning.day) == date(2026, 10, 9)
                )
            )
        ).all()
    assert {item.user_email for item in on_last_day} == set(PEOPLE)  # dense: cy stopped, still a row
    await _check(database, row.id, rows, days)

    # A late correction of day 3 marks the totals stale from there; answers stay exact meanwhile.
    start = DAY0 + timedelta(days=2)
    corrected = _rows(2, start, 1)
    rows = [item for item in rows if not start <= item.bucket_start < start + timedelta(days=1)] + corrected
    await store.sync.replace_quarter_hours(row.id, start, start + timedelta(days=1), corrected, None)
    assert (await _running_state(database, row.id)).stale_from == date(2026, 10, 3)
    await _check(database, row.id, rows, days)
    await store.sync.refresh_running_totals(row.id)
    assert (await _running_state(database, row.id)).stale_from is None
    await _check(database, row.id, rows, days)

    # A window off the hour (an incremental sync's): the person hours it cuts are summed again whole.
    start, end = (
        DAY0 + timedelta(days=4, hours=10, minutes=15),
        DAY0 + timedelta(days=4, hours=13, minutes=45),
    )
    corrected = [item for item in _rows(3, start, 1) if item.bucket_start < end]
    rows = [item for item in rows if not start <= item.bucket_start < end] + corrected
    await store.sync.replace_quarter_hours(row.id, start, end, corrected, None)
    await store.sync.refresh_running_totals(row.id)
    await _check(database, row.id, rows, days)


async def test_the_retention_purge_keeps_totals_exact_over_what_is_kept(
    database: Database, store: Repositories
) -> None:
    await workspace(database)
    row = await connection(database)
    assert row.id is not None
    days = 8
    rows = _rows(3, DAY0, days)
    await store.sync.replace_quarter_hours(row.id, DAY0, DAY0 + timedelta(days=days), rows, None)
    await store.sync.refresh_running_totals(row.id)
    cutoff = DAY0 + timedelta(days=3)
    async with database.write() as session:
        await usage.purge_before(session, cutoff)
    state = await _running_state(database, row.id)
    assert (state.first_day, state.floor_day) == (date(2026, 10, 3), date(2026, 10, 3))
    kept = [item for item in rows if item.bucket_start >= cutoff]
    await _check(database, row.id, kept, days)

    # New days after the purge extend the totals from the floor.
    later = _rows(4, DAY0 + timedelta(days=days), 2)
    await store.sync.replace_quarter_hours(
        row.id, DAY0 + timedelta(days=days), DAY0 + timedelta(days=days + 2), later, None
    )
    await store.sync.refresh_running_totals(row.id)
    await _check(database, row.id, kept + later, days + 2)


async def test_a_ranking_reads_only_its_first_rows_and_counts_every_one(
    database: Database, store: Repositories
) -> None:
    await workspace(database)
    row = await connection(database)
    assert row.id is not None
    days = 4
    rows = _rows(5, DAY0, days)
    await store.sync.replace_quarter_hours(row.id, DAY0, DAY0 + timedelta(days=days), rows, None)
    await store.sync.refresh_running_totals(row.id)
    start, end = DAY0 + timedelta(hours=5), DAY0 + timedelta(days=3, hours=5)
    expected = _expected(rows, start, end, "user")
    async with database.session() as session:
        for order, people_first in (("amount", False), ("requests", True)):
            index = 0 if order == "amount" else 1
            ranked = await usage.ranked_totals(
                session, [row.id], start, end, by="user", limit=2, order=order, people_first=people_first
            )
            ordered = sorted(
                expected.items(), key=lambda item: (people_first and item[0] == "", -item[1][index], item[0])
            )
            assert [(item.key, item.amount) for item in ranked.rows] == [(k, v[0]) for k, v in ordered[:2]]
            assert ranked.size == len(expected)
            assert ranked.people == len([key for key in expected if key])
            assert ranked.positive == len([key for key, v in expected.items() if key and v[index] > 0])
            assert ranked.total.amount == sum((v[0] for v in expected.values()), Decimal(0))
            assert ranked.total.tokens == sum(v[2] for v in expected.values())
            assert ranked.unattributed == (expected.get("", (Decimal(0),))[0] != 0)
        # The comparison range's people, counted in the same pass (and alone, in one statement).
        before = (start - timedelta(days=1, hours=7), start)
        both = await usage.ranked_totals(session, [row.id], start, end, by="user", limit=2, previous=before)
        people_before = len([key for key in _expected(rows, *before, "user") if key])
        assert both.previous is not None and both.total == ranked.total
        assert both.previous.people == people_before and both.people == len([k for k in expected if k])
        assert both.previous.total.amount == sum(
            (v[0] for v in _expected(rows, *before, "user").values()), Decimal(0)
        )
        counted = await usage.people_counts(session, [row.id], [before, (start, end)])
        assert counted == [both.previous, usage.PeopleAndTotal(both.people, both.total)]
        everyone = await usage.ranked_totals(session, [row.id], start, end, by="user", limit=None)
        assert len(everyone.rows) == len(expected)
        nothing = await usage.ranked_totals(session, [row.id], end, end, by="user", limit=3)
    assert (nothing.rows, nothing.size, nothing.unattributed) == ([], 0, False)


async def test_a_backfills_rebuild_refreshes_postgresqls_statistics_of_the_history(
    database: Database, store: Repositories
) -> None:
    """A table PostgreSQL never analysed is planned as if empty: a backfill's rebuild analyses them."""
    await workspace(database)
    row = await connection(database)
    assert row.id is not None
    days = 16  # more than a week: the rebuild takes several steps, as a backfill's does
    await store.sync.replace_quarter_hours(
        row.id, DAY0, DAY0 + timedelta(days=days), _rows(3, DAY0, days), None
    )
    await store.sync.refresh_running_totals(row.id)
    if database.is_sqlite:
        return  # SQLite plans by its keys; nothing was asked of it
    async with database.session() as session:
        found = await session.exec(  # type: ignore[call-overload]
            text("SELECT relname, reltuples FROM pg_class WHERE relname = ANY(:names)").bindparams(
                names=list(usage.HISTORY_TABLES)
            )
        )
        analysed = dict(found.all())
    assert set(analysed) == set(usage.HISTORY_TABLES)
    assert analysed["usage_user_running"] > 0 and analysed["usage_buckets"] > 0  # -1: never analysed
