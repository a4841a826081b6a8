"""OpenAIClient against the OpenAI simulator over loopback: exact totals, pagination, faults, pacing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bot.domain.usage import Granularity, Unit
from bot.simulators.openai import OpenAISimulator
from bot.simulators.serving import served
from bot.vendors import (
    AuthError,
    OpenAIClient,
    PermissionDenied,
    RateLimited,
    SchemaError,
    UpstreamError,
)
from tests.vendors.clients import vendor_client

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
SCALE = 600.0


@contextmanager
def _served(sim: OpenAISimulator) -> Iterator[str]:
    with served(sim.app) as server:
        yield server.url + "/v1"


def _client(url: str, key: str, **options: Any) -> AbstractAsyncContextManager[OpenAIClient]:
    return vendor_client(OpenAIClient, url, key, now=NOW, scale=SCALE, **options)


@pytest.fixture(scope="module")
def sim() -> OpenAISimulator:
    return OpenAISimulator(team_size=7, days=100, now=NOW, time_scale=SCALE, rate_limits_enabled=False)


@pytest.fixture(scope="module")
def url(sim: OpenAISimulator) -> Iterator[str]:
    with _served(sim) as address:
        yield address


@pytest.fixture(autouse=True)
def _clean(sim: OpenAISimulator) -> Iterator[None]:
    sim.faults.clear()
    sim.stats.reset()
    yield
    sim.faults.clear()


async def test_ninety_days_of_costs_are_the_datasets_cents_exactly(sim: OpenAISimulator, url: str) -> None:
    first = TODAY - timedelta(days=89)
    async with _client(url, sim.admin_key) as client:
        rows = await client.daily_costs(first, TODAY)
    assert {row.granularity for row in rows} == {Granularity.DAY}
    assert {row.unit for row in rows} == {Unit.USD_CENTS}
    assert all(row.user_email is None for row in rows)
    assert sum(row.amount for row in rows) == sim.dataset.total_cents(first, TODAY)
    assert sim.stats.count("/v1/organization/costs") == 1  # 90 buckets fit in one page of 180


async def test_requests_and_tokens_per_person_page_through_31_day_pages(
    sim: OpenAISimulator, url: str
) -> None:
    first = TODAY - timedelta(days=89)
    async with _client(url, sim.admin_key) as client:
        rows = await client.daily_usage(first, TODAY)
    assert sim.stats.count("/v1/organization/usage/completions") == 3  # 31 + 31 + 28 days
    assert sim.stats.count("/v1/organization/usage/embeddings") == 3
    requests: dict[str | None, int] = {}
    tokens: dict[str | None, int] = {}
    for row in rows:
        assert row.amount == 0
        requests[row.user_email] = requests.get(row.user_email, 0) + int(row.requests)
        tokens[row.user_email] = tokens.get(row.user_email, 0) + row.tokens
    assert requests == sim.dataset.requests_by_email(first, TODAY)
    # Computed here from the dataset's records: completions input + output, embeddings input.
    emails = {user.id: user.email for user in sim.dataset.users}
    expected: dict[str | None, int] = {}
    for record in sim.dataset.all_records(first, TODAY):
        email = None if record.user_id is None else emails[record.user_id]
        counted = record.input_tokens + (record.output_tokens if record.endpoint == "completions" else 0)
        expected[email] = expected.get(email, 0) + counted
    assert tokens == expected
    assert any(row.model == "text-embedding-3-small" and row.tokens for row in rows)


async def test_members_page_through_users(url: str) -> None:
    sim = OpenAISimulator(team_size=230, days=2, now=NOW, rate_limits_enabled=False)
    with _served(sim) as address:
        async with _client(address, sim.admin_key) as client:
            members = await client.members()
    assert [m.email for m in members] == [u.email for u in sim.dataset.users]
    assert sim.stats.count("/v1/organization/users") == 3


async def test_spend_limit_readable_unset_and_unreadable(url: str, sim: OpenAISimulator) -> None:
    async with _client(url, sim.admin_key) as client:
        limit = await client.spend_limit()
        assert limit is not None and limit.limit_cents == Decimal(50_000)
        sim.spend_limit_cents = None
        assert await client.spend_limit() is None
        sim.spend_limit_cents = 50_000
        sim.spend_limit_readable = False
        try:
            assert await client.spend_limit() is None
        finally:
            sim.spend_limit_readable = True


async def test_a_wrong_key_is_an_auth_error(url: str) -> None:
    async with _client(url, "sk-admin-wrong") as client:
        with pytest.raises(AuthError):
            await client.probe()


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthError), (403, PermissionDenied), (500, UpstreamError), (503, UpstreamError)],
)
async def test_every_fault_is_a_typed_error(
    sim: OpenAISimulator, url: str, status: int, error: type[Exception]
) -> None:
    sim.faults.fail(status, times=None, path="/v1/organization/costs")
    async with _client(url, sim.admin_key) as client:
        with pytest.raises(error):
            await client.daily_costs(TODAY - timedelta(days=3), TODAY)


async def test_a_malformed_body_and_a_renamed_field_are_schema_errors(sim: OpenAISimulator, url: str) -> None:
    async with _client(url, sim.admin_key) as client:
        sim.faults.malformed(times=1, path="/v1/organization/costs")
        with pytest.raises(SchemaError):
            await client.daily_costs(TODAY - timedelta(days=3), TODAY)
        sim.faults.rename_field("num_model_requests", "requests", path="/v1/organization/usage/completions")
        with pytest.raises(SchemaError) as caught:
            await client.daily_usage(TODAY - timedelta(days=3), TODAY, emails={})
        assert caught.value.field is not None and "num_model_requests" in caught.value.field


async def test_a_transient_5xx_is_retried(sim: OpenAISimulator, url: str) -> None:
    sim.faults.fail(502, times=1, path="/v1/organization/costs")
    async with _client(url, sim.admin_key) as client:
        rows = await client.daily_costs(TODAY - timedelta(days=3), TODAY)
    assert sum(row.amount for row in rows) == sim.dataset.total_cents(TODAY - timedelta(days=3), TODAY)


async def test_a_429_is_honoured_and_retried() -> None:
    sim = OpenAISimulator(team_size=3, days=5, now=NOW, time_scale=SCALE, requests_per_minute=1)
    with _served(sim) as address:
        async with _client(address, sim.admin_key, requests_per_minute=60) as client:
            await client.spend_limit()
            limit = await client.spend_limit()  # refused once, then allowed after Retry-After
    assert limit is not None
    assert sim.stats.rate_limited >= 1


async def test_rate_limited_for_good_is_rate_limited() -> None:
    sim = OpenAISimulator(team_size=3, days=5, now=NOW, time_scale=1.0, requests_per_minute=1)
    with _served(sim) as address:
        async with _client(address, sim.admin_key, requests_per_minute=60) as client:
            await client.spend_limit()
            with pytest.raises(RateLimited):
                await client.spend_limit()


async def test_pacing_at_the_simulators_limit_meets_no_429() -> None:
    sim = OpenAISimulator(team_size=40, days=100, now=NOW, time_scale=SCALE, requests_per_minute=20)
    with _served(sim) as address:
        async with _client(address, sim.admin_key, requests_per_minute=20) as client:
            first = TODAY - timedelta(days=89)
            for _ in range(5):  # 8 requests each (1 of costs, 3 + 3 of usage): two minutes' worth
                await client.daily_costs(first, TODAY)
                await client.daily_usage(first, TODAY)
    assert sim.stats.requests_total == 40
    assert sim.stats.rate_limited == 0
