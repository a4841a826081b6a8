"""Reads of the usage history that answer insights: who used a tool in a period, and when people last did."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.store import usage
from bot.store.db import Database
from bot.store.repositories import Repositories
from tests.store.rows import connection, quarter, workspace


async def test_people_are_counted_once_over_whole_days_and_partial_edges(
    database: Database, store: Repositories
) -> None:
    await workspace(database)
    row = await connection(database)
    assert row.id is not None
    day = datetime(2026, 11, 2, tzinfo=UTC)
    rows = [
        quarter("edge@x.io", day + timedelta(hours=5), "1"),  # before a local start at 07:00: outside
        quarter("head@x.io", day + timedelta(hours=8), "2"),  # in the partial first day
        quarter("both@x.io", day + timedelta(hours=9), requests=1),  # head and a whole day: once
        quarter("both@x.io", day + timedelta(days=1, hours=3), tokens=5),
        quarter("whole@x.io", day + timedelta(days=1, hours=12), "3"),
        quarter("idle@x.io", day + timedelta(days=1, hours=13)),  # a row with nothing used
        quarter("", day + timedelta(days=1, hours=14), "9"),  # no person
        quarter("tail@x.io", day + timedelta(days=2, hours=6), "4"),  # in the partial last day
        quarter("late@x.io", day + timedelta(days=2, hours=8), "5"),  # after the end at 07:00
    ]
    await store.sync.replace_quarter_hours(row.id, day, day + timedelta(days=3), rows, None)
    start, end = day + timedelta(hours=7), day + timedelta(days=2, hours=7)
    async with database.session() as session:
        assert await usage.people_count(session, [row.id], start, end) == 4  # head, both, whole, tail
        assert await usage.people_count(session, [row.id], end, end) == 0
        last = await usage.last_use_days(session, row.id)
    assert last == {
        "edge@x.io": date(2026, 11, 2),
        "head@x.io": date(2026, 11, 2),
        "both@x.io": date(2026, 11, 3),
        "whole@x.io": date(2026, 11, 3),
        "tail@x.io": date(2026, 11, 4),
        "late@x.io": date(2026, 11, 4),
    }
