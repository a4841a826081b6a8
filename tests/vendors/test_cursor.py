"""CursorClient against a loopback server serving the documented payloads of every doc version."""

from __future__ import annotations

import itertools
import json
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bot.domain.usage import Granularity, SpendRow, Unit, UsageEvent, Vendor
from bot.vendors.base import ConnectionConfig
from bot.vendors.cursor import (
    CursorClient,
    SpendRowAccumulator,
    parse_usage_event,
    usage_event_windows,
)
from bot.vendors.errors import RateLimited, RequestRejected, SchemaError
from bot.vendors.limiter import LimiterRegistry

from .fakes import FAST_RETRY, FakeVendor, Recorded, Reply, fixed_clock, ok

# --- documented examples (cursor-api.md), verbatim -----------------------------------------------

MEMBERS_NEWEST = '{"teamMembers":[{"id":"user_AbC123","name":"Alex","email":"alex@co.com","role":"member","isRemoved":false}]}'  # noqa: E501
SPEND_EXAMPLE = """{"teamMemberSpend":[{"userId":"user_AbC123","email":"alex@co.com","name":"Alex","role":"member",
  "spendCents":0,"overallSpendCents":860.25,"fastPremiumRequests":0,
  "hardLimitOverrideDollars":200,"monthlyLimitDollars":30,"effectivePerUserLimitDollars":30}],
 "subscriptionCycleStart":1779062400000,"totalMembers":50,"totalPages":17}"""  # noqa: E501
EVENTS_EXAMPLE = """{"totalUsageEventsCount":113,
 "pagination":{"numPages":5,"currentPage":1,"pageSize":25,"hasNextPage":true,"hasPreviousPage":false},
 "usageEvents":[{"timestamp":"1750979225854","userEmail":"alex@co.com","model":"claude-4.5-sonnet",
   "kind":"Usage-based","maxMode":true,"requestsCosts":5,"isTokenBasedCall":true,"isChargeable":true,
   "isHeadless":false,"tokenUsage":{"inputTokens":126,"outputTokens":450,"cacheWriteTokens":6112,
   "cacheReadTokens":11964,"totalCents":20.18},"chargedCents":21.36,"cursorTokenFee":1.18}],
 "period":{"startDate":1748411762359,"endDate":1751003762359}}"""
BY_USER_MODELS_EXAMPLE = """{"data":{"alex@co.com":[{"date":"2025-01-15","model_breakdown":{"gpt-5":{"messages":85,"users":1}}}]},
 "pagination":{"page":1,"pageSize":100,"totalUsers":1,"totalPages":1,"hasNextPage":false,"hasPreviousPage":false},
 "params":{"metric":"models","teamId":12345,"startDate":"2025-01-09","endDate":"2025-01-15","page":1,"pageSize":100,
   "userMappings":[{"id":"user_AbC123","email":"alex@co.com"}]}}"""  # noqa: E501


@pytest.fixture
def client(
    make_config: Callable[..., ConnectionConfig], http: httpx.AsyncClient, limiters: LimiterRegistry
) -> CursorClient:
    return CursorClient(
        make_config(Vendor.CURSOR), http=http, limiters=limiters, clock=fixed_clock, retry=FAST_RETRY
    )


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


# --- members ---------------------------------------------------------------------------------------


async def test_members_in_every_doc_version(fake: FakeVendor, client: CursorClient) -> None:
    fake.reply("GET", "/teams/members", ok(MEMBERS_NEWEST))
    (newest,) = await client.members()
    assert (newest.email, newest.name, newest.role, newest.active, newest.vendor_user_id) == (
        "alex@co.com",
        "Alex",
        "member",
        True,
        "user_AbC123",
    )
    old = '{"teamMembers":[{"name":"Bo","email":"bo@co.com","role":"owner"}]}'
    middle = '{"teamMembers":[{"id":12345,"name":"Cy","email":"cy@co.com","role":"member","isRemoved":true}]}'
    fake.reply("GET", "/teams/members", ok(old), ok(middle))
    (bo,) = await client.members()
    assert bo.vendor_user_id is None
    assert bo.active
    (cy,) = await client.members()
    assert cy.vendor_user_id == "12345"
    assert not cy.active
    assert fake.calls()[0].headers["authorization"].startswith("Basic ")


async def test_probe_is_one_spend_row(fake: FakeVendor, client: CursorClient) -> None:
    """One member's row: every alert check makes this call, the roster of a large team is megabytes."""
    fake.route("POST", "/teams/spend", spend_pages(5000, 1))
    await client.probe()
    (call,) = fake.calls()
    assert call.path == "/teams/spend" and call.body == {"page": 1, "pageSize": 1}


async def test_a_renamed_required_field_is_a_schema_error_naming_it(
    fake: FakeVendor, client: CursorClient
) -> None:
    fake.reply("GET", "/teams/members", ok('{"members":[{"email":"a@co.com"}]}'))
    with pytest.raises(SchemaError) as caught:
        await client.members()
    assert caught.value.field == "teamMembers"
    assert caught.value.vendor == "cursor"
    assert caught.value.endpoint == "/teams/members"
    fake.reply("GET", "/teams/members", ok('{"teamMembers":[{"mail":"a@co.com"}]}'))
    with pytest.raises(SchemaError) as caught:
        await client.members()
    assert caught.value.field == "teamMembers[].email"


# --- cycle spend ---------------------------------------------------------------------------------


async def test_cycle_spend_documented_example_across_all_pages(
    fake: FakeVendor, client: CursorClient
) -> None:
    def handler(request: Recorded) -> Reply:
        page = request.body["page"]
        if page == 1:
            return ok(SPEND_EXAMPLE)
        body = json.loads(SPEND_EXAMPLE)
        body["teamMemberSpend"][0]["email"] = f"user{page}@co.com"
        return ok(body)

    fake.route("POST", "/teams/spend", handler)
    report = await client.cycle_spend()
    assert len(report.rows) == 17
    assert [call.body["page"] for call in fake.calls()] == list(range(1, 18))
    assert all(call.body["pageSize"] == 100 for call in fake.calls())
    alex = report.rows[0]
    assert alex.user_email == "alex@co.com"
    assert alex.total_cents == Decimal("860.25")
    assert alex.on_demand_cents == Decimal(0)
    assert alex.limit_cents == Decimal(3000)
    assert not alex.total_is_fallback
    assert report.cycle_start == datetime(2026, 5, 18, tzinfo=UTC)
    assert report.cycle_end == datetime(2026, 6, 18, tzinfo=UTC)
    assert report.unit is Unit.USD_CENTS


@pytest.mark.parametrize(
    ("row", "total", "on_demand", "limit", "fallback"),
    [
        # old docs: integer spendCents, hardLimitOverrideDollars only
        (
            {"spendCents": 1234, "fastPremiumRequests": 3, "hardLimitOverrideDollars": 0},
            "1234",
            None,
            None,
            True,
        ),
        ({"spendCents": 1234, "hardLimitOverrideDollars": 200}, "1234", None, "20000", True),
        # newest: fractional cents kept exact
        (
            {"spendCents": 2450.125487, "overallSpendCents": 9050.125487},
            "9050.125487",
            "2450.125487",
            None,
            False,
        ),
        # newest: no limit at all
        (
            {
                "spendCents": 0,
                "overallSpendCents": 1,
                "hardLimitOverrideDollars": 0,
                "monthlyLimitDollars": None,
                "effectivePerUserLimitDollars": 0,
            },
            "1",
            "0",
            None,
            False,
        ),
        # newest: an explicit $0 limit
        (
            {"overallSpendCents": 5, "monthlyLimitDollars": 0, "effectivePerUserLimitDollars": 0},
            "5",
            "0",
            "0",
            False,
        ),
        # a monthly limit without the effective field
        ({"overallSpendCents": 5, "monthlyLimitDollars": 75}, "5", "0", "7500", False),
        # zeros omitted
        ({}, "0", None, None, True),
    ],
)
async def test_cycle_spend_rows_in_every_doc_version(
    fake: FakeVendor,
    client: CursorClient,
    row: dict[str, Any],
    total: str,
    on_demand: str | None,
    limit: str | None,
    fallback: bool,
) -> None:
    body = {"teamMemberSpend": [{"email": "a@co.com", "name": "A", "role": "member", **row}], "totalPages": 1}
    fake.reply("POST", "/teams/spend", ok(body))
    report = await client.cycle_spend()
    (spend,) = report.rows
    assert spend.total_cents == Decimal(total)
    assert spend.on_demand_cents == (None if on_demand is None else Decimal(on_demand))
    assert spend.limit_cents == (None if limit is None else Decimal(limit))
    assert spend.total_is_fallback is fallback
    assert report.cycle_start is None
    assert report.cycle_end is None


async def test_cycle_spend_fractional_cents_survive_json_exactly(
    fake: FakeVendor, client: CursorClient
) -> None:
    fake.reply(
        "POST",
        "/teams/spend",
        ok('{"teamMemberSpend":[{"email":"a@co.com","spendCents":2450.125487}],"totalPages":1}'),
    )
    (row,) = (await client.cycle_spend()).rows
    assert row.total_cents == Decimal("2450.125487")


def spend_pages(total_rows: int, page_size: int) -> Callable[[Recorded], Reply]:
    pages = max(1, -(-total_rows // page_size)) if total_rows else 0

    def handler(request: Recorded) -> Reply:
        page = request.body["page"]
        first = (page - 1) * page_size
        rows = [
            {"email": f"u{i}@co.com", "overallSpendCents": i}
            for i in range(first, min(first + page_size, total_rows))
        ]
        return ok({"teamMemberSpend": rows, "totalPages": pages, "subscriptionCycleStart": 1767225600000})

    return handler


@pytest.mark.parametrize(("rows", "requests"), [(0, 1), (6, 2), (7, 3)])
async def test_cycle_spend_pagination_edges(
    fake: FakeVendor,
    make_config: Callable[..., ConnectionConfig],
    http: httpx.AsyncClient,
    limiters: LimiterRegistry,
    rows: int,
    requests: int,
) -> None:
    client = CursorClient(make_config(Vendor.CURSOR), http=http, limiters=limiters, spend_page_size=3)
    fake.route("POST", "/teams/spend", spend_pages(rows, 3))
    report = await client.cycle_spend()
    assert [row.user_email for row in report.rows] == [f"u{i}@co.com" for i in range(rows)]
    assert len(fake.calls()) == requests


async def test_cycle_spend_without_total_pages_stops_on_an_empty_page(
    fake: FakeVendor, client: CursorClient
) -> None:
    fake.reply(
        "POST",
        "/teams/spend",
        ok({"teamMemberSpend": [{"email": "a@co.com"}]}),
        ok({"teamMemberSpend": []}),
    )
    assert len((await client.cycle_spend()).rows) == 1
    assert len(fake.calls()) == 2


# --- usage events --------------------------------------------------------------------------------


def test_documented_event_is_priced_by_charged_cents() -> None:
    event = parse_usage_event(json.loads(EVENTS_EXAMPLE, parse_float=Decimal)["usageEvents"][0])
    assert event.cents == Decimal("21.36")
    assert event.priced
    assert event.timestamp == datetime(2025, 6, 26, 23, 7, 5, 854000, tzinfo=UTC)
    assert event.requests == Decimal(5)
    assert (event.user_email, event.model, event.kind, event.chargeable) == (
        "alex@co.com",
        "claude-4.5-sonnet",
        "Usage-based",
        True,
    )


@pytest.mark.parametrize(
    ("changes", "cents", "priced"),
    [
        ({"chargedCents": None}, "21.36", True),  # old docs: totalCents 20.18 + cursorTokenFee 1.18
        ({"chargedCents": None, "cursorTokenFee": None}, "20.18", True),
        ({"chargedCents": None, "tokenUsage": None}, "1.18", True),
        ({"chargedCents": None, "tokenUsage": None, "cursorTokenFee": None}, "0", False),
        ({"chargedCents": 0}, "0", True),
    ],
)
def test_event_pricing_in_every_doc_version(changes: dict[str, Any], cents: str, priced: bool) -> None:
    raw = json.loads(EVENTS_EXAMPLE, parse_float=Decimal)["usageEvents"][0]
    for key, value in changes.items():
        if value is None:
            raw.pop(key)
        else:
            raw[key] = value
    event = parse_usage_event(raw)
    assert event.cents == Decimal(cents)
    assert event.priced is priced


def test_old_event_shapes_numeric_timestamp_kind_label_and_service_accounts() -> None:
    event = parse_usage_event(
        {
            "timestamp": 1750979225854,
            "userEmail": "a@co.com",
            "kindLabel": "Included in Pro",
            "isFreeBugbot": False,
        }
    )
    assert event.kind == "Included in Pro"
    assert event.model == "unknown"
    assert event.cents == 0
    assert not event.priced
    robot = parse_usage_event(
        {"timestamp": "1750979225854", "serviceAccountName": "ci-bot", "chargedCents": 3}
    )
    assert robot.user_email == "service-account:ci-bot"
    with pytest.raises(SchemaError) as caught:
        parse_usage_event({"time": "1750979225854", "userEmail": "a@co.com"})
    assert caught.value.field == "usageEvents[].timestamp"
    with pytest.raises(SchemaError) as caught:
        parse_usage_event({"timestamp": "1750979225854"})
    assert caught.value.field == "usageEvents[].userEmail"
    with pytest.raises(SchemaError) as caught:
        parse_usage_event({"timestamp": "soon", "userEmail": "a@co.com"})
    assert caught.value.field == "usageEvents[].timestamp"


async def test_documented_events_page_then_following_pages(fake: FakeVendor, client: CursorClient) -> None:
    def handler(request: Recorded) -> Reply:
        page = request.body["page"]
        if page == 1:
            return ok(EVENTS_EXAMPLE)
        body = json.loads(EVENTS_EXAMPLE)
        body["pagination"].update(currentPage=page, hasNextPage=page < 5, hasPreviousPage=True)
        return ok(body)

    fake.route("POST", "/teams/filtered-usage-events", handler)
    start = datetime(2025, 6, 1, tzinfo=UTC)
    pages = [page async for page in client.iter_usage_events(start, start + timedelta(days=30))]
    assert len(pages) == 5
    assert all(page[0].cents == Decimal("21.36") for page in pages)
    first = fake.calls()[0].body
    assert first == {
        "startDate": ms(start),
        "endDate": ms(start + timedelta(days=30)) - 1,
        "page": 1,
        "pageSize": 1000,
    }


class EventStore:
    """A minimal filtered-usage-events server: inclusive ms bounds, page/pageSize, hasNextPage."""

    def __init__(
        self, timestamps: list[int], *, loose_bounds: bool = False, with_has_next: bool = True
    ) -> None:
        self.timestamps = sorted(timestamps)
        self.loose_bounds = loose_bounds
        self.with_has_next = with_has_next

    def __call__(self, request: Recorded) -> Reply:
        body = request.body
        first, last = body["startDate"], body["endDate"]
        if self.loose_bounds:  # a sloppy server: one extra ms either side
            first, last = first - 1, last + 1
        matching = [ts for ts in self.timestamps if first <= ts <= last]
        size, page = body["pageSize"], body["page"]
        chunk = matching[(page - 1) * size : page * size]
        num_pages = -(-len(matching) // size)
        pagination: dict[str, Any] = {"numPages": num_pages, "currentPage": page, "pageSize": size}
        if self.with_has_next:
            pagination.update(hasNextPage=page < num_pages, hasPreviousPage=page > 1)
        events = [
            {"timestamp": str(ts), "userEmail": "a@co.com", "model": "gpt-5", "chargedCents": 1.5}
            for ts in chunk
        ]
        return ok({"totalUsageEventsCount": len(matching), "pagination": pagination, "usageEvents": events})


def test_windows_are_at_most_30_days_with_inclusive_contiguous_bounds() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=65)
    windows = usage_event_windows(start, end)
    assert len(windows) == 3
    assert windows[0] == (ms(start), ms(start + timedelta(days=30)) - 1)
    assert windows[-1][1] == ms(end) - 1
    for (_, last), (first, _) in itertools.pairwise(windows):
        assert first == last + 1
    assert all(last - first + 1 <= 30 * 86_400_000 for first, last in windows)
    assert usage_event_windows(start, start) == []
    # sub-millisecond bounds round up: [start, end) holds the same whole milliseconds
    assert usage_event_windows(start + timedelta(microseconds=1), start + timedelta(microseconds=2001)) == [
        (ms(start) + 1, ms(start) + 2)
    ]
    with pytest.raises(ValueError, match="aware"):
        usage_event_windows(datetime(2026, 1, 1), end)  # noqa: DTZ001


@pytest.mark.parametrize("loose", [False, True])
async def test_no_event_is_counted_twice_at_a_window_boundary(
    fake: FakeVendor, client: CursorClient, loose: bool
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=65)
    boundaries = [first for first, _ in usage_event_windows(start, end)] + [
        last for _, last in usage_event_windows(start, end)
    ]
    candidates = [*boundaries, *(b + 7 for b in boundaries), *(b - 7 for b in boundaries)]
    store = EventStore(candidates, loose_bounds=loose)
    fake.route("POST", "/teams/filtered-usage-events", store)
    seen = [event async for page in client.iter_usage_events(start, end, page_size=2) for event in page]
    stamps = [ms(event.timestamp) for event in seen]
    assert sorted(stamps) == sorted(t for t in candidates if ms(start) <= t < ms(end))
    assert len(set(stamps)) == len(stamps)


@pytest.mark.parametrize(
    ("count", "requests", "has_next"), [(0, 1, True), (4, 2, True), (5, 3, True), (5, 3, False)]
)
async def test_events_pagination_edges(
    fake: FakeVendor, client: CursorClient, count: int, requests: int, has_next: bool
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    store = EventStore([ms(start) + i for i in range(count)], with_has_next=has_next)
    fake.route("POST", "/teams/filtered-usage-events", store)
    pages = [page async for page in client.iter_usage_events(start, start + timedelta(days=1), page_size=2)]
    assert sum(len(page) for page in pages) == count
    assert len(fake.calls()) == requests


async def test_events_stop_on_an_empty_page_even_if_the_server_says_more(
    fake: FakeVendor, client: CursorClient
) -> None:
    fake.reply(
        "POST",
        "/teams/filtered-usage-events",
        ok({"pagination": {"hasNextPage": True}, "usageEvents": []}),
    )
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert [page async for page in client.iter_usage_events(start, start + timedelta(days=1))] == []
    assert len(fake.calls()) == 1


async def test_usage_events_fall_back_from_60_to_20_per_minute_after_a_429(
    fake: FakeVendor, client: CursorClient
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    fake.reply(
        "POST",
        "/teams/filtered-usage-events",
        Reply(429, {"error": "Too Many Requests", "message": "Rate limit exceeded. Please try again later."}),
        ok({"pagination": {"hasNextPage": False}, "usageEvents": []}),
    )
    limiter = client.transport.limiter("usage_events")
    assert limiter.current_limit == 60
    assert [page async for page in client.iter_usage_events(start, start + timedelta(days=1))] == []
    assert limiter.current_limit == 20
    assert limiter.rate_limited_total == 1
    assert client.transport.limiter("admin").current_limit == 20  # other classes are untouched
    statuses = {status.scope: status for status in client.rate_limit_statuses()}
    assert statuses["usage_events"].limit == 20
    assert statuses["spend_limit"].limit == 250


async def test_spend_limit_falls_back_from_250_to_60_and_gives_up_after_bounded_429s(
    fake: FakeVendor, client: CursorClient
) -> None:
    fake.reply(
        "POST", "/teams/user-spend-limit", Reply(429, {"error": "Too Many Requests", "message": "slow down"})
    )
    with pytest.raises(RateLimited):
        await client.set_user_spend_limit("a@co.com", 100)
    assert client.transport.limiter("spend_limit").current_limit == 60
    assert len(fake.calls()) == 4


# --- spend rows ----------------------------------------------------------------------------------


def event(moment: datetime, email: str = "a@co.com", model: str = "gpt-5", cents: str = "1.25") -> UsageEvent:
    return UsageEvent(
        timestamp=moment, user_email=email, model=model, cents=Decimal(cents), requests=Decimal(1)
    )


def test_spend_rows_aggregate_quarter_hours_per_user_and_model() -> None:
    t = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    accumulator = SpendRowAccumulator()
    accumulator.extend(
        [
            event(t),
            event(t + timedelta(minutes=14, seconds=59)),
            event(t + timedelta(minutes=15)),
            event(t, email="b@co.com"),
            event(t, model="claude-4.5-sonnet", cents="0.001"),
        ]
    )
    rows = accumulator.rows()
    summary = [(r.bucket_start.minute, r.user_email, r.model, r.amount, r.requests) for r in rows]
    assert summary == [
        (0, "a@co.com", "claude-4.5-sonnet", Decimal("0.001"), Decimal(1)),
        (0, "a@co.com", "gpt-5", Decimal("2.50"), Decimal(2)),
        (0, "b@co.com", "gpt-5", Decimal("1.25"), Decimal(1)),
        (15, "a@co.com", "gpt-5", Decimal("1.25"), Decimal(1)),
    ]
    assert all(r.granularity is Granularity.QUARTER_HOUR and r.unit is Unit.USD_CENTS for r in rows)
    assert all(r.vendor is Vendor.CURSOR for r in rows)


def test_spend_rows_memory_does_not_grow_with_the_number_of_events() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    cents = Decimal("0.5")

    def events(count: int) -> Iterator[UsageEvent]:
        for i in range(count):
            yield UsageEvent(
                timestamp=start + timedelta(seconds=i % 3600),  # one hour: 4 buckets
                user_email=f"u{i % 20}@co.com",
                model="gpt-5",
                cents=cents,
                requests=Decimal(1),
            )

    def peak_bytes(count: int) -> tuple[int, list[SpendRow]]:
        accumulator = SpendRowAccumulator()
        tracemalloc.start()
        try:
            accumulator.extend(events(count))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return peak, accumulator.rows()

    small_peak, _ = peak_bytes(5_000)
    large_peak, rows = peak_bytes(50_000)
    assert len(rows) == 4 * 20
    assert sum(row.amount for row in rows) == Decimal(25_000)
    assert sum(row.requests for row in rows) == 50_000
    assert large_peak < small_peak * 1.5 + 50_000  # ten times the events, not ten times the memory


# --- daily usage, analytics ----------------------------------------------------------------------


async def test_daily_usage_newest_and_oldest_shapes(fake: FakeVendor, client: CursorClient) -> None:
    day_ms = ms(datetime(2026, 1, 2, tzinfo=UTC))
    newest = {
        "data": [
            {
                "userId": "user_AbC123",
                "email": "alex@co.com",
                "day": "2026-01-02",
                "date": day_ms,
                "isActive": True,
                "agentRequests": 7,
                "chatRequests": "2",
                "totalTabsAccepted": 30,
                "subscriptionIncludedReqs": 9,
                "mostUsedModel": "gpt-5",
            },
            {"userId": 2, "email": "bo@co.com", "date": day_ms, "isActive": False},
        ],
        "period": {"startDate": day_ms, "endDate": day_ms},
        "pagination": {"page": 1, "pageSize": 1000, "totalUsers": 3, "totalPages": 2, "hasNextPage": True},
    }
    page2 = {
        "data": [{"email": "cy@co.com", "date": day_ms, "isActive": False}],
        "pagination": {"page": 2, "pageSize": 1000, "totalUsers": 3, "totalPages": 2, "hasNextPage": False},
    }
    fake.reply("POST", "/teams/daily-usage-data", ok(newest), ok(page2))
    rows = await client.daily_usage(date(2026, 1, 2), date(2026, 1, 2))
    assert [(r.user_email, r.day, r.active) for r in rows] == [
        ("alex@co.com", date(2026, 1, 2), True),
        ("bo@co.com", date(2026, 1, 2), False),
        ("cy@co.com", date(2026, 1, 2), False),
    ]
    assert (rows[0].agent_requests, rows[0].chat_requests, rows[0].tabs_accepted) == (7, 2, 30)
    assert rows[0].included_requests == 9
    assert rows[0].most_used_model == "gpt-5"
    request = fake.calls()[0].body
    assert request["startDate"] == day_ms
    assert request["endDate"] == day_ms + 86_400_000 - 1
    assert request["page"] == 1
    assert request["pageSize"] == 1000

    fake.reset()
    oldest = {"data": [{"userId": 1, "email": "a@co.com", "date": day_ms, "composerRequests": 1}]}
    fake.reply("POST", "/teams/daily-usage-data", ok(oldest))
    (row,) = await client.daily_usage(date(2026, 1, 2), date(2026, 1, 2))
    assert row.active
    assert row.composer_requests == 1
    assert len(fake.calls()) == 1


async def test_daily_usage_splits_long_ranges_into_30_day_requests(
    fake: FakeVendor, client: CursorClient
) -> None:
    fake.reply("POST", "/teams/daily-usage-data", ok({"data": []}))
    await client.daily_usage(date(2026, 1, 1), date(2026, 3, 1))
    bounds = [(call.body["startDate"], call.body["endDate"]) for call in fake.calls()]
    assert len(bounds) == 2
    assert bounds[0] == (ms(datetime(2026, 1, 1, tzinfo=UTC)), ms(datetime(2026, 1, 31, tzinfo=UTC)) - 1)
    assert bounds[1] == (ms(datetime(2026, 1, 31, tzinfo=UTC)), ms(datetime(2026, 3, 2, tzinfo=UTC)) - 1)


async def test_analytics_dau_and_models_use_etags_and_304s_are_free(
    fake: FakeVendor, client: CursorClient
) -> None:
    dau = '{"data":[{"date":"2025-01-15","dau":42,"cli_dau":3,"cloud_agent_dau":1,"bugbot_dau":2}]}'
    models = json.dumps(
        {
            "data": [
                {
                    "date": "2025-01-15",
                    "model_breakdown": {
                        "gpt-5": {"messages": 85, "users": 1},
                        "default": {"messages": 3, "users": 2},
                    },
                }
            ]
        }
    )
    fake.reply("GET", "/analytics/team/dau", ok(dau, ETag='"d1"'), Reply(304, None, {"ETag": '"d1"'}))
    fake.reply("GET", "/analytics/team/models", ok(models, ETag='W/"m1"'))
    first = await client.analytics_dau(date(2025, 1, 9), date(2025, 1, 15))
    again = await client.analytics_dau(date(2025, 1, 9), date(2025, 1, 15))
    assert first == again
    (row,) = first
    assert (row.day, row.active_users, row.cli_active_users, row.bugbot_active_users) == (
        date(2025, 1, 15),
        42,
        3,
        2,
    )
    calls = fake.calls("/analytics/team/dau")
    assert calls[0].query == {"startDate": "2025-01-09", "endDate": "2025-01-15"}
    assert calls[1].headers["if-none-match"] == '"d1"'
    limiter = client.transport.limiter("analytics_team")
    assert limiter.refunded_total == 1
    assert limiter.requests_total == 2
    mix = await client.analytics_models(date(2025, 1, 9), date(2025, 1, 15))
    assert {(m.model, m.messages, m.users) for m in mix} == {("gpt-5", 85, 1), ("default", 3, 2)}


async def test_analytics_models_by_user_documented_example_and_paging(
    fake: FakeVendor, client: CursorClient
) -> None:
    page1 = json.loads(BY_USER_MODELS_EXAMPLE)
    page1["pagination"].update(totalPages=2, hasNextPage=True)
    page2 = {
        "data": {
            "bo@co.com": [{"date": "2025-01-14", "model_breakdown": {"default": {"messages": 4, "users": 1}}}]
        },
        "pagination": {"page": 2, "totalPages": 2, "hasNextPage": False},
    }
    fake.reply("GET", "/analytics/by-user/models", ok(page1), ok(page2))
    rows = await client.analytics_models_by_user(date(2025, 1, 9), date(2025, 1, 15))
    assert [(r.user_email, r.model, r.messages) for r in rows] == [
        ("alex@co.com", "gpt-5", 85),
        ("bo@co.com", "default", 4),
    ]
    assert [call.query["page"] for call in fake.calls()] == ["1", "2"]


# --- the one write -------------------------------------------------------------------------------


async def test_set_user_spend_limit_success_clear_and_refusal(fake: FakeVendor, client: CursorClient) -> None:
    fake.reply(
        "POST",
        "/teams/user-spend-limit",
        ok({"outcome": "success", "message": "Spend limit set to $100 for user a@co.com"}),
        ok({"outcome": "success", "message": "Spend limit removed"}),
        ok({"outcome": "error", "message": "Invalid email format"}),
        Reply(400, {"outcome": "error", "message": "User is not a member of the team"}),
    )
    assert await client.set_user_spend_limit("a@co.com", 100) == "Spend limit set to $100 for user a@co.com"
    assert await client.set_user_spend_limit("a@co.com", None) == "Spend limit removed"
    with pytest.raises(RequestRejected, match="Invalid email format"):
        await client.set_user_spend_limit("a@co", 5)
    with pytest.raises(RequestRejected, match="not a member"):
        await client.set_user_spend_limit("z@co.com", 5)
    bodies = [call.body for call in fake.calls()]
    assert bodies[0] == {"userEmail": "a@co.com", "spendLimitDollars": 100}
    assert bodies[1] == {"userEmail": "a@co.com", "spendLimitDollars": None}
    with pytest.raises(ValueError, match="whole"):
        await client.set_user_spend_limit("a@co.com", -1)


def daily_pages(users: int, page_size: int) -> Callable[[Recorded], Reply]:
    def handler(request: Recorded) -> Reply:
        page = request.body["page"]
        first = (page - 1) * page_size
        rows = [
            {"email": f"u{i}@co.com", "day": "2026-01-02", "isActive": False}
            for i in range(first, min(first + page_size, users))
        ]
        total_pages = -(-users // page_size)
        pagination = {"page": page, "pageSize": page_size, "totalUsers": users, "totalPages": total_pages}
        return ok({"data": rows, "pagination": {**pagination, "hasNextPage": page < total_pages}})

    return handler


@pytest.mark.parametrize(("users", "requests"), [(0, 1), (4, 2), (5, 3)])
async def test_daily_usage_pagination_edges(
    fake: FakeVendor,
    make_config: Callable[..., ConnectionConfig],
    http: httpx.AsyncClient,
    limiters: LimiterRegistry,
    users: int,
    requests: int,
) -> None:
    client = CursorClient(make_config(Vendor.CURSOR), http=http, limiters=limiters, daily_usage_page_size=2)
    fake.route("POST", "/teams/daily-usage-data", daily_pages(users, 2))
    rows = await client.daily_usage(date(2026, 1, 2), date(2026, 1, 2))
    assert [row.user_email for row in rows] == [f"u{i}@co.com" for i in range(users)]
    assert len(fake.calls()) == requests


async def test_a_bad_pagination_field_names_vendor_and_endpoint(
    fake: FakeVendor, client: CursorClient
) -> None:
    fake.reply(
        "POST",
        "/teams/filtered-usage-events",
        ok(
            {
                "pagination": {"hasNextPage": "yes"},
                "usageEvents": [{"timestamp": "1", "userEmail": "a@co.com"}],
            }
        ),
    )
    start = datetime(1970, 1, 1, tzinfo=UTC)
    with pytest.raises(SchemaError) as caught:
        [page async for page in client.iter_usage_events(start, start + timedelta(days=1))]
    assert caught.value.field == "pagination.hasNextPage"
    assert caught.value.endpoint == "/teams/filtered-usage-events"
