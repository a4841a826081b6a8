"""Each client against its simulator (independent code from the same documents), every schema version,
and every fault the simulators can inject."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from bot.domain.usage import Vendor
from bot.simulators.cursor import CursorSimulator
from bot.simulators.rest import RestSimulator
from bot.simulators.serving import served
from bot.simulators.windsurf import WindsurfSimulator
from bot.vendors import (
    AuthError,
    ConnectionConfig,
    CursorClient,
    LimiterRegistry,
    PermissionDenied,
    RequestRejected,
    RestClient,
    RetryPolicy,
    SchemaError,
    UpstreamError,
    WindsurfClient,
    make_client,
    make_http_client,
)

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
SCALE = 120.0
FAST_RETRIES = RetryPolicy(rate_limited_attempts=4, failure_attempts=3, backoff_base=0.01, backoff_cap=0.05)


@contextmanager
def _served(sim: Any, suffix: str = "") -> Iterator[str]:
    with served(sim.app) as server:
        yield server.url + suffix


@asynccontextmanager
async def _client(
    vendor: Vendor, url: str, key: str, *, read_timeout: float = 20.0, **options: Any
) -> AsyncIterator[Any]:
    config = ConnectionConfig(
        key="t", name=vendor.value, vendor=vendor, base_url=url, secret=SecretStr(key), **options
    )
    http = make_http_client(read_timeout=read_timeout)
    try:
        yield make_client(
            config,
            http=http,
            limiters=LimiterRegistry(time_scale=SCALE),
            clock=lambda: NOW,
            retry=FAST_RETRIES,
        )
    finally:
        await http.aclose()


@pytest.mark.parametrize("schema", ["old", "middle", "newest"])
async def test_cursor_client_reads_every_schema_version(schema: str) -> None:
    sim = CursorSimulator(team_size=8, days=20, seed=21, schema=schema, now=NOW, time_scale=SCALE)  # type: ignore[arg-type]
    with _served(sim) as url:
        async with _client(Vendor.CURSOR, url, sim.api_key) as client:
            assert isinstance(client, CursorClient)
            members = await client.members()
            assert {m.email for m in members} == {m.email for m in sim.dataset.members}
            assert {m.email for m in members if not m.active} == {
                m.email for m in sim.dataset.members if m.removed
            }
            report = await client.cycle_spend()
            assert report.cycle_start == sim.dataset.cycle_start
            start, end = NOW - timedelta(days=12), NOW
            total = Decimal(0)
            count = 0
            async for page in client.iter_usage_events(start, end):
                total += sum(event.cents for event in page)
                count += len(page)
            assert count == sim.dataset.count_events(start, end)
            assert total == sim.dataset.total_cost(start, end)


async def test_cursor_spend_limit_write_reaches_the_vendor_and_bad_input_is_rejected() -> None:
    sim = CursorSimulator(team_size=5, days=3, seed=22, now=NOW, time_scale=SCALE)
    email = sim.dataset.members[1].email
    with _served(sim) as url:
        async with _client(Vendor.CURSOR, url, sim.api_key) as client:
            message = await client.set_user_spend_limit(email, 150)
            assert "150" in message
            assert sim.dataset.limit_dollars(email) == 150
            report = await client.cycle_spend()
            assert {row.user_email: row.limit_cents for row in report.rows}[email] == Decimal(15000)
            await client.set_user_spend_limit(email, None)
            assert sim.dataset.limit_dollars(email) is None
            with pytest.raises(RequestRejected) as rejected:
                await client.set_user_spend_limit("nobody@example.com", 10)
            assert "nobody@example.com" in rejected.value.message or "not" in rejected.value.message.lower()


async def test_cursor_team_plan_is_permission_denied_for_analytics() -> None:
    sim = CursorSimulator(team_size=4, days=3, seed=23, now=NOW, plan="team", time_scale=SCALE)
    with _served(sim) as url:
        async with _client(Vendor.CURSOR, url, sim.api_key) as client:
            with pytest.raises(PermissionDenied) as denied:
                await client.analytics_dau(date(2026, 11, 10), date(2026, 11, 19))
            assert "Enterprise" in denied.value.message


async def test_cursor_analytics_revalidates_with_etags() -> None:
    sim = CursorSimulator(team_size=4, days=12, seed=24, now=NOW, time_scale=SCALE)
    with _served(sim) as url:
        async with _client(Vendor.CURSOR, url, sim.api_key) as client:
            first = await client.analytics_dau(date(2026, 11, 10), date(2026, 11, 19))
            second = await client.analytics_dau(date(2026, 11, 10), date(2026, 11, 19))
            assert first == second
            assert sim.stats.not_modified == 1
            assert [row.active_users for row in first] == [
                sim.dataset.active_users(date(2026, 11, 10) + timedelta(days=offset)) for offset in range(10)
            ]


@pytest.mark.parametrize("schema", ["old", "new"])
async def test_windsurf_client_reads_every_schema_version(schema: str) -> None:
    sim = WindsurfSimulator(team_size=7, days=40, seed=31, schema=schema, now=NOW, time_scale=SCALE)  # type: ignore[arg-type]
    with _served(sim, "/api/v1") as url:
        async with _client(Vendor.WINDSURF, url, sim.service_key, requests_per_minute=600) as client:
            assert isinstance(client, WindsurfClient)
            balance = await client.credit_balance()
            raw = sim.dataset.balance()
            pools = {pool.name: pool for pool in balance.pools}
            assert pools["prompt"].size == raw["numSeats"] * raw["promptCreditsPerSeat"]
            assert pools["add-on"].size == raw["addOnCreditsAvailable"]
            assert pools["add-on"].used == raw["addOnCreditsUsed"]
            first, last = date(2026, 11, 1), date(2026, 11, 18)
            team = await client.team_daily_credits(first, last)
            expected = sim.dataset.credits_by_day(first, last)
            # Runs that used no credits still count as requests; the ground truth lists credits only.
            assert {(row.day, row.model): row.amount for row in team if row.amount} == expected
            per_user = await client.user_daily_credits(first, last)
            totals: dict[str, Decimal] = {}
            for row in per_user:
                assert row.user_email is not None
                totals[row.user_email] = totals.get(row.user_email, Decimal(0)) + row.amount
            assert {
                email: credits for email, credits in totals.items() if credits
            } == sim.dataset.credits_by_user(first, last)
            await client.set_usage_config(500, team=True)
            assert await client.get_usage_config(team=True) == Decimal(500)
            await client.set_usage_config(None, team=True)
            assert await client.get_usage_config(team=True) is None


async def test_windsurf_missing_permission_and_revoked_key() -> None:
    sim = WindsurfSimulator(team_size=3, days=5, seed=32, now=NOW, permissions=frozenset({"Teams Read-Only"}))
    with _served(sim, "/api/v1") as url:
        async with _client(Vendor.WINDSURF, url, sim.service_key, requests_per_minute=600) as client:
            with pytest.raises(PermissionDenied):
                await client.credit_balance()
            sim.revoke_key()
            with pytest.raises(AuthError):
                await client.members()


async def test_rest_client_pages_records_headers_and_tracks_a_field() -> None:
    sim = RestSimulator(plan="free", now=NOW, time_scale=SCALE, projects=45)
    sim.set_credits(Decimal("77.25"))
    with _served(sim, "/v1") as url:
        async with _client(
            Vendor.REST,
            url,
            sim.api_key,
            probe_path="/account",
            per_minute=60,
            per_day=1000,
            track="/usage#data.credits_remaining",
        ) as client:
            assert isinstance(client, RestClient)
            seen = [item async for page in client.paginate("/projects", limit=20) for item in page]
            assert len(seen) == 45
            assert len({item["id"] for item in seen}) == 45
            figure = await client.tracked_figure()
            assert figure is not None and figure.value == Decimal("77.25")
            statuses = {status.scope: status for status in client.rate_limit_statuses()}
            assert statuses["headers"].limit == 60
            assert statuses["headers"].remaining == 60 - sim.requests_in_current_minute()


async def test_rest_read_only_key_cannot_write_and_errors_carry_the_code() -> None:
    sim = RestSimulator(plan="pro", now=NOW, time_scale=SCALE)
    with _served(sim, "/v1") as url:
        async with _client(Vendor.REST, url, "wrong-key", probe_path="/account") as client:
            with pytest.raises(AuthError) as rejected:
                await client.probe()
            assert rejected.value.code == "UNAUTHORIZED"


@pytest.mark.parametrize(
    ("fault", "error", "detail"),
    [
        ("fail_once", None, None),
        ("fail_always", UpstreamError, None),
        ("malformed", SchemaError, "body"),
        ("renamed", SchemaError, "teamMembers"),
        ("slow", UpstreamError, None),
    ],
)
async def test_faults_become_typed_errors_or_succeed_after_a_retry(
    fault: str, error: type[Exception] | None, detail: str | None
) -> None:
    sim = CursorSimulator(team_size=4, days=2, seed=25, now=NOW, time_scale=SCALE)
    path = "/teams/members"
    if fault == "fail_once":
        sim.faults.fail(status=502, times=1, path=path)
    elif fault == "fail_always":
        sim.faults.fail(status=503, times=None, path=path)
    elif fault == "malformed":
        sim.faults.malformed(times=None, path=path)
    elif fault == "renamed":
        sim.faults.rename_field("teamMembers", "members", times=None, path=path)
    else:
        sim.faults.slow(2.0, times=None, path=path)
    with _served(sim) as url:
        async with _client(Vendor.CURSOR, url, sim.api_key, read_timeout=0.3) as client:
            if error is None:
                assert len(await client.members()) == 4
                assert sim.stats.count(path=path, status=502) == 1
                return
            with pytest.raises(error) as raised:
                await client.members()
            if detail is not None:
                assert isinstance(raised.value, SchemaError)
                assert detail in raised.value.field or detail in str(raised.value)
            if fault == "fail_always":
                # Bounded: the failure policy's three attempts, no more.
                assert sim.stats.count(path=path, status=503) == 3
