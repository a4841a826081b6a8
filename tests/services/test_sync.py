"""Sync against the vendor simulators: the store must hold exactly what the vendor's data says."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.services.container import Services
from bot.services.sync import ProgressEvent
from bot.simulators.anthropic import AnthropicSimulator
from bot.simulators.copilot import CopilotSimulator
from bot.simulators.cursor import CursorSimulator
from bot.simulators.openai import OpenAISimulator
from bot.simulators.rest import RestSimulator
from bot.simulators.windsurf import WindsurfSimulator
from bot.store import usage as usage_store
from bot.store.models import (
    Connection,
    CreditSnapshot,
    CycleSpendRow,
    MemberRow,
    RateLimitReading,
    SyncState,
    TrackedFigureRow,
    UsageBucket,
    UsageDay,
    UsageRunningState,
    UsageTeamBucket,
)
from tests.services.conftest import NOW, TEAM

EVENTS_PATH = "/teams/filtered-usage-events"


async def _connection(services: Services, name: str) -> Connection:
    connection = await services.connections.get(TEAM, name)
    assert connection is not None
    return connection


async def _snapshot(services: Services) -> dict[str, list[Any]]:
    """Every row of the history tables, in a stable order (to compare two syncs)."""
    tables: dict[str, Any] = {
        "buckets": UsageBucket,
        "team": UsageTeamBucket,
        "days": UsageDay,
        "cycle": CycleSpendRow,
        "members": MemberRow,
    }
    result: dict[str, list[Any]] = {}
    async with services.db.session() as session:
        for name, table in tables.items():
            rows = (await session.exec(select(table))).all()
            result[name] = sorted(
                (
                    tuple(v for k, v in row.model_dump().items() if k not in ("observed_at", "seen_at"))
                    for row in rows
                ),
                key=repr,
            )
    return result


def _local_day(day: date, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    end = start.replace(tzinfo=None) + timedelta(days=1)
    return start.astimezone(UTC), end.replace(tzinfo=zone).astimezone(UTC)


async def _total(
    services: Services, connection: Connection, start: datetime, end: datetime, **kw: Any
) -> Any:
    assert connection.id is not None
    async with services.db.session() as session:
        return await usage_store.usage_totals(session, [connection.id], start, end, **kw)


@pytest.mark.parametrize("schema", ["old", "middle", "newest"])
async def test_cursor_sync_matches_the_vendor_for_local_days_users_and_the_cycle(
    make_services: Callable[..., Any], schema: str, tmp_path: Any
) -> None:
    from bot.simulators.serving import served
    from tests.services.conftest import NOW, TIME_SCALE

    sim = CursorSimulator(team_size=10, days=40, seed=11, now=NOW, time_scale=TIME_SCALE, schema=schema)  # type: ignore[arg-type]
    with served(sim.app) as server:
        async with make_services(cursor_api_key=sim.api_key, cursor_api_url=server.url) as services:
            connection = await _connection(services, "cursor")
            report = await services.sync.sync(connection, backfill=timedelta(days=35))
            assert report.ok, report.errors
            assert report.rate_limited == 0 or schema != "newest"

            for tz in ("America/New_York", "Asia/Kolkata", "UTC"):
                for day in (date(2026, 11, 19), date(2026, 11, 2), date(2026, 11, 1)):
                    start, end = _local_day(day, tz)
                    (total,) = await _total(services, connection, start, end) or [None]
                    expected = sim.dataset.total_cost(start, end)
                    assert (total.amount if total else Decimal(0)) == expected, (tz, day)

            # The sync rebuilt the running totals, so the answer by person below reads them.
            async with services.db.session() as session:
                running = await session.get(UsageRunningState, connection.id)
            assert running is not None and running.stale_from is None and running.last_day == NOW.date()
            start, end = datetime(2026, 11, 13, 5, tzinfo=UTC), NOW
            rows = await _total(services, connection, start, end, by="user")
            by_user = {row.key: row.amount for row in rows}
            tokens = {row.key: row.tokens for row in rows}
            for member in sim.dataset.members:
                assert by_user.get(member.email, Decimal(0)) == sim.dataset.total_cost(
                    start, end, member.email
                )
                # Every token of the person's events that carry tokenUsage, input and output alike.
                expected = sum(
                    e.input_tokens + e.output_tokens + e.cache_write_tokens + e.cache_read_tokens
                    for e in sim.dataset.events(start, end, member.email)
                    if e.token_based
                )
                assert tokens.get(member.email, 0) == expected, member.email
            assert sum(tokens.values()) > 0

            async with services.db.session() as session:
                cycle = {row.user_email: row for row in (await session.exec(select(CycleSpendRow))).all()}
                members = (await session.exec(select(MemberRow))).all()
            assert len(members) == len(sim.dataset.members)
            for member in sim.dataset.members:
                row = cycle[member.email]
                if schema != "newest":
                    # Before overallSpendCents, spendCents was the whole-cent total: flagged as a fallback.
                    assert row.total_is_fallback
                    assert abs(row.total - sim.dataset.cycle_spend(member.email)) <= Decimal("0.5")
                else:
                    assert row.total == sim.dataset.cycle_spend(member.email)
                limit = sim.dataset.limit_dollars(member.email)
                assert row.limit_cents == (None if limit is None else Decimal(limit * 100))


async def test_a_second_sync_changes_nothing_and_an_incremental_one_fetches_only_the_new_day(
    cursor_sim: CursorSimulator, make_services: Callable[..., Any]
) -> None:
    clock_now = [cursor_sim.now]
    async with make_services(
        clock=lambda: clock_now[0],
        cursor_api_key=cursor_sim.api_key,
        cursor_api_url=cursor_sim.url,  # type: ignore[attr-defined]
    ) as services:
        connection = await _connection(services, "cursor")
        first = await services.sync.sync(connection)
        assert first.ok, first.errors
        before = await _snapshot(services)
        again = await services.sync.sync(connection, backfill=timedelta(days=62))
        assert again.ok
        assert await _snapshot(services) == before

        cursor_sim.advance(timedelta(days=1))
        clock_now[0] = cursor_sim.now
        cursor_sim.stats.reset()
        incremental = await services.sync.sync(connection)
        assert incremental.ok
        # Only the new day plus the 3-hour lookback (and the roster and spend, one page each, and the
        # probe's one row of spend).
        window_events = cursor_sim.dataset.count_events(
            cursor_sim.now - timedelta(days=1, hours=3, minutes=15), cursor_sim.now
        )
        pages = cursor_sim.stats.count(path=EVENTS_PATH)
        assert pages <= -(-window_events // 1000) + 1
        assert cursor_sim.stats.count(path="/teams/members") == 1
        assert cursor_sim.stats.count(path="/teams/spend") == 2
        # Periods start at local midnights, which are quarter hours in every real time zone.
        start, end = datetime(2026, 10, 22, 4, tzinfo=UTC), cursor_sim.now
        (total,) = await _total(services, connection, start, end)
        assert total.amount == cursor_sim.dataset.total_cost(start, end)


async def test_an_interrupted_backfill_resumes_where_it_stopped(
    cursor_sim: CursorSimulator, make_services: Callable[..., Any]
) -> None:
    async with make_services(cursor_api_key=cursor_sim.api_key, cursor_api_url=cursor_sim.url) as services:  # type: ignore[attr-defined]
        services.sync._window_target = 400  # small windows, so there are many
        connection = await _connection(services, "cursor")
        seen: list[ProgressEvent] = []

        def break_after_first_window(event: ProgressEvent) -> None:
            seen.append(event)
            if (
                event.dataset == "usage"
                and 0 < event.done < 1
                and len([e for e in seen if 0 < e.done < 1]) == 2
            ):
                cursor_sim.faults.fail(status=503, times=10, path=EVENTS_PATH)

        report = await services.sync.sync(connection, progress=break_after_first_window)
        assert not report.ok
        assert any("usage" in error for error in report.errors)
        state = (await services.sync.states(connection.id or 0))["usage"]
        assert state.covered_from is not None and state.watermark is not None
        assert state.covered_from > cursor_sim.now - timedelta(days=61)
        covered_from = state.covered_from

        cursor_sim.faults.clear()
        cursor_sim.stats.reset()
        resumed = await services.sync.sync(connection)
        assert resumed.ok, resumed.errors
        state = (await services.sync.states(connection.id or 0))["usage"]
        assert state.covered_from is not None and state.covered_from <= cursor_sim.now - timedelta(days=61)
        # It fetched the rest of the backfill, not the part it already had.
        remaining = cursor_sim.dataset.count_events(cursor_sim.now - timedelta(days=63), covered_from)
        assert cursor_sim.stats.count(path=EVENTS_PATH) < remaining // 10 + 40
        start, end = datetime(2026, 9, 21, 22, 45, tzinfo=UTC), cursor_sim.now
        (total,) = await _total(services, connection, start, end)
        assert total.amount == cursor_sim.dataset.total_cost(start, end)


async def test_the_old_usage_limit_is_learned_from_a_429_and_recorded(
    make_services: Callable[..., Any],
) -> None:
    from bot.simulators.serving import served
    from tests.services.conftest import NOW

    # The vendor's window clock stands still until its first 429, so the 21st request meets the old
    # 20/min however slowly this machine pages; after that it runs, and the window rolls as it should.
    def window_clock() -> float:
        return time.monotonic() if sim.stats.rate_limited else 0.0

    sim = CursorSimulator(
        team_size=100,
        days=10,
        seed=3,
        now=NOW,
        time_scale=30,
        schema="old",
        events_per_user_day=40,
        rate_clock=window_clock,
    )
    with served(sim.app) as server:
        async with make_services(
            cursor_api_key=sim.api_key, cursor_api_url=server.url, time_scale=30
        ) as services:
            connection = await _connection(services, "cursor")
            report = await services.sync.sync(connection, backfill=timedelta(days=10))
            assert report.ok, report.errors
            # The old docs' 20/min: the limiter started at 60, met one 429, and fell back for good.
            assert sim.stats.rate_limited == 1
            async with services.db.session() as session:
                reading = await session.get(RateLimitReading, (connection.id, "usage_events"))
            assert reading is not None
            assert reading.rate_limited_total == 1
            assert reading.limit == 20
            start, end = datetime(2026, 11, 11, 5, 30, tzinfo=UTC), NOW
            (total,) = await _total(services, connection, start, end)
            assert total.amount == sim.dataset.total_cost(start, end)


async def test_windsurf_sync_stores_credits_per_person_per_day_and_the_balance(
    windsurf_sim: WindsurfSimulator, make_services: Callable[..., Any]
) -> None:
    async with make_services(
        windsurf_service_key=windsurf_sim.service_key, windsurf_api_url=windsurf_sim.url
    ) as services:  # type: ignore[attr-defined]
        connection = await _connection(services, "windsurf")
        report = await services.sync.sync(connection)
        assert report.ok, report.errors
        first, last = date(2026, 11, 1), date(2026, 11, 19)
        start = datetime(2026, 11, 1, tzinfo=UTC)
        end = datetime(2026, 11, 20, tzinfo=UTC)
        by_user = {row.key: row.amount for row in await _total(services, connection, start, end, by="user")}
        assert by_user == windsurf_sim.dataset.credits_by_user(first, last)
        by_model = {row.key: row.amount for row in await _total(services, connection, start, end, by="model")}
        expected_models: dict[str, Decimal] = {}
        for (_, model), credits in windsurf_sim.dataset.credits_by_day(first, last).items():
            expected_models[model] = expected_models.get(model, Decimal(0)) + credits
        assert by_model == expected_models
        balance = windsurf_sim.dataset.balance()
        async with services.db.session() as session:
            snapshot = (await session.exec(select(CreditSnapshot))).one()
        pool = Decimal(balance["numSeats"] * balance["promptCreditsPerSeat"]) + Decimal(
            balance["addOnCreditsAvailable"]
        )
        assert snapshot.size == pool
        assert snapshot.unit == "credits"


async def test_openai_sync_stores_the_vendors_cents_and_requests_and_the_spend_limit(
    openai_sim: OpenAISimulator, make_services: Callable[..., Any]
) -> None:
    async with make_services(
        openai_admin_key=openai_sim.admin_key,
        openai_api_url=openai_sim.url,  # type: ignore[attr-defined]
        openai_requests_per_minute=60,
    ) as services:
        connection = await _connection(services, "openai")
        report = await services.sync.sync(connection, backfill=timedelta(days=90))
        assert report.ok, report.errors
        assert report.rate_limited == 0
        # users, users again, 3 windows of costs + completions + embeddings, limit + month costs
        assert report.requests == 1 + 1 + 3 * 3 + 2
        first, last = (NOW - timedelta(days=90)).date(), NOW.date()
        start = datetime(first.year, first.month, first.day, tzinfo=UTC)
        end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
        totals = await _total(services, connection, start, end, by="user")
        assert sum(row.amount for row in totals) == openai_sim.dataset.total_cents(first, last)
        requests = {row.key: int(row.requests) for row in totals}
        expected = openai_sim.dataset.requests_by_email(first, last)
        assert {k: v for k, v in requests.items() if k is not None and "@" in k} == {
            k: v for k, v in expected.items() if k is not None
        }
        assert sum(requests.values()) == sum(expected.values())
        async with services.db.session() as session:
            snapshot = (await session.exec(select(CreditSnapshot))).one()
            members = (await session.exec(select(MemberRow))).all()
        month = NOW.date().replace(day=1)
        assert snapshot.unit == "usd_cents"
        assert snapshot.size == Decimal(50_000)
        assert snapshot.used == openai_sim.dataset.total_cents(month, last)
        assert {m.email for m in members} == {u.email for u in openai_sim.dataset.users}

        # An incremental sync re-fetches only the last days and leaves the totals as they were.
        again = await services.sync.sync(connection, datasets=["usage"])
        assert again.ok and again.requests == 1 + 3
        totals = await _total(services, connection, start, end, by="user")
        assert sum(row.amount for row in totals) == openai_sim.dataset.total_cents(first, last)


async def test_anthropic_sync_stores_the_team_cents_and_claude_code_sessions_per_person(
    anthropic_sim: AnthropicSimulator, make_services: Callable[..., Any]
) -> None:
    async with make_services(
        anthropic_admin_key=anthropic_sim.admin_key,
        anthropic_api_url=anthropic_sim.url,  # type: ignore[attr-defined]
        anthropic_requests_per_minute=60,
    ) as services:
        connection = await _connection(services, "anthropic")
        report = await services.sync.sync(connection, backfill=timedelta(days=90))
        assert report.ok, report.errors
        assert report.rate_limited == 0
        # the probe; users; users again, 3 cost and 3 token pages of 31 days, one Claude Code day each;
        # then users again and the spend limits
        assert report.requests == 1 + 1 + 1 + 3 + 3 + 91 + 2
        first, last = (NOW - timedelta(days=90)).date(), NOW.date()
        start = datetime(first.year, first.month, first.day, tzinfo=UTC)
        end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
        totals = await _total(services, connection, start, end, by="user")
        assert sum(row.amount for row in totals) == anthropic_sim.dataset.total_cents(first, last)
        sessions = {row.key: int(row.requests) for row in totals}
        expected = anthropic_sim.dataset.sessions_by_email(first, last)
        assert {k: v for k, v in sessions.items() if k is not None and "@" in k} == {
            k: v for k, v in expected.items() if k is not None
        }
        assert sum(sessions.values()) == sum(expected.values())
        async with services.db.session() as session:
            members = (await session.exec(select(MemberRow))).all()
        assert {m.email for m in members} == {u.email for u in anthropic_sim.dataset.users}
        async with services.db.session() as session:
            limits = {row.user_email: row for row in (await session.exec(select(CycleSpendRow))).all()}
        # One row a member whose spend is known: not the API key's, not the one that reads "0".
        assert len(limits) == len(anthropic_sim.dataset.users) - 1
        assert anthropic_sim.dataset.users[2].email not in limits

        # An incremental sync re-fetches only the last days and leaves the totals as they were.
        again = await services.sync.sync(connection, datasets=["usage"])
        assert (
            again.ok and again.requests == 1 + 1 + 1 + 3
        )  # users, one cost and one token page, 3 Claude Code days
        totals = await _total(services, connection, start, end, by="user")
        assert sum(row.amount for row in totals) == anthropic_sim.dataset.total_cents(first, last)


async def test_copilot_sync_stores_net_cents_per_person_and_the_budget_pool(
    copilot_sim: CopilotSimulator, make_services: Callable[..., Any]
) -> None:
    data = copilot_sim.dataset
    async with make_services(
        copilot_token=copilot_sim.token,
        copilot_api_url=copilot_sim.url,  # type: ignore[attr-defined]
        copilot_org="acme",
    ) as services:
        connection = await _connection(services, "copilot")
        report = await services.sync.sync(connection, backfill=timedelta(days=90))
        assert report.ok, report.errors
        assert report.rate_limited == 0 and copilot_sim.stats.throttled == 0
        first, last = (NOW - timedelta(days=90)).date(), NOW.date()
        start = datetime(first.year, first.month, first.day, tzinfo=UTC)
        end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
        totals = {row.key: row.amount for row in await _total(services, connection, start, end, by="user")}
        assert sum(totals.values()) == data.net_cents(first, last)
        emails = data.public_emails()
        for login in data.seat_logins():
            assert totals.get(emails.get(login, login).lower(), 0) == data.net_cents(first, last, user=login)
        assert totals.get("", 0) == data.net_cents(first, last, user=data.former_login)  # the team's
        async with services.db.session() as session:
            members = {m.email for m in (await session.exec(select(MemberRow))).all()}
            pool = (await session.exec(select(CreditSnapshot))).one()
        assert members == {emails.get(login, login).lower() for login in data.seat_logins()}
        month = NOW.date().replace(day=1)
        assert (pool.size, pool.used) == (Decimal(50000), data.net_cents(month, last))
        assert "usage stops at it" in pool.pools[0]["name"]

        # An incremental sync asks only about the last days, and the totals stay what they were.
        before = copilot_sim.stats.requests_total
        again = await services.sync.sync(connection, datasets=["usage"])
        assert again.ok and copilot_sim.stats.requests_total - before <= 1 + 3 * (1 + len(data.seat_logins()))
        totals = {row.key: row.amount for row in await _total(services, connection, start, end, by="user")}
        assert sum(totals.values()) == data.net_cents(first, last)


async def test_rest_sync_records_rate_limit_headers_and_the_tracked_figure(
    rest_sim: RestSimulator, make_services: Callable[..., Any]
) -> None:
    rest_sim.set_credits(Decimal("1234.50"))
    async with make_services(
        rest_api_key=rest_sim.api_key,
        rest_api_url=rest_sim.url,  # type: ignore[attr-defined]
        rest_probe_path="/account",
        rest_per_minute=300,
        rest_per_day=50000,
        rest_track="/usage#data.credits_remaining",
    ) as services:
        connection = await _connection(services, "rest")
        report = await services.sync.sync(connection)
        assert report.ok, report.errors
        async with services.db.session() as session:
            figure = (await session.exec(select(TrackedFigureRow))).one()
            readings = {row.scope: row for row in (await session.exec(select(RateLimitReading))).all()}
        assert figure.value == Decimal("1234.50")
        assert readings["headers"].limit == 300
        assert readings["headers"].remaining is not None and readings["headers"].remaining < 300
        assert readings["minute"].limit == 300
        assert readings["day"].limit == 50000


async def test_a_revoked_key_marks_the_connection_rejected_and_never_reaches_the_logs(
    cursor_sim: CursorSimulator, make_services: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with make_services(cursor_api_key=cursor_sim.api_key, cursor_api_url=cursor_sim.url) as services:  # type: ignore[attr-defined]
        connection = await _connection(services, "cursor")
        assert (await services.sync.sync(connection, backfill=timedelta(days=3))).ok
        cursor_sim.revoke_key()
        report = await services.sync.sync(connection)
        assert not report.ok
        # The first call met the revoked key; the rest of the sync was not tried.
        assert [result.error_kind for result in report.results] == ["key rejected"] + ["not tried"] * 3
        refreshed = await _connection(services, "cursor")
        assert refreshed.status == "rejected"
        assert "Invalid API key" in (refreshed.status_detail or "")
        async with services.db.session() as session:
            states = (await session.exec(select(SyncState))).all()
        stored_text = " ".join(f"{s.last_error} {refreshed.status_detail}" for s in states)
    logged = "\n".join(record.getMessage() for record in caplog.records) + caplog.text
    for text in (logged, stored_text):
        assert cursor_sim.api_key not in text
        assert cursor_sim.api_key[4:20] not in text


async def test_concurrent_syncs_of_one_connection_fetch_once(
    cursor_sim: CursorSimulator, make_services: Callable[..., Any]
) -> None:
    import asyncio

    async with make_services(cursor_api_key=cursor_sim.api_key, cursor_api_url=cursor_sim.url) as services:  # type: ignore[attr-defined]
        connection = await _connection(services, "cursor")
        await services.sync.sync(connection, backfill=timedelta(days=2))
        cursor_sim.stats.reset()
        reports = await asyncio.gather(*(services.sync.sync(connection) for _ in range(5)))
        assert all(report.ok for report in reports)
        assert cursor_sim.stats.count(path="/teams/members") == 1
