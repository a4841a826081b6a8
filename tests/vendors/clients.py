"""One way for the vendor tests to build a client on a real HTTP client, fast retries and a pinned clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar

import httpx
from pydantic import SecretStr

from bot.domain.usage import Vendor
from bot.vendors import ConnectionConfig, LimiterRegistry, RetryPolicy, make_client, make_http_client

FAST_RETRIES = RetryPolicy(rate_limited_attempts=4, failure_attempts=3, backoff_base=0.01, backoff_cap=0.05)

ClientT = TypeVar("ClientT")


@asynccontextmanager
async def vendor_client(
    kind: type[ClientT],
    url: str,
    key: str,
    *,
    now: datetime,
    scale: float,
    http: httpx.AsyncClient | None = None,
    **options: Any,
) -> AsyncIterator[ClientT]:
    """A ``kind`` client (its class names the vendor) for ``url``, ``key``; closes an HTTP client it made."""
    vendor: Vendor = kind.vendor  # type: ignore[attr-defined]
    config = ConnectionConfig(
        key="t", name=vendor.value, vendor=vendor, base_url=url, secret=SecretStr(key), **options
    )
    owned = http is None
    http = http or make_http_client(read_timeout=5.0)
    try:
        client = make_client(
            config,
            http=http,
            limiters=LimiterRegistry(time_scale=scale),
            clock=lambda: now,
            retry=FAST_RETRIES,
        )
        assert isinstance(client, kind)
        yield client
    finally:
        if owned:
            await http.aclose()
