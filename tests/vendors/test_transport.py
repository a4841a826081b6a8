"""The transport policy against a real loopback server: retries, error mapping, ETags, headers."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bot.domain.usage import Vendor
from bot.vendors.base import (
    AuthStyle,
    ConnectionConfig,
    LimitSpec,
    RetryPolicy,
    Transport,
    make_http_client,
    resolve_url,
)
from bot.vendors.errors import (
    AuthError,
    PermissionDenied,
    RateLimited,
    RequestRejected,
    SchemaError,
    UpstreamError,
)
from bot.vendors.limiter import LimiterRegistry, RatePolicy, patience

from .fakes import FAST_RETRY, FakeVendor, Reply, fixed_clock, ok

CURSOR_429 = {"error": "Too Many Requests", "message": "Rate limit exceeded. Please try again later."}


class RecordingObserver:
    def __init__(self) -> None:
        self.responses: list[tuple[str, str, int | str]] = []
        self.rate_limited: list[tuple[str, str]] = []
        self.waits: list[float] = []

    def on_response(self, vendor: str, endpoint_class: str, status: int | str, seconds: float) -> None:
        self.responses.append((vendor, endpoint_class, status))

    def on_rate_limited(self, vendor: str, endpoint_class: str) -> None:
        self.rate_limited.append((vendor, endpoint_class))

    def on_wait(self, vendor: str, endpoint_class: str, seconds: float) -> None:
        self.waits.append(seconds)


def transport(
    config: ConnectionConfig,
    http: httpx.AsyncClient,
    limiters: LimiterRegistry,
    *,
    auth: AuthStyle = AuthStyle.BASIC,
    policy: RatePolicy | None = None,
    observer: RecordingObserver | None = None,
    retry: RetryPolicy = FAST_RETRY,
) -> Transport:
    return Transport(
        config,
        http=http,
        limiters=limiters,
        classes={"admin": [LimitSpec("admin", policy or RatePolicy(20, timedelta(minutes=1)))]},
        auth=auth,
        observer=observer,
        retry=retry,
        clock=fixed_clock,
    )


@pytest.fixture
def cursor_config(make_config: Callable[..., ConnectionConfig]) -> ConnectionConfig:
    return make_config(Vendor.CURSOR)


async def test_success_parses_fractions_as_exact_decimals(
    fake: FakeVendor, cursor_config: ConnectionConfig, http: httpx.AsyncClient, limiters: LimiterRegistry
) -> None:
    fake.reply("GET", "/x", ok('{"spendCents": 2450.125487, "n": 3}'))
    response = await transport(cursor_config, http, limiters).request("GET", "/x", endpoint_class="admin")
    assert response.data == {"spendCents": Decimal("2450.125487"), "n": 3}
    assert fake.calls()[0].headers["authorization"].startswith("Basic ")


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (401, {"error": "Unauthorized", "message": "Invalid API key"}, AuthError, "Invalid API key"),
        (
            403,
            {"error": "Forbidden", "message": "Enterprise access required"},
            PermissionDenied,
            "Enterprise",
        ),
        (
            400,
            {"error": "Bad Request", "message": "Some users are not in the team"},
            RequestRejected,
            "Some users",
        ),
        (404, {"error": "Not Found", "message": "Resource not found"}, RequestRejected, "Resource not found"),
        (
            400,
            {"outcome": "error", "message": "Invalid email format"},
            RequestRejected,
            "Invalid email format",
        ),
        (422, {"code": "error", "message": "Unknown model"}, RequestRejected, "Unknown model"),
        (409, "plain text conflict", RequestRejected, "plain text conflict"),
    ],
)
async def test_client_errors_are_mapped_with_the_vendors_message_and_never_retried(
    fake: FakeVendor,
    cursor_config: ConnectionConfig,
    http: httpx.AsyncClient,
    limiters: LimiterRegistry,
    status: int,
    body: Any,
    error: type[Exception],
    message: str,
) -> None:
    fake.reply("GET", "/x", Reply(status, body))
    with pytest.raises(error) as caught:
        await transport(cursor_config, http, limiters).request("GET", "/x", endpoint_class="admin")
    assert message in str(caught.value)
    assert caught.value.status == status  # type: ignore[attr-defined]
    assert caught.value.endpoint == "/x"  # type: ignore[attr-defined]
    assert len(fake.calls()) == 1


async def test_429_with_retry_after_is_honoured_then_retried(
    fake: FakeVendor, cursor_config: ConnectionConfig, http: httpx.AsyncClient
) -> None:
    registry = LimiterRegistry(time_scale=100)  # Retry-After: 3 s of vendor time = 30 ms
    observer = RecordingObserver()
    fake.reply("GET", "/x", Reply(429, CURSOR_429, {"Retry-After": "3"}), ok({"fine": True}))
    t = transport(cursor_config, http, registry, observer=observer)
    response = await t.request("GET", "/x", endpoint_class="admin")
    assert response.data == {"fine": True}
    first, second = fake.calls()
    assert second.at - first.at >= 0.03
    assert t.limiter("admin").rate_limited_total == 1
    assert observer.rate_limited == [("cursor", "admin")]
    assert [status for _, _, status in observer.responses] == [429, 200]


async def test_429_without_retry_after_waits_for_the_window_to_roll(
    fake: FakeVendor, cursor_config: ConnectionConfig, http: httpx.AsyncClient
) -> None:
    registry = LimiterRegistry(time_scale=1200)  # a minute is 50 ms
    fake.reply("GET", "/x", Reply(429, CURSOR_429), ok({}))
    t = transport(cursor_config, http, registry)
    await t.request("GET", "/x", endpoint_class="admin")
    first, second = fake.calls()
    assert second.at - first.at >= 0.05


async def test_persistent_429_raises_rate_limited_after_bounded_attempts(
    fake: FakeVendor, cursor_config: ConnectionConfig, http: httpx.AsyncClient, limiters: LimiterRegistry
) -> None:
    fake.reply("GET", "/x", Reply(429, CURSOR_429, {"Retry-After": "1"}))
    with pytest.raises(RateLimited) as caught:
        await transport(cursor_config, http, limiters).request("GET", "/x", endpoint_class="admin")
    assert caught.value.retry_after == 1.0
    assert "Rate limit exceeded" in caught.value.message
    assert len(fake.calls()) == 4


async def test_a_429_wait_beyond_the_works_patience_raises_at_once(
    fake: FakeVendor, cursor_config: ConnectionConfig, http: httpx.AsyncClient
) -> None:
    """Without Retry-After a 429 holds the key a whole window: work that may wait less gives up."""
    registry = LimiterRegistry(time_scale=120)  # a minute is half a second: room for a slow machine
    fake.reply("GET", "/x", Reply(429, CURSOR_429), ok({}))
    t = transport(cursor_config, http, registry)
    with patience(0.3), pytest.raises(RateLimited) as caught:
        await t.request("GET", "/x", endpoint_class="admin")
    assert len(fake.calls()) == 1  # no second call into a window the vendor has closed
    assert caught.value.status == 429
    held = re.search(r"holds our calls back (\d+) s more", caught.value.message)
    assert held is not None and 50 <= int(held.group(1)) <= 66  # a minute and its jitter, vendor seconds
    assert "longer than this fetch waits on it (36 s)" in caught.value.message

    # The next piece of work meets the same hold before calling: it fails without a request.
    with patience(0.0), pytest.raises(RateLimited) as again:
        await t.request("GET", "/x", endpoint_class="admin")
    assert len(fake.calls()) == 1
    assert again.value.status is None  # the vendor said nothing this time; its earlier 429 still holds


async def test_a_429_wait_within_the_works_patience_is_waited_and_counted(
    fake: FakeVendor, cursor_config: ConnectionConfig, http: httpx.AsyncClient
) -> None:
    registry = LimiterRegistry(time_scale=120)  # a window is 0.5 s and its jitter at most 0.05 s
    fake.reply("GET", "/x", Reply(429, CURSOR_429), ok({}), Reply(429, CURSOR_429), ok({}))
    t = transport(cursor_config, http, registry)
    with patience(0.8) as budget:
        await t.request("GET", "/x", endpoint_class="admin")  # waits one window
        assert 0.8 - 0.55 <= budget.left <= 0.8 - 0.4  # charged what the hold had left when it waited
        with pytest.raises(RateLimited):  # a second window does not fit in what is left
            await t.request("GET", "/x", endpoint_class="admin")
    assert len(fake.calls()) == 3


def test_calls_waiting_on_one_hold_are_charged_for_it_once() -> None:
    """Pages fetched side by side meet the same 429 hold: the work waits it once, not once a page."""
    with patience(100.0) as budget:
        assert budget.spend(60.0, now=1000.0)  # the first page: held until 1060
        assert budget.spend(59.5, now=1000.5)  # the second page, the same hold
        assert budget.left == 40.0
        assert budget.spend(40.0, now=1050.0)  # a later hold, to 1090: only the 30 s beyond 1060
        assert budget.left == 10.0
        assert not budget.spend(30.0, now=1080.0)  # 20 s beyond what was charged: more than is left
        assert budget.left == 10.0


def test_an_inner_patience_never_grants_more_than_the_outer_has_left() -> None:
    with patience(10.0) as outer:
        outer.left = 4.0
        with patience(60.0) as inner:
            assert inner.seconds == 4.0
            assert inner.spend(3.0)
        assert outer.left == 1.0


async def test_500_then_success_is_retried(
    fake: FakeVendor, cursor_config: ConnectionConfig, http: httpx.AsyncClient, limiters: LimiterRegistry
) -> None:
    fake.reply("GET", "/x", Reply(500, {"error": "Internal Server Error", "message": "oops"}), ok([1]))
    response = await transport(cursor_config, http, limiters).request("GET", "/x", endpoint_class="admin")
    assert response.data == [1]
    assert len(fake.calls()) == 2


async def test_persistent_503_is_an_upstream_error_after_bounded_retries(
    fake: FakeVendor, cursor_config: ConnectionConfig, http: httpx.AsyncClient, limiters: LimiterRegistry
) -> None:
    fake.reply("POST", "/x", Reply(503, "Service Unavailable"))
    with pytest.raises(UpstreamError) as caught:
        await transport(cursor_config, http, limiters).request("POST", "/x", endpoint_class="admin", json={})
    assert caught.value.status == 503
    assert "after 3 attempts" in str(caught.value)
    assert len(fake.calls()) == 3


async def test_backoff_is_exponential_and_scaled(
    fake: FakeVendor, cursor_config: ConnectionConfig, http: httpx.AsyncClient
) -> None:
    registry = LimiterRegistry(time_scale=10)
    retry = RetryPolicy(failure_attempts=3, backoff_base=0.4, backoff_cap=10)  # 0.2..0.4 s, then 0.4..0.8 s
    fake.reply("GET", "/x", Reply(502))
    with pytest.raises(UpstreamError):
        await transport(cursor_config, http, registry, retry=retry).request(
            "GET", "/x", endpoint_class="admin"
        )
    a, b, c = (call.at for call in fake.calls())
    assert 0.02 <= b - a < 0.2
    assert 0.04 <= c - b < 0.3


async def test_timeouts_are_retried_then_an_upstream_error(
    fake: FakeVendor, cursor_config: ConnectionConfig, limiters: LimiterRegistry
) -> None:
    fake.reply("GET", "/slow", Reply(200, {}, delay=0.5))
    observer = RecordingObserver()
    async with make_http_client(read_timeout=0.1) as http:
        with pytest.raises(UpstreamError, match="timed out"):
            await transport(cursor_config, http, limiters, observer=observer).request(
                "GET", "/slow", endpoint_class="admin"
            )
    assert len(fake.calls()) == 3
    assert [status for _, _, status in observer.responses] == ["timeout"] * 3


async def test_a_timeout_then_success_succeeds(
    fake: FakeVendor, cursor_config: ConnectionConfig, limiters: LimiterRegistry
) -> None:
    fake.reply("GET", "/slow", Reply(200, {}, delay=0.5), ok({"ok": 1}))
    async with make_http_client(read_timeout=0.2) as http:
        response = await transport(cursor_config, http, limiters).request(
            "GET", "/slow", endpoint_class="admin"
        )
    assert response.data == {"ok": 1}


async def test_connection_refused_is_an_upstream_error(
    cursor_config: ConnectionConfig, http: httpx.AsyncClient, limiters: LimiterRegistry
) -> None:
    from bot.simulators.serving import free_port

    config = ConnectionConfig(
        key="dead",
        name="dead",
        vendor=Vendor.CURSOR,
        base_url=f"http://127.0.0.1:{free_port()}",
        secret=cursor_config.secret,
    )
    with pytest.raises(UpstreamError, match="connection failed"):
        await transport(config, http, limiters).request("GET", "/x", endpoint_class="admin")


@pytest.mark.parametrize("body", ["{not json", "<html>maintenance</html>", ""])
async def test_a_2xx_body_that_is_not_json_is_a_schema_error(
    fake: FakeVendor,
    cursor_config: ConnectionConfig,
    http: httpx.AsyncClient,
    limiters: LimiterRegistry,
    body: str,
) -> None:
    fake.reply("GET", "/x", ok(body))
    with pytest.raises(SchemaError) as caught:
        await transport(cursor_config, http, limiters).request("GET", "/x", endpoint_class="admin")
    assert caught.value.field == "body"
    assert caught.value.vendor == "cursor"


async def test_etag_304_reuses_the_body_and_refunds_the_slot(
    fake: FakeVendor, cursor_config: ConnectionConfig, http: httpx.AsyncClient
) -> None:
    registry = LimiterRegistry(time_scale=1)  # real minutes: the slot must come back, not expire
    fake.reply(
        "GET",
        "/analytics/team/dau",
        ok('{"data": [{"date": "2025-01-15", "dau": 42}]}', ETag='"abc123xyz"'),
        Reply(304, None, {"ETag": '"abc123xyz"'}),
    )
    t = transport(cursor_config, http, registry)
    params = {"startDate": "2025-01-09", "endDate": "2025-01-15"}
    first = await t.request(
        "GET", "/analytics/team/dau", endpoint_class="admin", params=params, conditional=True
    )
    second = await t.request(
        "GET", "/analytics/team/dau", endpoint_class="admin", params=params, conditional=True
    )
    assert second.from_cache
    assert not first.from_cache
    assert second.data == first.data
    calls = fake.calls()
    assert "if-none-match" not in calls[0].headers
    assert calls[1].headers["if-none-match"] == '"abc123xyz"'
    limiter = t.limiter("admin")
    assert limiter.used_in_window() == 1
    assert limiter.refunded_total == 1


async def test_rest_error_envelope_code_is_kept(
    fake: FakeVendor,
    make_config: Callable[..., ConnectionConfig],
    http: httpx.AsyncClient,
    limiters: LimiterRegistry,
) -> None:
    body = {
        "success": False,
        "error": {"code": "VALIDATION_ERROR", "message": "Name is required", "details": {"field": "name"}},
    }
    fake.reply("POST", "/v1/projects", Reply(400, body))
    t = transport(make_config(Vendor.REST), http, limiters, auth=AuthStyle.BEARER)
    with pytest.raises(RequestRejected) as caught:
        await t.request("POST", "/v1/projects", endpoint_class="admin", json={})
    assert caught.value.code == "VALIDATION_ERROR"
    assert caught.value.message == "Name is required"
    assert "VALIDATION_ERROR: Name is required" in str(caught.value)


async def test_rest_failure_envelope_inside_a_200_is_raised(
    fake: FakeVendor,
    make_config: Callable[..., ConnectionConfig],
    http: httpx.AsyncClient,
    limiters: LimiterRegistry,
) -> None:
    fake.reply(
        "GET", "/v1/me", ok({"success": False, "error": {"code": "UNAUTHORIZED", "message": "bad key"}})
    )
    t = transport(make_config(Vendor.REST), http, limiters, auth=AuthStyle.BEARER)
    with pytest.raises(AuthError) as caught:
        await t.request("GET", "/v1/me", endpoint_class="admin")
    assert caught.value.code == "UNAUTHORIZED"


@pytest.mark.parametrize(
    ("status", "message", "error"),
    [
        (401, "Invalid service key", AuthError),
        (400, "Invalid service key", AuthError),
        (200, "Invalid service key", AuthError),
        (500, "Insufficient permissions", UpstreamError),
        (403, "Insufficient permissions: Billing Read", PermissionDenied),
        (400, "Insufficient permissions", PermissionDenied),
        (400, "invalid group name: nope", RequestRejected),
    ],
)
async def test_windsurf_messages_decide_the_error_whatever_the_status(
    fake: FakeVendor,
    make_config: Callable[..., ConnectionConfig],
    http: httpx.AsyncClient,
    limiters: LimiterRegistry,
    status: int,
    message: str,
    error: type[Exception],
) -> None:
    fake.reply("POST", "/api/v1/GetTeamCreditBalance", Reply(status, {"error": message}))
    t = transport(make_config(Vendor.WINDSURF, suffix="/api/v1"), http, limiters, auth=AuthStyle.BODY)
    with pytest.raises(error):
        await t.request("POST", "/GetTeamCreditBalance", endpoint_class="admin", json={})
    assert "service_key" in fake.calls()[0].body


async def test_limiter_waits_are_reported_to_the_observer(
    fake: FakeVendor, cursor_config: ConnectionConfig, http: httpx.AsyncClient
) -> None:
    registry = LimiterRegistry(time_scale=600)  # 2 per minute = 2 per 0.1 s
    observer = RecordingObserver()
    fake.reply("GET", "/x", ok({}))
    t = transport(
        cursor_config, http, registry, policy=RatePolicy(2, timedelta(minutes=1)), observer=observer
    )
    started = time.perf_counter()
    for _ in range(3):
        await t.request("GET", "/x", endpoint_class="admin")
    assert time.perf_counter() - started >= 0.1
    assert len(observer.waits) == 1


def test_resolve_url_joins_paths_and_refuses_other_hosts() -> None:
    assert resolve_url("https://api.example.com/v1", "") == "https://api.example.com/v1"
    assert resolve_url("https://api.example.com/v1", "/usage") == "https://api.example.com/v1/usage"
    assert resolve_url("https://api.example.com/v1", "/v1/usage") == "https://api.example.com/v1/usage"
    assert resolve_url("https://api.example.com/v1/", "usage") == "https://api.example.com/v1/usage"
    assert resolve_url("https://api.cursor.com", "/teams/spend") == "https://api.cursor.com/teams/spend"
    assert resolve_url("https://x.io/v1", "https://x.io/v1/a") == "https://x.io/v1/a"
    with pytest.raises(ValueError, match="under the connection"):
        resolve_url("https://x.io/v1", "https://evil.example/v1/a")


def test_connection_config_validates_its_options() -> None:
    from pydantic import SecretStr

    with pytest.raises(ValueError, match="http"):
        ConnectionConfig(key="k", name="n", vendor=Vendor.REST, base_url="ftp://x", secret=SecretStr("s"))
    with pytest.raises(ValueError, match="query"):
        ConnectionConfig(
            key="k", name="n", vendor=Vendor.REST, base_url="https://x?k=1", secret=SecretStr("s")
        )
    with pytest.raises(TypeError, match="SecretStr"):
        ConnectionConfig(key="k", name="n", vendor=Vendor.REST, base_url="https://x", secret="s")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="per_minute"):
        ConnectionConfig(
            key="k", name="n", vendor=Vendor.REST, base_url="https://x", secret=SecretStr("s"), per_minute=0
        )
