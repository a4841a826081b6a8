"""A past range's people and totals are counted once and kept, and never outlive a write of the history
they were counted from: on SQLite and PostgreSQL, through the figures every answer by person reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.domain.periods import parse_period, previous_period, resolve_period
from bot.domain.usage import SpendRow
from bot.services.usage_figures import UsageFigures
from bot.settings import Settings
from bot.store import past_ranges, usage
from bot.store.db import Database
from bot.store.models import Connection, UsagePastRange
from bot.store.repositories import Repositories
from tests.store.rows import connection, quarter, workspace

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
FIRST = datetime(2026, 10, 10, tzinfo=UTC)


def _history() -> list[SpendRow]:
    """Three people a day, at 02:00 UTC (the evening before in New York) and at 15:00."""
    rows = []
    for day in range((NOW - FIRST).days + 1):
        for index, person in enumerate(("ana@x.io", "bo@x.io", "cy@x.io")):
            for hour in (2, 15):
                moment = FIRST + timedelta(days=day, hours=hour)
                if moment < NOW and (person != "cy@x.io" or day % 2 == 0):
                    rows.append(quarter(person, moment, f"{100 * (index + 1)}", requests=1))
    return rows


async def _written(database: Database, store: Repositories, rows: list[SpendRow]) -> Connection:
    await workspace(database)
    row = await connection(database)
    assert row.id is not None
    await store.sync.replace_quarter_hours(row.id, FIRST, NOW, rows, None)
    await store.sync.refresh_running_totals(row.id)
    return row


def _figures(database: Database, tmp_path: Path) -> UsageFigures:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    return UsageFigures(settings, database, clock=lambda: NOW)


def _expected(rows: list[SpendRow], start: datetime, end: datetime) -> usage.PeopleAndTotal:
    inside = [row for row in rows if start <= row.bucket_start < end]
    return usage.PeopleAndTotal(
        len({row.user_email for row in inside}),
        usage.UsageTotal(None, sum((row.amount for row in inside), Decimal(0)), Decimal(len(inside)), 0),
    )


async def _kept(database: Database, connection_id: int) -> list[UsagePastRange]:
    async with database.session() as session:
        found = await session.exec(
            select(UsagePastRange).where(UsagePastRange.connection_id == connection_id)
        )
        return list(found.all())


async def test_the_previous_period_is_counted_once_kept_and_forgotten_by_a_write_that_reaches_it(
    database: Database, store: Repositories, tmp_path: Path
) -> None:
    rows = _history()
    row = await _written(database, store, rows)
    assert row.id is not None
    figures = _figures(database, tmp_path)
    period = resolve_period(parse_period("7d"), now=NOW, tz=NEW_YORK)
    previous = previous_period(period)
    before = (previous.start, previous.end)

    first = await figures.ranked(row, period.start, period.end, by="user", limit=2, previous=previous)
    assert first.previous == _expected(rows, *before)
    kept = await _kept(database, row.id)
    assert [(item.range_start, item.range_end, item.people) for item in kept] == [(*before, 3)]

    # The next answer reads the kept figures: the same, whichever way the previous period is asked for.
    again = await figures.ranked(row, period.start, period.end, by="user", limit=2, previous=previous)
    assert again == first
    both = await figures.people_in(row, before, (period.start, period.end))
    assert both[0] == first.previous and both[1].people == first.people

    # A late correction inside the previous period: forgotten in its own write, counted again, kept again.
    day = previous.start + timedelta(days=2)
    corrected = [item for item in rows if not day <= item.bucket_start < day + timedelta(days=1)]
    corrected.append(quarter("di@x.io", day + timedelta(hours=3), "5000", requests=1))
    window = [item for item in corrected if day <= item.bucket_start < day + timedelta(days=1)]
    await store.sync.replace_quarter_hours(row.id, day, day + timedelta(days=1), window, None)
    assert await _kept(database, row.id) == []
    later = await figures.ranked(row, period.start, period.end, by="user", limit=2, previous=previous)
    assert later.previous == _expected(corrected, *before)
    assert later.previous is not None and later.previous.people == 4
    assert [item.people for item in await _kept(database, row.id)] == [4]

    # A write of today only (the hourly sync) keeps the past range: it does not reach it.
    today = NOW.replace(hour=0)
    todays = [item for item in corrected if item.bucket_start >= today]
    await store.sync.replace_quarter_hours(row.id, today, NOW, todays, None)
    assert [item.people for item in await _kept(database, row.id)] == [4]

    # The retention purge forgets a range whose first days it dropped.
    async with database.write() as session:
        await usage.purge_before(session, previous.start + timedelta(days=1))
    assert await _kept(database, row.id) == []


async def test_a_count_read_before_a_write_is_not_kept_after_it(
    database: Database, store: Repositories
) -> None:
    rows = _history()
    row = await _written(database, store, rows)
    assert row.id is not None
    before = (FIRST + timedelta(days=3), FIRST + timedelta(days=10))
    async with database.session() as session:
        _, counted_at = await past_ranges.kept(session, row.id, *before)
        counted = (await usage.people_counts(session, [row.id], [before]))[0]
    # A sync rewrites a day of that range between the count and its keeping.
    day = FIRST + timedelta(days=5)
    await store.sync.replace_quarter_hours(row.id, day, day + timedelta(days=1), [], None)
    figures = UsagePastRange(
        connection_id=row.id,
        range_start=before[0],
        range_end=before[1],
        people=counted.people,
        amount=counted.total.amount,
        requests=counted.total.requests,
        tokens=counted.total.tokens,
    )
    async with database.write() as session:
        assert not await past_ranges.keep(session, figures, counted_at)
    assert await _kept(database, row.id) == []
    async with database.write() as session:
        assert await past_ranges.keep(session, figures, counted_at + 1)
    assert len(await _kept(database, row.id)) == 1


async def test_a_range_still_running_or_without_history_is_not_kept(
    database: Database, store: Repositories, tmp_path: Path
) -> None:
    await workspace(database)
    empty = await connection(database, name="empty")
    figures = _figures(database, tmp_path)
    period = resolve_period(parse_period("7d"), now=NOW, tz=NEW_YORK)
    assert empty.id is not None
    nothing = await figures.people_in(
        empty, (period.start - timedelta(days=7), period.start), (period.start, period.end)
    )
    assert [item.people for item in nothing] == [0, 0]
    assert await _kept(database, empty.id) == []  # no history was ever written: nothing to keep

    rows = _history()
    await store.sync.replace_quarter_hours(empty.id, FIRST, NOW, rows, None)
    running = (period.start, NOW + timedelta(hours=1))  # ends after now: a sync would change it
    await figures.people_in(empty, running, (period.start, period.end))
    assert await _kept(database, empty.id) == []
