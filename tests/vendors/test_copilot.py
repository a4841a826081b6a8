"""CopilotClient against the Copilot simulator over loopback: exact cents, people, budgets, limits, faults."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bot.simulators.copilot import CopilotSimulator
from bot.simulators.serving import served
from bot.vendors import (
    AuthError,
    CopilotClient,
    PermissionDenied,
    SchemaError,
)
from tests.vendors.clients import vendor_client

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
SCALE = 600.0


@asynccontextmanager
async def _client(
    sim: CopilotSimulator, account: str = "acme", **options: Any
) -> AsyncIterator[CopilotClient]:
    token = options.pop("token", sim.token)
    with served(sim.app) as server:
        async with vendor_client(
            CopilotClient, server.url, token, now=NOW, scale=SCALE, account=account, **options
        ) as client:
            yield client


@pytest.fixture(scope="module")
def sim() -> CopilotSimulator:
    return CopilotSimulator(team_size=9, days=100, now=NOW, time_scale=SCALE, rate_limits_enabled=False)


async def test_a_day_adds_up_to_the_organisations_net_cents_and_each_person_to_theirs(
    sim: CopilotSimulator,
) -> None:
    data = sim.dataset
    seats = None
    async with _client(sim) as client:
        seats = await client.seats()
        days = [TODAY - timedelta(days=offset) for offset in range(1, 15)]
        rows = [row for day in days for row in await client.daily_spend(day, seats)]
    assert sorted(seat.login for seat in seats) == sorted(data.seat_logins())
    total = sum((row.amount for row in rows), Decimal(0))
    assert total == data.net_cents(days[-1], days[0])
    emails = data.public_emails()
    for login in data.seat_logins():
        person = emails.get(login, login).lower()
        mine = sum((row.amount for row in rows if row.user_email == person), Decimal(0))
        assert mine == data.net_cents(days[-1], days[0], user=login), login
    # The former user has no seat: their spend is the organisation's remainder, under no one.
    team = sum((row.amount for row in rows if row.user_email is None), Decimal(0))
    assert team == data.net_cents(days[-1], days[0], user=data.former_login)


async def test_idle_seats_are_not_asked_about_and_a_quiet_day_costs_one_request(
    sim: CopilotSimulator,
) -> None:
    async with _client(sim) as client:
        seats = await client.seats()
        before = sim.stats.requests_total
        day = TODAY - timedelta(days=2)
        await client.daily_spend(day, seats)
        asked = sim.stats.requests_total - before
    active = [seat for seat in seats if seat.may_have_used(day)]
    assert set(sim.dataset.idle_logins()) & {seat.login for seat in active} == set()
    # One for the organisation; one per person who may have used it, unless nothing was billed that day.
    assert asked == (1 if sim.dataset.net_cents(day, day) == 0 else 1 + len(active))


async def test_the_budget_is_the_organisations_copilot_budget_in_cents(sim: CopilotSimulator) -> None:
    async with _client(sim) as client:
        budget = await client.budget()
    assert budget is not None
    assert budget.amount_cents == Decimal(500) * 100 and budget.prevent_further_usage
    assert budget.consumed_cents is None  # the simulated budget carries no consumed_amount


async def test_the_enterprise_variant_reads_the_enterprise_routes() -> None:
    sim = CopilotSimulator(
        enterprise="acme-ent", team_size=4, now=NOW, time_scale=SCALE, rate_limits_enabled=False
    )
    async with _client(sim, account="enterprise:acme-ent") as client:
        seats = await client.seats()
        month = await client.usage(TODAY.year, TODAY.month)
    assert len(seats) == 4
    assert sum(month.values(), Decimal(0)) == sim.dataset.net_cents(TODAY.replace(day=1), TODAY)
    assert sim.stats.count("/enterprises/acme-ent/copilot/billing/seats") >= 1


async def test_a_legacy_plan_is_read_from_the_premium_request_report() -> None:
    sim = CopilotSimulator(
        mode="premium_request", team_size=3, now=NOW, time_scale=SCALE, rate_limits_enabled=False
    )
    async with _client(sim) as client:
        first = await client.usage(TODAY.year, TODAY.month)
        second = await client.usage(TODAY.year, TODAY.month)
    assert first == second and sum(first.values(), Decimal(0)) == sim.dataset.net_cents(
        TODAY.replace(day=1), TODAY
    )
    assert client.billing == "premium_request"
    # The AI-credit report was asked once; its 404 switched the client for good.
    assert sim.stats.count("/organizations/acme/settings/billing/ai_credit/usage") == 1


async def test_a_bad_token_and_a_missing_permission_are_typed_errors_without_the_token() -> None:
    sim = CopilotSimulator(team_size=2, now=NOW, time_scale=SCALE, rate_limits_enabled=False)
    async with _client(sim, token="ghp_wrong_token_123456") as client:
        with pytest.raises(AuthError) as rejected:
            await client.probe()
    assert "ghp_wrong" not in str(rejected.value)
    sim.missing_permission = True
    async with _client(sim) as client:
        with pytest.raises(PermissionDenied, match="not accessible"):
            await client.probe()


async def test_secondary_and_primary_limit_403s_are_waited_out_not_refusals() -> None:
    sim = CopilotSimulator(team_size=2, now=NOW, time_scale=SCALE, secondary_per_minute=5)
    async with _client(sim) as client:
        for _ in range(8):  # more than the simulator's 5 a minute: it answers 403 with retry-after
            await client.usage(TODAY.year, TODAY.month)
    assert sim.stats.secondary_throttled >= 1
    assert sim.stats.count("/organizations/acme/settings/billing/ai_credit/usage", status=200) == 8


async def test_a_client_paced_under_the_documented_limits_is_never_throttled() -> None:
    sim = CopilotSimulator(team_size=6, now=NOW, time_scale=SCALE)
    async with _client(sim) as client:
        seats = await client.seats()
        for offset in range(1, 20):
            await client.daily_spend(TODAY - timedelta(days=offset), seats)
    assert sim.stats.throttled == 0


async def test_a_renamed_field_is_a_schema_error_naming_it(sim: CopilotSimulator) -> None:
    sim.faults.rename_field("netAmount", "net_amount", times=1)
    try:
        async with _client(sim) as client:
            with pytest.raises(SchemaError, match="netAmount"):
                await client.usage(TODAY.year, TODAY.month)
    finally:
        sim.faults.clear()


async def test_an_hourly_limit_spent_elsewhere_is_waited_out_until_githubs_reset() -> None:
    # The token's hourly allowance is shared with other tools: GitHub's headers say it is spent before our
    # own count does. An hour lasts a second here; the reset header is a real instant.
    sim = CopilotSimulator(team_size=2, now=NOW, time_scale=3600.0, primary_per_hour=3)
    async with _client(sim) as client:
        for _ in range(5):
            await client.usage(TODAY.year, TODAY.month)
    assert sim.stats.count("/organizations/acme/settings/billing/ai_credit/usage", status=200) == 5
    assert sim.stats.primary_throttled == 0  # "remaining 0" held the client back before GitHub had to
