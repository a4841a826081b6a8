"""Build the right client for a connection; the only place that maps a vendor to its client class."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx

from bot.domain.usage import Vendor
from bot.vendors.anthropic import AnthropicClient
from bot.vendors.base import ConnectionConfig, RetryPolicy, TransportObserver, utc_now
from bot.vendors.copilot import CopilotClient
from bot.vendors.cursor import CursorClient
from bot.vendors.limiter import LimiterRegistry
from bot.vendors.openai import OpenAIClient
from bot.vendors.rest import RestClient
from bot.vendors.windsurf import WindsurfClient

__all__ = ["VendorClient", "make_client"]

VendorClient = CursorClient | WindsurfClient | OpenAIClient | AnthropicClient | CopilotClient | RestClient


def make_client(
    config: ConnectionConfig,
    *,
    http: httpx.AsyncClient,
    limiters: LimiterRegistry,
    clock: Callable[[], datetime] = utc_now,
    observer: TransportObserver | None = None,
    retry: RetryPolicy | None = None,
) -> VendorClient:
    """The client for ``config.vendor``, sharing the process's HTTP client and limiter registry."""
    if config.vendor is Vendor.CURSOR:
        return CursorClient(config, http=http, limiters=limiters, clock=clock, observer=observer, retry=retry)
    if config.vendor is Vendor.WINDSURF:
        return WindsurfClient(
            config, http=http, limiters=limiters, clock=clock, observer=observer, retry=retry
        )
    if config.vendor is Vendor.OPENAI:
        return OpenAIClient(config, http=http, limiters=limiters, clock=clock, observer=observer, retry=retry)
    if config.vendor is Vendor.ANTHROPIC:
        return AnthropicClient(
            config, http=http, limiters=limiters, clock=clock, observer=observer, retry=retry
        )
    if config.vendor is Vendor.COPILOT:
        return CopilotClient(
            config, http=http, limiters=limiters, clock=clock, observer=observer, retry=retry
        )
    return RestClient(config, http=http, limiters=limiters, clock=clock, observer=observer, retry=retry)
