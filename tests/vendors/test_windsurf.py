"""WindsurfClient against a loopback server serving the documented payloads (windsurf-api.md §2-§7)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bot.domain.usage import Granularity, Unit, Vendor
from bot.vendors.base import ConnectionConfig
from bot.vendors.errors import AuthError, PermissionDenied, RequestRejected, SchemaError
from bot.vendors.limiter import LimiterRegistry
from bot.vendors.windsurf import CASCADE_DATA_SOURCE, ApiKeyDirectory, WindsurfClient

from .fakes import FAST_RETRY, NOW, SECRET, FakeVendor, Reply, fixed_clock, ok

# --- documented examples (windsurf-api.md), verbatim ---------------------------------------------

ANALYTICS_EXAMPLE = """{"queryResults": [{"responseItems": [
   {"item": {"date": "2025-06-01", "api_key": "…", "acc": "42"}},
   {"item": {"date": "2025-06-02", "api_key": "…", "acc": "17"}}]}]}"""
USER_PAGE_EXAMPLE = """{"userTableStats": [
   {"name": "Alice", "email": "alice@example.com", "apiKey": "…secret…",
    "lastUpdateTime": "2025-06-10T22:56:10.771591Z", "activeDays": 18,
    "role": "…", "signupTime": "2024-02-01T10:00:00Z",
    "promptCreditsUsed": 125000, "teamStatus": "USER_TEAM_STATUS_APPROVED"}],
 "billingCycleStart": "2025-06-01T00:00:00Z", "billingCycleEnd": "2025-07-01T00:00:00Z"}"""
CASCADE_EXAMPLE = """{"queryResults": [
  {"cascadeLines": {"cascadeLines": [{"day": "2025-06-01T00:00:00Z", "linesSuggested": "206", "linesAccepted": "157"}]}},
  {"cascadeRuns":  {"cascadeRuns":  [{"day": "2025-06-01T00:00:00Z", "model": "…", "mode": "CONVERSATIONAL_PLANNER_MODE_DEFAULT",
                                      "messagesSent": "3", "cascadeId": "…", "promptsUsed": "300"}]}},
  {"cascadeToolUsage": {"cascadeToolUsage": [{"tool": "CODE_ACTION", "count": "15"}]}}]}"""  # noqa: E501
BALANCE_EXAMPLE = """{"promptCreditsPerSeat": 500, "numSeats": 50, "addOnCreditsAvailable": 10000, "addOnCreditsUsed": 3500,
 "billingCycleStart": "2026-01-01T00:00:00Z", "billingCycleEnd": "2026-02-01T00:00:00Z"}"""  # noqa: E501
CAP_EXAMPLE = '{"addOnCreditCap": 10000}'

BASE = "/api/v1"


@pytest.fixture
def client(
    make_config: Callable[..., ConnectionConfig], http: httpx.AsyncClient, limiters: LimiterRegistry
) -> WindsurfClient:
    return WindsurfClient(
        make_config(Vendor.WINDSURF, suffix=BASE),
        http=http,
        limiters=limiters,
        clock=fixed_clock,
        retry=FAST_RETRY,
    )


def user_row(
    email: str, api_key: str, credits_hundredths: int | str | None = None, **extra: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {"name": email.split("@")[0], "email": email, "apiKey": api_key, **extra}
    if credits_hundredths is not None:
        row["promptCreditsUsed"] = credits_hundredths
    return row


# --- credit balance ------------------------------------------------------------------------------


async def test_credit_balance_documented_example(fake: FakeVendor, client: WindsurfClient) -> None:
    fake.reply("POST", f"{BASE}/GetTeamCreditBalance", ok(BALANCE_EXAMPLE))
    fake.reply("POST", f"{BASE}/UserPageAnalytics", ok(USER_PAGE_EXAMPLE))
    balance = await client.credit_balance()
    prompt, add_on = balance.pools
    assert (prompt.name, prompt.size, prompt.used) == ("prompt", Decimal(25_000), Decimal(1250))
    assert (add_on.name, add_on.size, add_on.used) == ("add-on", Decimal(10_000), Decimal(3500))
    assert add_on.remaining == Decimal(6500)
    assert balance.remaining == Decimal(23_750 + 6_500)
    assert balance.unit is Unit.CREDITS
    assert balance.cycle_start == datetime(2026, 1, 1, tzinfo=UTC)
    assert balance.cycle_end == datetime(2026, 2, 1, tzinfo=UTC)
    assert balance.observed_at == NOW
    upa = fake.calls(f"{BASE}/UserPageAnalytics")[0].body
    # the cycle bounds are passed explicitly, right under both documented readings
    assert upa == {
        "service_key": SECRET,
        "start_timestamp": "2026-01-01T00:00:00Z",
        "end_timestamp": "2026-02-01T00:00:00Z",
    }
    assert fake.calls(f"{BASE}/GetTeamCreditBalance")[0].body == {"service_key": SECRET}


async def test_credit_balance_sums_prompt_credits_of_every_user_in_hundredths(
    fake: FakeVendor, client: WindsurfClient
) -> None:
    users = {
        "userTableStats": [
            user_row("a@co.com", "k1", 150),
            user_row("b@co.com", "k2", "2050", teamStatus="USER_TEAM_STATUS_PENDING"),
            user_row("c@co.com", "k3"),  # zero omitted
        ]
    }
    fake.reply("POST", f"{BASE}/GetTeamCreditBalance", ok(BALANCE_EXAMPLE))
    fake.reply("POST", f"{BASE}/UserPageAnalytics", ok(users))
    balance = await client.credit_balance()
    assert balance.pools[0].used == Decimal("22")
    assert not fake.calls(f"{BASE}/CascadeAnalytics")


async def test_credit_balance_falls_back_to_cascade_runs_when_users_carry_no_prompt_credits(
    fake: FakeVendor, client: WindsurfClient
) -> None:
    old_users = {"userTableStats": [user_row("a@co.com", "k1"), user_row("b@co.com", "k2")]}
    runs = {
        "queryResults": [
            {
                "cascadeRuns": {
                    "cascadeRuns": [
                        {"day": "2026-01-03T00:00:00Z", "model": "m", "promptsUsed": "500000"},
                        {"day": "2026-01-04T00:00:00Z", "model": "m", "promptsUsed": "25000"},
                    ]
                }
            }
        ]
    }
    fake.reply("POST", f"{BASE}/GetTeamCreditBalance", ok(BALANCE_EXAMPLE))
    fake.reply("POST", f"{BASE}/UserPageAnalytics", ok(old_users))
    fake.reply("POST", f"{BASE}/CascadeAnalytics", ok(runs))
    balance = await client.credit_balance()
    # 5,250 credits spent in cascade runs, 3,500 of them from the add-on pool
    assert balance.pools[0].used == Decimal(1750)
    request = fake.calls(f"{BASE}/CascadeAnalytics")[0].body
    assert request["start_timestamp"] == "2026-01-01T00:00:00Z"
    assert request["end_timestamp"] == "2026-02-01T00:00:00Z"
    assert request["query_requests"] == [{"cascade_runs": {}}]


async def test_a_balance_without_any_known_field_is_a_schema_error(
    fake: FakeVendor, client: WindsurfClient
) -> None:
    fake.reply("POST", f"{BASE}/GetTeamCreditBalance", ok({"seats": 5, "creditsPerSeat": 1}))
    with pytest.raises(SchemaError) as caught:
        await client.probe()
    assert caught.value.field == "numSeats"
    assert caught.value.endpoint == "/GetTeamCreditBalance"


async def test_probe_is_one_credit_balance_call(fake: FakeVendor, client: WindsurfClient) -> None:
    fake.reply("POST", f"{BASE}/GetTeamCreditBalance", ok(BALANCE_EXAMPLE))
    await client.probe()
    assert [call.path for call in fake.calls()] == [f"{BASE}/GetTeamCreditBalance"]


@pytest.mark.parametrize(
    ("status", "message", "error"),
    [
        (401, "Invalid service key", AuthError),
        (400, "Invalid service key", AuthError),
        (403, "Insufficient permissions", PermissionDenied),
        (200, "Insufficient permissions", PermissionDenied),
    ],
)
async def test_key_problems_are_typed_errors(
    fake: FakeVendor, client: WindsurfClient, status: int, message: str, error: type[Exception]
) -> None:
    fake.reply("POST", f"{BASE}/GetTeamCreditBalance", Reply(status, {"error": message}))
    with pytest.raises(error, match=message):
        await client.probe()
    assert len(fake.calls()) == 1


# --- members and the key directory ---------------------------------------------------------------


async def test_members_and_directory_never_expose_user_keys(fake: FakeVendor, client: WindsurfClient) -> None:
    users = json.loads(USER_PAGE_EXAMPLE)
    users["userTableStats"] += [
        user_row("bo@co.com", "raw-user-key-BO", teamStatus="USER_TEAM_STATUS_PENDING"),
        user_row("old@co.com", "raw-user-key-OLD"),  # older docs: no teamStatus
    ]
    fake.reply("POST", f"{BASE}/UserPageAnalytics", ok(users))
    members = await client.members()
    assert [(m.email, m.active, m.role) for m in members] == [
        ("alice@example.com", True, "…"),
        ("bo@co.com", False, None),
        ("old@co.com", True, None),
    ]
    directory = await client.user_directory()
    assert directory.email_for("raw-user-key-BO") == "bo@co.com"
    assert directory.email_for("…secret…") == "alice@example.com"
    assert directory.email_for("nobody") is None
    shown = repr(members) + repr(directory) + str(vars(directory) if hasattr(directory, "__dict__") else "")
    for key in ("raw-user-key-BO", "raw-user-key-OLD", "…secret…"):
        assert key not in shown
    assert all(m.vendor_user_id is None for m in members)
    assert repr(ApiKeyDirectory([("k", "e")])) == "ApiKeyDirectory(1 users)"


async def test_a_renamed_user_table_is_a_schema_error(fake: FakeVendor, client: WindsurfClient) -> None:
    fake.reply("POST", f"{BASE}/UserPageAnalytics", ok({"users": []}))
    with pytest.raises(SchemaError) as caught:
        await client.members()
    assert caught.value.field == "userTableStats"
    assert caught.value.vendor == "windsurf"


# --- daily credits -------------------------------------------------------------------------------


async def test_team_daily_credits_documented_example(fake: FakeVendor, client: WindsurfClient) -> None:
    fake.reply("POST", f"{BASE}/CascadeAnalytics", ok(CASCADE_EXAMPLE))
    (row,) = await client.team_daily_credits(date(2025, 6, 1), date(2025, 6, 1))
    assert row.amount == Decimal(3)
    assert row.requests == Decimal(3)
    assert (row.day, row.model, row.user_email) == (date(2025, 6, 1), "…", None)
    assert (row.vendor, row.unit, row.granularity) == (Vendor.WINDSURF, Unit.CREDITS, Granularity.DAY)
    request = fake.calls()[0].body
    assert request["query_requests"] == [{"cascade_runs": {}}]
    assert request["start_timestamp"] == "2025-06-01T00:00:00Z"
    assert request["end_timestamp"] == "2025-06-02T00:00:00Z"


async def test_team_daily_credits_sums_split_rows_and_defaults_omitted_zeros(
    fake: FakeVendor, client: WindsurfClient
) -> None:
    rows = [
        {
            "day": "2025-06-01T00:00:00Z",
            "model": "Claude 3.7 Sonnet (Thinking)",
            "promptsUsed": "300",
            "messagesSent": "1",
        },
        {"day": "2025-06-01T00:00:00Z", "model": "Claude 3.7 Sonnet (Thinking)", "promptsUsed": "150"},
        {"day": "2025-06-01T00:00:00Z", "model": "SWE-1", "mode": "UNKNOWN"},  # promptsUsed omitted: zero
        {"day": "2025-06-02T00:00:00Z", "model": "SWE-1", "promptsUsed": "2100"},
        {"day": "2025-06-03T00:00:00Z", "model": "SWE-1", "promptsUsed": "999"},  # outside the range
    ]
    fake.reply(
        "POST", f"{BASE}/CascadeAnalytics", ok({"queryResults": [{"cascadeRuns": {"cascadeRuns": rows}}]})
    )
    result = await client.team_daily_credits(date(2025, 6, 1), date(2025, 6, 2))
    assert [(r.day, r.model, r.amount) for r in result] == [
        (date(2025, 6, 1), "Claude 3.7 Sonnet (Thinking)", Decimal("4.5")),
        (date(2025, 6, 1), "SWE-1", Decimal(0)),
        (date(2025, 6, 2), "SWE-1", Decimal(21)),
    ]


@pytest.mark.parametrize("body", ['{"queryResults": [{}]}', '{"queryResults": [{"cascadeRuns": {}}]}'])
async def test_team_daily_credits_with_nothing_to_report(
    fake: FakeVendor, client: WindsurfClient, body: str
) -> None:
    fake.reply("POST", f"{BASE}/CascadeAnalytics", ok(body))
    assert await client.team_daily_credits(date(2025, 6, 1), date(2025, 6, 2)) == []


async def test_a_renamed_cascade_result_is_a_schema_error(fake: FakeVendor, client: WindsurfClient) -> None:
    fake.reply(
        "POST", f"{BASE}/CascadeAnalytics", ok({"queryResults": [{"cascadeRunz": {"cascadeRuns": []}}]})
    )
    with pytest.raises(SchemaError) as caught:
        await client.team_daily_credits(date(2025, 6, 1), date(2025, 6, 2))
    assert caught.value.field == "queryResults[].cascadeRuns"


async def test_cascade_lines_documented_example(fake: FakeVendor, client: WindsurfClient) -> None:
    fake.reply("POST", f"{BASE}/CascadeAnalytics", ok(CASCADE_EXAMPLE))
    (lines,) = await client.cascade_lines(date(2025, 6, 1), date(2025, 6, 1))
    assert (lines.day, lines.lines_suggested, lines.lines_accepted) == (date(2025, 6, 1), 206, 157)


async def test_custom_query_documented_example(fake: FakeVendor, client: WindsurfClient) -> None:
    fake.reply("POST", f"{BASE}/Analytics", ok(ANALYTICS_EXAMPLE))
    query = {
        "data_source": "QUERY_DATA_SOURCE_USER_DATA",
        "selections": [
            {"field": "num_acceptances", "name": "acc", "aggregation_function": "QUERY_AGGREGATION_SUM"}
        ],
        "filters": [{"name": "date", "filter": "QUERY_FILTER_GE", "value": "2025-06-01"}],
        "aggregations": [{"field": "date", "name": "date"}, {"field": "api_key", "name": "api_key"}],
    }
    (items,) = await client.custom_query([query], group_name="engineering_team")
    assert items == [
        {"date": "2025-06-01", "api_key": "…", "acc": "42"},
        {"date": "2025-06-02", "api_key": "…", "acc": "17"},
    ]
    body = fake.calls()[0].body
    assert body["query_requests"] == [query]
    assert body["group_name"] == "engineering_team"


async def test_user_daily_credits_from_cascade_data_joined_to_emails(
    fake: FakeVendor, client: WindsurfClient
) -> None:
    items = [
        {
            "api_key": "raw-key-A",
            "date": "2025-06-01",
            "model": "SWE-1",
            "prompts_used": "2100",
            "flex_credits_used": "50",
        },
        {"api_key": "raw-key-A", "date": "2025-06-02", "model": "SWE-1", "prompts_used": "100"},
        {"api_key": "raw-key-B", "date": "2025-06-01", "model": "GPT-5", "flex_credits_used": "1"},
        {"api_key": "gone", "date": "2025-06-01", "model": "GPT-5", "prompts_used": "200"},
    ]
    fake.reply(
        "POST", f"{BASE}/Analytics", ok({"queryResults": [{"responseItems": [{"item": i} for i in items]}]})
    )
    fake.reply(
        "POST",
        f"{BASE}/UserPageAnalytics",
        ok({"userTableStats": [user_row("a@co.com", "raw-key-A"), user_row("b@co.com", "raw-key-B")]}),
    )
    rows = await client.user_daily_credits(date(2025, 6, 1), date(2025, 6, 2))
    assert [(r.day, r.user_email, r.model, r.amount) for r in rows] == [
        (date(2025, 6, 1), "a@co.com", "SWE-1", Decimal("21.5")),
        (date(2025, 6, 1), "b@co.com", "GPT-5", Decimal("0.01")),
        (date(2025, 6, 1), "unknown", "GPT-5", Decimal(2)),
        (date(2025, 6, 2), "a@co.com", "SWE-1", Decimal(1)),
    ]
    query = fake.calls(f"{BASE}/Analytics")[0].body["query_requests"][0]
    assert query["data_source"] == CASCADE_DATA_SOURCE
    assert {s["name"] for s in query["selections"]} == {"prompts_used", "flex_credits_used"}
    assert query["filters"][0]["value"] == "2025-06-01"
    assert query["filters"][1]["value"] == "2025-06-02"


async def test_user_daily_credits_refused_source_is_request_rejected(
    fake: FakeVendor, client: WindsurfClient
) -> None:
    refusal = {"error": "invalid query table: QUERY_DATA_SOURCE_CASCADE_DATA"}
    fake.reply("POST", f"{BASE}/Analytics", Reply(400, refusal))
    with pytest.raises(RequestRejected, match="invalid query table"):
        await client.user_daily_credits(date(2025, 6, 1), date(2025, 6, 2))


# --- usage config (caps) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "cap"),
    [
        (CAP_EXAMPLE, Decimal(10_000)),
        ('{"add_on_credit_cap": 250}', Decimal(250)),
        ("{}", None),
        ('{"addOnCreditCap": "75"}', Decimal(75)),
    ],
)
async def test_get_usage_config_reads_both_spellings(
    fake: FakeVendor, client: WindsurfClient, body: str, cap: Decimal | None
) -> None:
    fake.reply("POST", f"{BASE}/GetUsageConfig", ok(body))
    assert await client.get_usage_config(user_email="a@co.com") == cap
    assert fake.calls()[0].body == {"service_key": SECRET, "user_email": "a@co.com"}


async def test_usage_config_scopes_are_exactly_one(fake: FakeVendor, client: WindsurfClient) -> None:
    fake.reply("POST", f"{BASE}/GetUsageConfig", ok("{}"))
    await client.get_usage_config(team=True)
    await client.get_usage_config(group_id="engineering_team")
    bodies = [call.body for call in fake.calls()]
    assert bodies[0] == {"service_key": SECRET, "team_level": True}
    assert bodies[1] == {"service_key": SECRET, "group_id": "engineering_team"}
    with pytest.raises(ValueError, match="exactly one"):
        await client.get_usage_config()
    with pytest.raises(ValueError, match="exactly one"):
        await client.set_usage_config(5, user_email="a@co.com", team=True)


@pytest.mark.parametrize("answer", ["", "{}"])
async def test_set_usage_config_sets_and_clears_and_accepts_an_empty_answer(
    fake: FakeVendor, client: WindsurfClient, answer: str
) -> None:
    fake.reply("POST", f"{BASE}/UsageConfig", ok(answer))
    await client.set_usage_config(500, user_email="a@co.com")
    await client.set_usage_config(None, team=True)
    bodies = [call.body for call in fake.calls()]
    assert bodies[0] == {"service_key": SECRET, "set_add_on_credit_cap": 500, "user_email": "a@co.com"}
    assert bodies[1] == {"service_key": SECRET, "clear_add_on_credit_cap": True, "team_level": True}


async def test_set_usage_config_refusal(fake: FakeVendor, client: WindsurfClient) -> None:
    fake.reply("POST", f"{BASE}/UsageConfig", Reply(400, {"error": "user not found: z@co.com"}))
    with pytest.raises(RequestRejected, match="user not found"):
        await client.set_usage_config(5, user_email="z@co.com")
    with pytest.raises(ValueError, match="whole"):
        await client.set_usage_config(-5, user_email="z@co.com")


async def test_one_limiter_at_the_configured_pace(
    fake: FakeVendor, make_config: Callable[..., ConnectionConfig], http: httpx.AsyncClient
) -> None:
    config = make_config(Vendor.WINDSURF, suffix=BASE, requests_per_minute=12)
    client = WindsurfClient(config, http=http, limiters=LimiterRegistry())
    fake.reply("POST", f"{BASE}/GetTeamCreditBalance", ok(BALANCE_EXAMPLE))
    await client.probe()
    (status,) = client.rate_limit_statuses()
    assert (status.scope, status.limit, status.remaining) == ("api", 12, 11)


def test_a_members_last_use_is_the_latest_of_the_user_tables_times_and_empty_means_never() -> None:
    from bot.vendors.windsurf import parse_user_table

    body = {
        "userTableStats": [
            {
                "email": "a@x.io",
                "lastUpdateTime": "2026-11-01T10:00:00Z",
                "lastAutocompleteUsageTime": "2026-11-03T09:30:00.5Z",
                "lastChatUsageTime": "",
            },
            {"email": "b@x.io", "lastUpdateTime": "", "lastAutocompleteUsageTime": ""},
            {"email": "c@x.io"},
        ]
    }
    members, _, _ = parse_user_table(body)
    assert [m.last_active_at for m in members] == [
        datetime(2026, 11, 3, 9, 30, 0, 500000, tzinfo=UTC),
        None,
        None,
    ]
    with pytest.raises(SchemaError):
        parse_user_table({"userTableStats": [{"email": "d@x.io", "lastChatUsageTime": "yesterday"}]})
