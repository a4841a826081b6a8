"""Keys never show: not in any log line (ours, httpx's, httpcore's, at DEBUG), not in a URL, not in an
exception's text or traceback, not in the repr of any object a caller can hold."""

from __future__ import annotations

import base64
import logging
import traceback
from collections.abc import Callable
from datetime import date

import httpx
import pytest

from bot.domain.usage import Vendor
from bot.vendors.base import ConnectionConfig, make_http_client
from bot.vendors.cursor import CursorClient
from bot.vendors.errors import VendorError
from bot.vendors.factory import make_client
from bot.vendors.limiter import LimiterRegistry
from bot.vendors.rest import RestClient
from bot.vendors.windsurf import WindsurfClient

from .fakes import FAST_RETRY, SECRET, FakeVendor, Recorded, Reply, fixed_clock, ok

USER_KEY = "raw-windsurf-user-key-7f3a9c"
FORBIDDEN = (SECRET, base64.b64encode(f"{SECRET}:".encode()).decode(), USER_KEY)


class Everything(logging.Handler):
    """Keeps every record, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.loggers: set[str] = set()
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.loggers.add(record.name)
        self.lines.append(self.format(record))
        self.lines.append(repr(record.args))


def echo_key(request: Recorded) -> Reply:
    """A careless server that puts the key it was given into its error message."""
    key = (request.body or {}).get("service_key") or request.headers.get("authorization", "")
    return Reply(401, {"error": f"Invalid service key: {key}"})


async def test_no_key_in_logs_urls_errors_or_reprs(
    fake: FakeVendor, make_config: Callable[..., ConnectionConfig], http: httpx.AsyncClient
) -> None:
    handler = Everything()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in ("httpx", "httpcore", "bot"):
        logging.getLogger(name).setLevel(logging.NOTSET)
    limiters = LimiterRegistry(time_scale=6000)
    errors: list[BaseException] = []
    try:
        cursor = make_client(
            make_config(Vendor.CURSOR), http=http, limiters=limiters, clock=fixed_clock, retry=FAST_RETRY
        )
        windsurf = make_client(
            make_config(Vendor.WINDSURF, suffix="/api/v1"),
            http=http,
            limiters=limiters,
            clock=fixed_clock,
            retry=FAST_RETRY,
        )
        rest = make_client(
            make_config(Vendor.REST, suffix="/v1", track="/v1/usage#data.left"),
            http=http,
            limiters=limiters,
            clock=fixed_clock,
            retry=FAST_RETRY,
        )
        assert isinstance(cursor, CursorClient)
        assert isinstance(windsurf, WindsurfClient)
        assert isinstance(rest, RestClient)

        fake.reply("GET", "/teams/members", ok('{"teamMembers":[{"email":"a@co.com"}]}'))
        fake.reply("POST", "/teams/spend", Reply(500, {"error": "Internal Server Error", "message": "oops"}))
        fake.reply(
            "POST", "/teams/user-spend-limit", Reply(429, {"error": "Too Many Requests", "message": "slow"})
        )
        fake.reply("GET", "/analytics/team/dau", ok("not json"))
        fake.reply(
            "POST",
            "/api/v1/UserPageAnalytics",
            ok({"userTableStats": [{"email": "a@co.com", "apiKey": USER_KEY, "promptCreditsUsed": 100}]}),
        )
        fake.route("POST", "/api/v1/GetTeamCreditBalance", echo_key)
        fake.reply("GET", "/v1", ok({"success": True, "data": {}}, **{"X-RateLimit-Remaining": "5"}))
        fake.reply(
            "GET",
            "/v1/usage",
            Reply(403, {"success": False, "error": {"code": "FORBIDDEN", "message": "no"}}),
        )

        await cursor.members()
        await windsurf.members()
        await windsurf.user_directory()
        await rest.probe()
        for call in (
            cursor.cycle_spend(),
            cursor.set_user_spend_limit("a@co.com", 5),
            cursor.analytics_dau(date(2026, 1, 1), date(2026, 1, 2)),
            windsurf.credit_balance(),
            rest.tracked_figure(),
        ):
            with pytest.raises(VendorError) as caught:
                await call
            errors.append(caught.value)
        async with make_http_client(read_timeout=0.05) as slow_http:
            fake.reply("GET", "/teams/members", Reply(200, {}, delay=0.3))
            slow = CursorClient(
                make_config(Vendor.CURSOR), http=slow_http, limiters=limiters, retry=FAST_RETRY
            )
            with pytest.raises(VendorError) as caught:
                await slow.members()
            errors.append(caught.value)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)

    assert {"httpx", "httpcore.connection", "httpcore.http11", "bot.vendors.base"} <= handler.loggers
    assert any("401" in line for line in handler.lines)
    assert len(errors) == 6
    shown = "\n".join(handler.lines)
    shown += "\n".join(
        str(e) + repr(e) + repr(e.args) + "".join(traceback.format_exception(e)) for e in errors
    )
    shown += repr(cursor) + repr(windsurf) + repr(rest) + repr(limiters)
    shown += repr(cursor.transport) + repr(windsurf.transport) + repr(rest.transport) + repr(cursor.config)
    shown += str(cursor.config) + repr(rest.rate_limit_statuses())
    shown += "\n".join(f"{r.method} {r.path}?{r.raw_query}" for r in fake.calls())
    for secret in FORBIDDEN:
        assert secret not in shown
    assert "[redacted]" in str(errors[3])  # the echoed key was cut out of the vendor's message
    # it was really sent, in the places meant for it
    assert fake.calls("/api/v1/GetTeamCreditBalance")[0].body["service_key"] == SECRET
    assert fake.calls("/v1")[0].headers["authorization"] == f"Bearer {SECRET}"
