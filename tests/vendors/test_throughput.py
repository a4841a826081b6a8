"""A scaled-time backfill against a server that enforces the limit with fixed windows: full rate, no 429s."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import httpx

from bot.domain.usage import Vendor
from bot.vendors.base import ConnectionConfig
from bot.vendors.cursor import CursorClient
from bot.vendors.limiter import LimiterRegistry, interactive

from .fakes import FAST_RETRY, FakeVendor, Recorded, Reply, ok

TIME_SCALE = 60.0  # Cursor's 20 per minute becomes 20 per second
WINDOW = 60.0 / TIME_SCALE
LIMIT = 20
REQUESTS = 39  # plus one slash command: two windows' worth


class FixedWindowGate:
    """Counts arrivals per fixed window (aligned to the first arrival) and answers 429 beyond the limit."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.origin: float | None = None
        self.counts: dict[int, int] = {}
        self.rejected = 0
        self._lock = threading.Lock()

    def __call__(self, request: Recorded) -> Reply:
        with self._lock:
            if self.origin is None:
                self.origin = request.at - self.window / 2  # the server's windows are not ours
            slot = int((request.at - self.origin) // self.window)
            self.counts[slot] = self.counts.get(slot, 0) + 1
            if self.counts[slot] > self.limit:
                self.rejected += 1
                return Reply(429, {"error": "Too Many Requests", "message": "Rate limit exceeded."})
        return ok('{"teamMembers":[{"email":"a@co.com"}]}')


async def test_backfill_runs_at_the_documented_rate_with_zero_429s(
    fake: FakeVendor, make_config: Callable[..., ConnectionConfig], http: httpx.AsyncClient
) -> None:
    gate = FixedWindowGate(LIMIT, WINDOW)
    fake.route("GET", "/teams/members", gate)
    limiters = LimiterRegistry(time_scale=TIME_SCALE)
    client = CursorClient(make_config(Vendor.CURSOR), http=http, limiters=limiters, retry=FAST_RETRY)
    remaining = list(range(REQUESTS))

    async def background_worker() -> None:
        while remaining:
            remaining.pop()
            await client.members()

    async def person() -> None:
        await asyncio.sleep(WINDOW / 2)  # a slash command arrives mid-backfill, behind 8 queued workers
        with interactive():
            await client.transport.request(
                "GET", "/teams/members", endpoint_class="admin", params={"who": "person"}
            )

    began = time.perf_counter()
    await asyncio.gather(*(background_worker() for _ in range(8)), person())
    elapsed = time.perf_counter() - began

    total = REQUESTS + 1
    assert len(fake.calls()) == total
    assert gate.rejected == 0
    assert client.transport.limiter("admin").rate_limited_total == 0
    # N requests at L per window take N/L windows' worth, the first window served at once
    windows = -(-total // LIMIT)
    assert (windows - 1) * WINDOW <= elapsed <= 1.1 * windows * WINDOW
    # the command jumped the queue: it had the first slot that freed, ahead of the waiting workers
    order = [call.query.get("who") for call in fake.calls()]
    assert order.index("person") == LIMIT
