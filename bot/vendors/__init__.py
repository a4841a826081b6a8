"""Vendor connectors: Cursor, Windsurf, OpenAI, Anthropic, GitHub Copilot and metered REST APIs, in one model.

Layout: :mod:`~bot.vendors.limiter` paces calls (one limiter per connection and endpoint class, shared
by the whole process); :mod:`~bot.vendors.base` is the transport policy every client goes through
(retries, error mapping, ETags, secrecy); :mod:`~bot.vendors.cursor`, :mod:`~bot.vendors.windsurf`,
:mod:`~bot.vendors.openai`, :mod:`~bot.vendors.anthropic`, :mod:`~bot.vendors.copilot` and
:mod:`~bot.vendors.rest` are the clients; :mod:`~bot.vendors.factory` picks one for a connection;
:mod:`~bot.vendors.parsing` and :mod:`~bot.vendors.pagination` hold the shared reading rules. They
return :mod:`~bot.domain.usage` values and raise :mod:`~bot.vendors.errors` exceptions only.

This package must never import ``bot.slack``, ``bot.store``, ``bot.services`` or ``bot.simulators``.
"""

from bot.vendors.anthropic import AnthropicClient
from bot.vendors.base import (
    DEFAULT_BASE_URLS,
    DEFAULT_REQUESTS_PER_HOUR,
    ConnectionConfig,
    NullObserver,
    RetryPolicy,
    Transport,
    TransportObserver,
    VendorResponse,
    make_http_client,
    utc_now,
)
from bot.vendors.copilot import CopilotClient
from bot.vendors.cursor import CursorClient, SpendRowAccumulator
from bot.vendors.errors import (
    AuthError,
    DeadlineExceeded,
    PermissionDenied,
    RateLimited,
    RequestRejected,
    SchemaError,
    UpstreamError,
    VendorError,
)
from bot.vendors.factory import VendorClient, make_client
from bot.vendors.limiter import (
    LimiterRegistry,
    Patience,
    RateLimiter,
    RatePolicy,
    interactive,
    is_interactive,
    patience,
)
from bot.vendors.openai import OpenAIClient
from bot.vendors.rest import RestClient
from bot.vendors.windsurf import ApiKeyDirectory, WindsurfClient

__all__ = [
    "DEFAULT_BASE_URLS",
    "DEFAULT_REQUESTS_PER_HOUR",
    "AnthropicClient",
    "ApiKeyDirectory",
    "AuthError",
    "ConnectionConfig",
    "CopilotClient",
    "CursorClient",
    "DeadlineExceeded",
    "LimiterRegistry",
    "NullObserver",
    "OpenAIClient",
    "Patience",
    "PermissionDenied",
    "RateLimited",
    "RateLimiter",
    "RatePolicy",
    "RequestRejected",
    "RestClient",
    "RetryPolicy",
    "SchemaError",
    "SpendRowAccumulator",
    "Transport",
    "TransportObserver",
    "UpstreamError",
    "VendorClient",
    "VendorError",
    "VendorResponse",
    "WindsurfClient",
    "interactive",
    "is_interactive",
    "make_client",
    "make_http_client",
    "patience",
    "utc_now",
]
