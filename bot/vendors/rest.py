"""Any REST API documented like ``shared/seeds/001_…txt``: Bearer key, ``{success, data, error}``
envelopes, ``limit``/``offset`` pagination with ``has_more``, ``X-RateLimit-*`` headers on every
response, and per-plan quotas per minute and per day.

Two limiters pace every call: the declared per-minute quota (60, the smallest documented plan, when the
operator declared none) and, when declared, the per-day quota. The ``X-RateLimit-*`` headers of every
response, success or error, are recorded and fed to the per-minute limiter (a lower header limit is
adopted; ``remaining: 0`` blocks until the reset).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx

from bot.domain.usage import RateLimitStatus, TrackedFigure, Vendor
from bot.vendors.base import (
    AuthStyle,
    ClientBase,
    ConnectionConfig,
    LimitSpec,
    RetryPolicy,
    TransportObserver,
    utc_now,
)
from bot.vendors.errors import SchemaError
from bot.vendors.limiter import LimiterRegistry, RatePolicy
from bot.vendors.pagination import pages_by_offset
from bot.vendors.parsing import as_decimal, as_list, as_object, schema_context

__all__ = ["DEFAULT_PER_MINUTE", "RestClient", "parse_track", "walk_field"]

#: Our pace when the operator declared no per-minute quota: the smallest documented plan (Free).
DEFAULT_PER_MINUTE = 60
ENDPOINT_CLASS = "api"


def parse_track(track: str) -> tuple[str, str]:
    """``PATH#json.field`` → (path, dotted field). Both parts are required."""
    path, sep, field = track.partition("#")
    if not sep or not field.strip() or any(not part for part in field.strip().split(".")):
        raise ValueError("a tracked figure is written PATH#json.field, for example /v1/usage#data.credits")
    return path.strip(), field.strip()


def walk_field(body: Any, field: str) -> Any:
    """The value at a dotted path (``data.credits`` or ``data.items.0.amount``); SchemaError names the
    whole path when any step is missing."""
    value = body
    for part in field.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise SchemaError(f"no {part!r} at this point of the response", field=field)
    return value


class RestClient(ClientBase):
    """A metered REST API for one Bearer key; records rate-limit headers on every call."""

    vendor = Vendor.REST

    auth = AuthStyle.BEARER

    def __init__(
        self,
        config: ConnectionConfig,
        *,
        http: httpx.AsyncClient,
        limiters: LimiterRegistry,
        clock: Callable[[], datetime] = utc_now,
        observer: TransportObserver | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(config, http=http, limiters=limiters, clock=clock, observer=observer, retry=retry)
        self._track = parse_track(config.track) if config.track else None

    def limit_classes(self, config: ConnectionConfig) -> dict[str, list[LimitSpec]]:
        specs = [
            LimitSpec("minute", RatePolicy(config.per_minute or DEFAULT_PER_MINUTE, timedelta(minutes=1)))
        ]
        if config.per_day is not None:
            specs.append(LimitSpec("day", RatePolicy(config.per_day, timedelta(days=1))))
        return {ENDPOINT_CLASS: specs}

    async def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        """GET ``path`` (relative to the base URL) and return the whole parsed body."""
        response = await self.transport.request("GET", path, endpoint_class=ENDPOINT_CLASS, params=params)
        return response.data

    async def probe(self) -> list[RateLimitStatus]:
        """Validate the key with one GET of ``probe_path`` and return the rate-limit picture after it."""
        await self.get(self.config.probe_path)
        return self.rate_limit_statuses()

    async def tracked_figure(self) -> TrackedFigure | None:
        """The figure named by ``track`` (``PATH#json.field``), None when none is tracked.

        The value must be a number or a numeric string; a missing field is a SchemaError naming it.
        """
        if self._track is None:
            return None
        path, field = self._track
        body = await self.get(path)
        with schema_context(self.vendor.value, path.split("?", 1)[0] or "/"):
            value = as_decimal(walk_field(body, field), field)
        return TrackedFigure(path=path, field=field, value=value, observed_at=self._clock())

    async def paginate(
        self, path: str, *, limit: int = 100, params: Mapping[str, str | int] | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """The items of a list endpoint, one page at a time, following ``limit``/``offset``/``has_more``."""

        async def fetch(offset: int, page_limit: int) -> Mapping[str, Any]:
            body = await self.get(path, {**(params or {}), "limit": page_limit, "offset": offset})
            with schema_context(self.vendor.value, path):
                return as_object(body, "body")

        endpoint = path.split("?", 1)[0] or "/"
        with schema_context(self.vendor.value, endpoint):
            async for body in pages_by_offset(fetch, limit=limit):
                items = [dict(as_object(item, "data[]")) for item in as_list(body.get("data", []), "data")]
                if items:
                    yield items
