"""What a sync records: per-dataset progress, members, cycle spend, readings, and the usage windows."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from bot.domain.usage import Granularity, RateLimitStatus, SpendRow, Unit, Vendor
from bot.store.db import Database
from bot.store.models import CreditSnapshot, CycleSpendRow, MemberRow, RateLimitReading, TrackedFigureRow
from bot.store.repositories import Repositories
from tests.store.rows import NOW, connection, workspace


async def test_a_failure_counts_up_and_a_success_starts_again(
    database: Database, store: Repositories
) -> None:
    await workspace(database)
    row = await connection(database)
    assert row.id is not None
    records = store.sync
    await records.record_failure(row.id, "usage", NOW, "rate limited: slow down")
    await records.record_failure(row.id, "usage", NOW + timedelta(minutes=1), "rate limited: slow down")
    state = (await records.states(row.id))["usage"]
    assert (state.consecutive_failures, state.last_error, state.last_success_at) == (
        2,
        "rate limited: slow down",
        None,
    )
    done = NOW + timedelta(minutes=3)
    await records.record_success(row.id, "usage", NOW + timedelta(minutes=2), done, NOW)
    await records.record_success(row.id, "members", NOW, NOW, None)
    states = await records.states(row.id)
    usage = states["usage"]
    assert (usage.consecutive_failures, usage.last_error, usage.last_success_at) == (0, None, done)
    assert (usage.data_as_of, usage.watermark) == (NOW + timedelta(minutes=2), NOW)
    assert states["members"].watermark is None
    assert await records.last_success_by_connection([row.id]) == {row.id: done}


async def test_members_and_cycle_spend_are_replaced_wholesale(
    database: Database, store: Repositories
) -> None:
    await workspace(database)
    row = await connection(database)
    other = await connection(database, name="other")
    assert row.id is not None and other.id is not None
    records = store.sync

    def member(email: str) -> MemberRow:
        assert row.id is not None
        return MemberRow(connection_id=row.id, email=email, seen_at=NOW)

    await records.replace_members(row.id, [member("ana@example.com"), member("bo@example.com")])
    await records.replace_members(row.id, [member("ana@example.com")])
    assert await records.connections_with_member([row.id, other.id], "ana@example.com") == {row.id}
    assert await records.connections_with_member([row.id, other.id], "bo@example.com") == set()

    def spend(cycle: int, total: str) -> CycleSpendRow:
        assert row.id is not None
        start = NOW - timedelta(days=30 * cycle)
        return CycleSpendRow(
            connection_id=row.id,
            cycle_start=start,
            user_email="ana@example.com",
            total=Decimal(total),
            observed_at=NOW,
        )

    await records.replace_cycle_spend(row.id, NOW - timedelta(days=30), [spend(1, "100")])
    await records.replace_cycle_spend(row.id, NOW, [spend(0, "5")])
    await records.replace_cycle_spend(row.id, NOW, [spend(0, "7")])
    found, latest = await records.membership(row.id, "ana@example.com")
    assert found is not None and latest is not None and latest.total == Decimal(7)
    assert await records.membership(row.id, "bo@example.com") == (None, None)


async def test_rate_limit_readings_keep_the_totals_of_scopes_without_a_limiter(
    database: Database, store: Repositories
) -> None:
    await workspace(database)
    row = await connection(database)
    assert row.id is not None

    def status(scope: str, remaining: int) -> RateLimitStatus:
        return RateLimitStatus(scope, 20, remaining, None, timedelta(minutes=1), NOW)

    await store.sync.save_rate_limits(row.id, [status("admin", 19), status("usage", 5)], {"admin": (2, 1.5)})
    await store.sync.save_rate_limits(row.id, [status("admin", 18)], {})
    async with database.session() as session:
        admin = await session.get(RateLimitReading, (row.id, "admin"))
        usage = await session.get(RateLimitReading, (row.id, "usage"))
    assert admin is not None and (admin.remaining, admin.rate_limited_total, admin.waited_seconds_total) == (
        18,
        2,
        1.5,
    )
    assert usage is not None and (usage.window_seconds, usage.rate_limited_total) == (60, 0)


async def test_a_usage_window_and_its_coverage_are_written_together(
    database: Database, store: Repositories
) -> None:
    await workspace(database)
    row = await connection(database)
    assert row.id is not None
    start = NOW.replace(hour=0)
    rows = [
        SpendRow(
            Vendor.CURSOR,
            start,
            Granularity.QUARTER_HOUR,
            "ana@example.com",
            "gpt-5",
            Decimal(3),
            Unit.USD_CENTS,
        )
    ]
    await store.sync.replace_quarter_hours(
        row.id, start, start + timedelta(hours=1), rows, (start, start, NOW)
    )
    await store.sync.replace_quarter_hours(row.id, start, start + timedelta(hours=1), rows, None)
    state = (await store.sync.states(row.id))["usage"]
    assert (state.covered_from, state.target_from, state.watermark) == (start, start, NOW)
    assert await store.sync.requests_by_utc_day(row.id, start.date(), start.date()) == {
        start.date(): Decimal(0)
    }
    await store.sync.add_reading(TrackedFigureRow(connection_id=row.id, observed_at=NOW, value=Decimal(4)))
    await store.sync.add_reading(
        CreditSnapshot(
            connection_id=row.id,
            observed_at=NOW,
            unit="credits",
            size=Decimal(10),
            used=Decimal(1),
            remaining=Decimal(9),
        )
    )
