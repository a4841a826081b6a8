"""AnthropicClient against the Anthropic simulator over loopback: exact totals, pagination, faults, pacing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bot.domain.usage import Granularity, Unit
from bot.simulators.anthropic import AnthropicSimulator
from bot.simulators.serving import served
from bot.vendors import (
    AnthropicClient,
    AuthError,
    PermissionDenied,
    RateLimited,
    RequestRejected,
    SchemaError,
    UpstreamError,
    make_http_client,
)
from bot.vendors.anthropic import CLAUDE_CODE_MODEL, message_tokens, parse_messages_page
from tests.vendors.clients import vendor_client

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
SCALE = 600.0


@contextmanager
def _served(sim: AnthropicSimulator) -> Iterator[str]:
    with served(sim.app) as server:
        yield server.url + "/v1"


def _client(
    url: str, key: str, http: httpx.AsyncClient | None = None, **options: Any
) -> AbstractAsyncContextManager[AnthropicClient]:
    return vendor_client(AnthropicClient, url, key, now=NOW, scale=SCALE, http=http, **options)


@pytest.fixture(scope="module")
def sim() -> AnthropicSimulator:
    return AnthropicSimulator(team_size=7, days=100, now=NOW, time_scale=SCALE, rate_limits_enabled=False)


@pytest.fixture(scope="module")
def url(sim: AnthropicSimulator) -> Iterator[str]:
    with _served(sim) as address:
        yield address


@pytest.fixture(autouse=True)
def _clean(sim: AnthropicSimulator) -> Iterator[None]:
    sim.faults.clear()
    sim.stats.reset()
    yield
    sim.faults.clear()


async def test_ninety_days_of_costs_are_the_datasets_cents_exactly(sim: AnthropicSimulator, url: str) -> None:
    first = TODAY - timedelta(days=89)
    async with _client(url, sim.admin_key) as client:
        rows = await client.daily_costs(first, TODAY)
    assert {row.granularity for row in rows} == {Granularity.DAY}
    assert {row.unit for row in rows} == {Unit.USD_CENTS}
    assert all(row.user_email is None and row.model and row.model.startswith("claude-") for row in rows)
    assert sum(row.amount for row in rows) == sim.dataset.total_cents(first, TODAY)
    assert sim.stats.count("/v1/organizations/cost_report") == 3  # 31 + 31 + 28 daily buckets


async def test_claude_code_sessions_per_person_one_day_a_request(sim: AnthropicSimulator, url: str) -> None:
    first = TODAY - timedelta(days=6)
    totals: dict[str | None, int] = {}
    async with _client(url, sim.admin_key) as client:
        for offset in range(7):
            for row in await client.claude_code_sessions(first + timedelta(days=offset)):
                assert row.amount == 0 and row.model == CLAUDE_CODE_MODEL
                totals[row.user_email] = totals.get(row.user_email, 0) + int(row.requests)
    assert totals == sim.dataset.sessions_by_email(first, TODAY)
    assert sim.stats.count("/v1/organizations/usage_report/claude_code") == 7


async def test_tokens_per_person_and_model_come_from_the_messages_usage_report(
    sim: AnthropicSimulator, url: str
) -> None:
    first = TODAY - timedelta(days=89)
    async with _client(url, sim.admin_key) as client:
        rows = await client.daily_tokens(first, TODAY)
    assert sim.stats.count("/v1/organizations/usage_report/messages") == 3  # 31 + 31 + 28 days
    by_model: dict[str | None, int] = {}
    by_person: dict[str | None, int] = {}
    for row in rows:
        assert row.amount == 0 and row.requests == 0
        by_model[row.model] = by_model.get(row.model, 0) + row.tokens
        by_person[row.user_email] = by_person.get(row.user_email, 0) + row.tokens
    # Computed here from the dataset's records: every input and output token.
    expected_models: dict[str | None, int] = {}
    expected_people: dict[str | None, int] = {}
    for record in sim.dataset.all_records(first, TODAY):
        expected_models[record.model] = (
            expected_models.get(record.model, 0) + record.input_tokens + record.output_tokens
        )
        expected_people[record.email] = (
            expected_people.get(record.email, 0) + record.input_tokens + record.output_tokens
        )
    assert by_model == expected_models
    assert by_person == expected_people
    assert None in by_person  # the service key's tokens are the team's


def test_message_tokens_add_cache_reads_and_writes_in_either_documented_shape() -> None:
    nested = {
        "uncached_input_tokens": 100,
        "cache_read_input_tokens": 20,
        "cache_creation": {"ephemeral_1h_input_tokens": 3, "ephemeral_5m_input_tokens": 4},
        "output_tokens": 50,
        "server_tool_use": {"web_search_requests": 2},
    }
    flat = {
        "uncached_input_tokens": 100,
        "cache_read_input_tokens": 20,
        "cache_creation_1h_input_tokens": 3,
        "cache_creation_5m_input_tokens": 4,
        "output_tokens": 50,
    }
    assert message_tokens(nested) == message_tokens(flat) == 177
    with pytest.raises(SchemaError):
        message_tokens({"model": "claude", "requests": 3})  # no token field at all: renamed
    with pytest.raises(SchemaError):
        message_tokens({"uncached_input_tokens": "many", "output_tokens": 1})
    body = {
        "data": [
            {
                "starting_at": "2026-11-19T00:00:00Z",
                "results": [{**nested, "model": "m", "account_id": "u1"}],
            },
            {"starting_at": "2026-11-21T00:00:00Z", "results": [{**flat, "model": "m", "account_id": None}]},
        ]
    }
    assert parse_messages_page(body, date(2026, 11, 19), date(2026, 11, 20)) == {
        (date(2026, 11, 19), "u1", "m"): 177
    }


async def test_members_page_through_users() -> None:
    sim = AnthropicSimulator(team_size=230, days=2, now=NOW, rate_limits_enabled=False)
    with _served(sim) as address:
        async with _client(address, sim.admin_key) as client:
            members = await client.members()
    assert [m.email for m in members] == [u.email for u in sim.dataset.users]
    assert sim.stats.count("/v1/organizations/users") == 3


async def test_the_key_goes_in_x_api_key_with_the_version_and_never_in_the_url(url: str) -> None:
    seen: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        seen.append(request)

    http = make_http_client(read_timeout=5.0)
    http.event_hooks["request"].append(record)
    key = "sk-ant-admin01-secret-value-123"
    try:
        async with _client(url, key, http=http) as client:
            with pytest.raises(AuthError) as caught:
                await client.probe()
    finally:
        await http.aclose()
    (request,) = seen
    assert request.headers["x-api-key"] == key and request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers and key not in str(request.url)
    assert key not in str(caught.value) and key not in repr(client)


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthError), (403, PermissionDenied), (500, UpstreamError), (503, UpstreamError)],
)
async def test_every_fault_is_a_typed_error(
    sim: AnthropicSimulator, url: str, status: int, error: type[Exception]
) -> None:
    sim.faults.fail(status, times=None, path="/v1/organizations/cost_report")
    async with _client(url, sim.admin_key) as client:
        with pytest.raises(error):
            await client.daily_costs(TODAY - timedelta(days=3), TODAY)


async def test_a_malformed_body_and_a_renamed_field_are_schema_errors(
    sim: AnthropicSimulator, url: str
) -> None:
    async with _client(url, sim.admin_key) as client:
        sim.faults.malformed(times=1, path="/v1/organizations/cost_report")
        with pytest.raises(SchemaError):
            await client.daily_costs(TODAY - timedelta(days=3), TODAY)
        sim.faults.rename_field("num_sessions", "sessions", path="/v1/organizations/usage_report/claude_code")
        with pytest.raises(SchemaError) as caught:
            await client.claude_code_sessions(TODAY - timedelta(days=1))
        assert caught.value.field is not None and "num_sessions" in caught.value.field


async def test_a_transient_5xx_is_retried(sim: AnthropicSimulator, url: str) -> None:
    sim.faults.fail(502, times=1, path="/v1/organizations/cost_report")
    async with _client(url, sim.admin_key) as client:
        rows = await client.daily_costs(TODAY - timedelta(days=3), TODAY)
    assert sum(row.amount for row in rows) == sim.dataset.total_cents(TODAY - timedelta(days=3), TODAY)


async def test_a_429_is_honoured_and_retried() -> None:
    sim = AnthropicSimulator(team_size=3, days=5, now=NOW, time_scale=SCALE, requests_per_minute=1)
    with _served(sim) as address:
        async with _client(address, sim.admin_key, requests_per_minute=60) as client:
            await client.members()
            members = await client.members()  # refused once, then allowed after retry-after
    assert len(members) == 3
    assert sim.stats.rate_limited >= 1


async def test_rate_limited_for_good_is_rate_limited() -> None:
    sim = AnthropicSimulator(team_size=3, days=5, now=NOW, time_scale=1.0, requests_per_minute=1)
    with _served(sim) as address:
        async with _client(address, sim.admin_key, requests_per_minute=60) as client:
            await client.members()
            with pytest.raises(RateLimited):
                await client.members()


async def test_pacing_at_the_simulators_limit_meets_no_429() -> None:
    sim = AnthropicSimulator(team_size=20, days=100, now=NOW, time_scale=SCALE, requests_per_minute=20)
    with _served(sim) as address:
        async with _client(address, sim.admin_key, requests_per_minute=20) as client:
            first = TODAY - timedelta(days=89)
            for _ in range(5):  # 3 cost + 3 token pages + 2 Claude Code days each: two minutes' worth
                await client.daily_costs(first, TODAY)
                await client.daily_tokens(first, TODAY, emails={})
                await client.claude_code_sessions(TODAY)
                await client.claude_code_sessions(TODAY - timedelta(days=1))
    assert sim.stats.requests_total == 40
    assert sim.stats.rate_limited == 0


def test_a_cost_amount_is_cents_as_a_string_or_a_number_never_other_currencies() -> None:
    from datetime import date
    from decimal import Decimal

    from bot.vendors.anthropic import parse_cost_page

    day = date(2026, 11, 19)

    def page(result: dict[str, Any]) -> dict[str, Any]:
        return {"data": [{"starting_at": "2026-11-19T00:00:00Z", "results": [result]}], "has_more": False}

    as_string = parse_cost_page(page({"amount": "123.45", "currency": "USD", "model": "m"}), day, day)
    assert as_string == {(day, "m"): Decimal("123.45")}  # 123.45 cents = $1.23
    as_number = parse_cost_page(page({"amount": Decimal("0.5"), "cost_type": "web_search"}), day, day)
    assert as_number == {(day, "web_search"): Decimal("0.5")}
    with pytest.raises(SchemaError):
        parse_cost_page(page({"amount": "1", "currency": "EUR"}), day, day)
    with pytest.raises(SchemaError):
        parse_cost_page(page({"currency": "USD"}), day, day)


async def test_spend_limits_are_each_members_monthly_cap_and_spend_never_a_zero_that_means_unknown(
    sim: AnthropicSimulator,
) -> None:
    with _served(sim) as url:
        async with _client(url, sim.admin_key) as client:
            report = await client.spend_limits()
    assert report is not None
    emails = {user.id: user.email for user in sim.dataset.users}
    expected = {
        emails[row["actor"]["user_id"]]: (Decimal(row["period_to_date_spend"]), row["amount"])
        for row in sim.effective_spend_limits()
        if row["actor"]["type"] == "user" and row["period_to_date_spend"] != "0"
    }
    got = {row.user_email: (row.total_cents, row.limit_cents) for row in report.rows}
    assert got == {
        email: (spent, None if cap is None else Decimal(cap)) for email, (spent, cap) in expected.items()
    }
    assert sim.dataset.users[2].email not in got  # its spend reads "0": unavailable, not zero
    assert report.cycle_start == datetime(TODAY.year, TODAY.month, 1, tzinfo=UTC)


async def test_a_key_without_the_spend_limits_scope_reads_no_limits_and_fails_nothing() -> None:
    sim = AnthropicSimulator(team_size=3, days=5, now=NOW, time_scale=SCALE, spend_limits=False)
    with _served(sim) as url:
        async with _client(url, sim.admin_key) as client:
            assert await client.spend_limits() is None


async def test_a_members_monthly_limit_is_set_by_user_id_and_read_back_as_their_effective_limit() -> None:
    sim = AnthropicSimulator(team_size=4, days=5, now=NOW, time_scale=SCALE)
    user = sim.dataset.users[1]
    with _served(sim) as address:
        async with _client(address, sim.admin_key) as client:
            said = await client.set_user_spend_limit(user.email.upper(), 750)
            report = await client.spend_limits()
            lifted = await client.set_user_spend_limit(user.email, None)
            with pytest.raises(RequestRejected, match="not a member"):
                await client.set_user_spend_limit("nobody@example.com", 5)
    assert said == f"Monthly spend limit set to $750.00 for {user.email.upper()}."
    assert lifted == f"Monthly spend limit lifted for {user.email}."
    assert report is not None
    (row,) = [row for row in report.rows if row.user_email == user.email]
    assert row.limit_cents == Decimal(75000)
    assert sim.stats.count(path="/v1/organizations/spend_limits", method="POST") == 2  # no call for nobody@


async def test_a_console_organization_or_a_read_only_key_is_refused_the_write() -> None:
    console = AnthropicSimulator(team_size=2, days=5, now=NOW, time_scale=SCALE, enterprise=False)
    read_only = AnthropicSimulator(
        team_size=2, days=5, now=NOW, time_scale=SCALE, spend_limits_writable=False
    )
    for sim, error in ((console, RequestRejected), (read_only, PermissionDenied)):
        with _served(sim) as address:
            async with _client(address, sim.admin_key) as client:
                with pytest.raises(error):
                    await client.set_user_spend_limit(sim.dataset.users[0].email, 100)
        assert sim.user_limits == {}
