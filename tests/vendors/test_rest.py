"""RestClient against a loopback server speaking the seed's conventions (seeds/001): envelopes,
limit/offset pagination with has_more, X-RateLimit-* headers, plan quotas."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bot.domain.usage import Vendor
from bot.vendors.base import ConnectionConfig
from bot.vendors.errors import AuthError, RequestRejected, SchemaError
from bot.vendors.factory import make_client
from bot.vendors.limiter import LimiterRegistry
from bot.vendors.pagination import pages_by_has_next_page, pages_by_offset, pages_by_total_pages
from bot.vendors.rest import RestClient, parse_track

from .fakes import FAST_RETRY, NOW, SECRET, FakeVendor, Recorded, Reply, fixed_clock, ok

HEADERS = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "295", "X-RateLimit-Reset": "1640000000"}


@pytest.fixture
def rest_config(make_config: Callable[..., ConnectionConfig]) -> Callable[..., ConnectionConfig]:
    def build(**options: Any) -> ConnectionConfig:
        return make_config(Vendor.REST, suffix="/v1", **options)

    return build


def rest_client(config: ConnectionConfig, http: httpx.AsyncClient, limiters: LimiterRegistry) -> RestClient:
    client = make_client(config, http=http, limiters=limiters, clock=fixed_clock, retry=FAST_RETRY)
    assert isinstance(client, RestClient)
    return client


async def test_probe_gets_the_base_url_and_reports_headers_and_our_own_counts(
    fake: FakeVendor, rest_config: Callable[..., ConnectionConfig], http: httpx.AsyncClient
) -> None:
    fake.reply("GET", "/v1", ok({"success": True, "data": {"status": "ok"}}, **HEADERS))
    client = rest_client(rest_config(per_minute=300, per_day=50_000), http, LimiterRegistry())
    statuses = {status.scope: status for status in await client.probe()}
    call = fake.calls()[0]
    assert call.headers["authorization"] == f"Bearer {SECRET}"
    assert SECRET not in call.path + call.raw_query
    headers = statuses["headers"]
    assert (headers.limit, headers.remaining, headers.window) == (300, 295, timedelta(minutes=1))
    assert headers.reset_at is not None
    assert headers.reset_at.timestamp() == 1640000000
    assert headers.observed_at == NOW
    assert (statuses["minute"].limit, statuses["minute"].remaining) == (300, 299)
    assert (statuses["day"].limit, statuses["day"].remaining, statuses["day"].window) == (
        50_000,
        49_999,
        timedelta(days=1),
    )


async def test_unknown_plan_paces_at_60_a_minute_and_reports_no_day_quota(
    fake: FakeVendor, rest_config: Callable[..., ConnectionConfig], http: httpx.AsyncClient
) -> None:
    fake.reply("GET", "/v1", ok({"success": True, "data": {}}))
    client = rest_client(rest_config(), http, LimiterRegistry())
    statuses = await client.probe()
    assert [(s.scope, s.limit) for s in statuses] == [("minute", 60)]


async def test_headers_of_error_responses_are_recorded_too(
    fake: FakeVendor,
    rest_config: Callable[..., ConnectionConfig],
    http: httpx.AsyncClient,
    limiters: LimiterRegistry,
) -> None:
    envelope = {"success": False, "error": {"code": "UNAUTHORIZED", "message": "Invalid API key"}}
    fake.reply("GET", "/v1", Reply(401, envelope, {**HEADERS, "X-RateLimit-Remaining": "12"}))
    client = rest_client(rest_config(), http, limiters)
    with pytest.raises(AuthError) as caught:
        await client.probe()
    assert caught.value.code == "UNAUTHORIZED"
    (headers,) = [s for s in client.rate_limit_statuses() if s.scope == "headers"]
    assert headers.remaining == 12
    assert headers.window is None  # 300 matches no declared quota


async def test_remaining_zero_blocks_until_the_reset_and_a_lower_header_limit_is_adopted(
    fake: FakeVendor, rest_config: Callable[..., ConnectionConfig], http: httpx.AsyncClient
) -> None:
    exhausted = {"X-RateLimit-Limit": "30", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "0.3"}
    fake.reply(
        "GET", "/v1/items", ok({"success": True, "data": []}, **exhausted), ok({"success": True, "data": []})
    )
    client = rest_client(rest_config(per_minute=60), http, LimiterRegistry(time_scale=1000))
    await client.get("/items")
    started = time.perf_counter()
    await client.get("/items")
    assert time.perf_counter() - started >= 0.3
    assert client.transport.limiter("api").current_limit == 30


async def test_validation_error_envelope_surfaces_its_code(
    fake: FakeVendor,
    rest_config: Callable[..., ConnectionConfig],
    http: httpx.AsyncClient,
    limiters: LimiterRegistry,
) -> None:
    body = {
        "success": False,
        "error": {"code": "VALIDATION_ERROR", "message": "Name is required", "details": {"field": "name"}},
    }
    fake.reply("GET", "/v1/projects", Reply(400, body, HEADERS))
    client = rest_client(rest_config(), http, limiters)
    with pytest.raises(RequestRejected) as caught:
        await client.get("/projects")
    assert (caught.value.code, caught.value.message, caught.value.status) == (
        "VALIDATION_ERROR",
        "Name is required",
        400,
    )


# --- tracked figure ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("track", "body", "value"),
    [
        (
            "/v1/usage#data.credits_remaining",
            '{"success": true, "data": {"credits_remaining": 1234.5}}',
            "1234.5",
        ),
        (
            "/usage#data.credits_remaining",
            '{"success": true, "data": {"credits_remaining": "99.25"}}',
            "99.25",
        ),
        (
            "usage?period=month#data.items.1.amount",
            '{"data": {"items": [{"amount": 1}, {"amount": 7}]}}',
            "7",
        ),
    ],
)
async def test_tracked_figure_reads_a_number_or_numeric_string(
    fake: FakeVendor,
    rest_config: Callable[..., ConnectionConfig],
    http: httpx.AsyncClient,
    limiters: LimiterRegistry,
    track: str,
    body: str,
    value: str,
) -> None:
    fake.reply("GET", "/v1/usage", ok(body))
    figure = await rest_client(rest_config(track=track), http, limiters).tracked_figure()
    assert figure is not None
    assert figure.value == Decimal(value)
    assert figure.field == track.split("#")[1]
    assert figure.observed_at == NOW


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"data": {"credits": 5}}', "data.credits_remaining"),
        ('{"data": {"credits_remaining": true}}', "data.credits_remaining"),
        ('{"data": {"credits_remaining": "lots"}}', "data.credits_remaining"),
        ('{"data": [1, 2]}', "data.credits_remaining"),
    ],
)
async def test_tracked_figure_shape_problems_name_the_field(
    fake: FakeVendor,
    rest_config: Callable[..., ConnectionConfig],
    http: httpx.AsyncClient,
    limiters: LimiterRegistry,
    body: str,
    field: str,
) -> None:
    fake.reply("GET", "/v1/usage", ok(body))
    client = rest_client(rest_config(track="/usage#data.credits_remaining"), http, limiters)
    with pytest.raises(SchemaError) as caught:
        await client.tracked_figure()
    assert caught.value.field == field
    assert caught.value.endpoint == "/usage"


async def test_no_tracked_figure_without_track(
    rest_config: Callable[..., ConnectionConfig], http: httpx.AsyncClient, limiters: LimiterRegistry
) -> None:
    assert await rest_client(rest_config(), http, limiters).tracked_figure() is None


def test_track_must_name_a_path_and_a_field() -> None:
    assert parse_track("/v1/usage#data.credits") == ("/v1/usage", "data.credits")
    for bad in ("/v1/usage", "/v1/usage#", "/v1/usage#data..x"):
        with pytest.raises(ValueError, match=r"PATH#json\.field"):
            parse_track(bad)


# --- pagination ----------------------------------------------------------------------------------


def listing(total: int, *, server_max: int | None = None, lie: bool = False) -> Callable[[Recorded], Reply]:
    """A list endpoint of ``total`` items; ``server_max`` clamps the limit; ``lie`` always says has_more."""

    def handler(request: Recorded) -> Reply:
        limit = int(request.query["limit"])
        if server_max is not None:
            limit = min(limit, server_max)
        offset = int(request.query["offset"])
        items = [{"id": f"proj_{i}"} for i in range(offset, min(offset + limit, total))]
        has_more = True if lie else offset + len(items) < total
        pagination = {"total": total, "limit": limit, "offset": offset, "has_more": has_more}
        return ok({"success": True, "data": items, "pagination": pagination}, **HEADERS)

    return handler


@pytest.mark.parametrize(
    ("total", "requests", "options"),
    [
        (0, 1, {}),
        (6, 2, {}),  # exact multiple: has_more false on a full last page
        (7, 3, {}),  # short last page
        (7, 3, {"lie": True}),  # has_more never false: the short page ends it
        (6, 3, {"lie": True}),  # has_more never false on an exact multiple: the empty page ends it
        (7, 4, {"server_max": 2}),  # the server serves fewer than asked: still read to the end
    ],
)
async def test_paginate_edges(
    fake: FakeVendor,
    rest_config: Callable[..., ConnectionConfig],
    http: httpx.AsyncClient,
    limiters: LimiterRegistry,
    total: int,
    requests: int,
    options: dict[str, Any],
) -> None:
    fake.route("GET", "/v1/projects", listing(total, **options))
    client = rest_client(rest_config(), http, limiters)
    pages = [page async for page in client.paginate("/projects", limit=3, params={"status": "active"})]
    assert [item["id"] for page in pages for item in page] == [f"proj_{i}" for i in range(total)]
    calls = fake.calls()
    assert len(calls) == requests
    assert calls[0].query == {"status": "active", "limit": "3", "offset": "0"}


async def _pages(iterator: Any) -> list[Mapping[str, Any]]:
    return [page async for page in iterator]


async def test_a_server_whose_pagination_never_ends_hits_the_page_cap() -> None:
    async def offset_fetch(offset: int, limit: int) -> Mapping[str, Any]:
        return {"data": [{"id": 1}] * limit, "pagination": {"has_more": True}}

    async def page_fetch(page: int) -> Mapping[str, Any]:
        return {"data": [1], "totalPages": 10**9, "pagination": {"hasNextPage": True}}

    with pytest.raises(SchemaError) as caught:
        await _pages(pages_by_offset(offset_fetch, limit=2, max_pages=5))
    assert caught.value.field == "pagination.has_more"
    with pytest.raises(SchemaError) as caught:
        await _pages(pages_by_has_next_page(page_fetch, items_key="data", max_pages=5))
    assert caught.value.field == "pagination.hasNextPage"
    with pytest.raises(SchemaError) as caught:
        await _pages(pages_by_total_pages(page_fetch, items_key="data", max_pages=5))
    assert caught.value.field == "totalPages"


async def test_has_next_page_falls_back_to_the_page_count_and_rejects_odd_shapes() -> None:
    async def fetch(page: int) -> Mapping[str, Any]:
        return {"items": [page], "pagination": {"numPages": 3, "currentPage": page}}

    pages = await _pages(pages_by_has_next_page(fetch, items_key="items", page_count_key="numPages"))
    assert [p["items"] for p in pages] == [[1], [2], [3]]

    async def odd(page: int) -> Mapping[str, Any]:
        return {"items": 5}

    with pytest.raises(SchemaError) as caught:
        await _pages(pages_by_has_next_page(odd, items_key="items"))
    assert caught.value.field == "items"


def test_rest_client_refuses_other_vendors(
    make_config: Callable[..., ConnectionConfig], http: httpx.AsyncClient, limiters: LimiterRegistry
) -> None:
    with pytest.raises(ValueError, match="REST"):
        RestClient(make_config(Vendor.CURSOR), http=http, limiters=limiters)
