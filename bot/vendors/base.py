"""The transport policy every vendor client goes through: pacing, retries, errors, caching, secrecy.

One :class:`Transport` per connection wraps the process's shared ``httpx.AsyncClient``
(:func:`make_http_client`). Each call names an *endpoint class*; the transport takes a slot from each
of that class's limiters (see :mod:`bot.vendors.limiter`) before every attempt, then:

- **429** (and a 403 that is a rate limit: GitHub's ``x-ratelimit-remaining: 0`` or ``retry-after``):
  penalise the class's primary limiter (``Retry-After`` or a window, with jitter; falls back to
  the older documented limit) and try again, at most ``RetryPolicy.rate_limited_attempts`` times,
  then :class:`~bot.vendors.errors.RateLimited`;
- **5xx, timeouts, connection errors**: retry with exponential backoff and jitter, at most
  ``RetryPolicy.failure_attempts`` times, then :class:`~bot.vendors.errors.UpstreamError`;
- **other 4xx**: never retried; 401 is an AuthError, 403 PermissionDenied, anything else
  RequestRejected, each carrying the vendor's own message (and code, for REST envelopes);
- **2xx**: the body must be JSON (numbers with fractions parsed as Decimal) or a SchemaError is
  raised; errors that vendors report inside a 2xx body (Cursor ``{"outcome":"error"}``, Windsurf
  ``{"error": ...}``, REST ``{"success": false}``) are raised like the matching status;
- **ETag**: with ``conditional=True`` the transport remembers (ETag, body) per request and sends
  ``If-None-Match``; a 304 reuses the body and refunds the limiter slot (Cursor Analytics 304s do not
  count toward its limit).

Secrets: keys are ``SecretStr`` and are only ever put in a header or a JSON body, never in a URL.
Nothing here logs headers or bodies, every exception message is built from the vendor's message with
the key redacted out of it, and no object's ``repr`` shows a key.
"""

from __future__ import annotations

import base64
import email.utils
import json as jsonlib
import logging
import random
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, NoReturn, Protocol

import httpx
from pydantic import SecretStr

from bot.domain.usage import RateLimitStatus, Vendor
from bot.domain.vendors import display_name
from bot.vendors.errors import (
    AuthError,
    PermissionDenied,
    RateLimited,
    RequestRejected,
    SchemaError,
    UpstreamError,
    VendorError,
)
from bot.vendors.limiter import LimiterRegistry, RateLimiter, RatePolicy, Slot, current_patience
from bot.vendors.pagination import pages_by_cursor
from bot.vendors.parsing import as_object, loads, schema_context

__all__ = [
    "DEFAULT_BASE_URLS",
    "DEFAULT_REQUESTS_PER_HOUR",
    "AuthStyle",
    "ConnectionConfig",
    "LimitSpec",
    "NullObserver",
    "RetryPolicy",
    "Transport",
    "TransportObserver",
    "VendorResponse",
    "make_http_client",
    "resolve_url",
    "utc_now",
]

logger = logging.getLogger(__name__)

#: The Messages API version every Anthropic Admin API example sends (docs/vendors/anthropic.md).
ANTHROPIC_VERSION = "2023-06-01"
#: The REST API version the billing usage examples send (docs/vendors/copilot.md); 2022-11-28 is older.
GITHUB_API_VERSION = "2026-03-10"

DEFAULT_BASE_URLS: Mapping[Vendor, str] = {
    Vendor.CURSOR: "https://api.cursor.com",
    Vendor.WINDSURF: "https://server.codeium.com/api/v1",
    Vendor.OPENAI: "https://api.openai.com/v1",
    Vendor.ANTHROPIC: "https://api.anthropic.com/v1",
    Vendor.COPILOT: "https://api.github.com",
}

#: GitHub's primary limit for a personal access token or user-authorized app (docs/vendors/copilot.md).
DEFAULT_REQUESTS_PER_HOUR = 5000

REDACTED = "[redacted]"
_MAX_MESSAGE_CHARS = 300


QueryParams = Mapping[str, str | int | Sequence[str]]
"""Query parameters; a sequence value repeats the name (OpenAI ``group_by=line_item&group_by=project_id``)."""


def utc_now() -> datetime:
    """The current time, aware UTC (the default clock of every client)."""
    return datetime.now(UTC)


def make_http_client(
    *,
    connect_timeout: float = 5.0,
    read_timeout: float = 20.0,
    max_connections: int = 50,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """The process's one HTTP client: short connect timeout, bounded pool, HTTP/1.1, no redirects.

    Redirects stay off so that a key sent in a header is never forwarded to another host.
    """
    timeout = httpx.Timeout(connect=connect_timeout, read=read_timeout, write=read_timeout, pool=30.0)
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections // 2)
    return httpx.AsyncClient(
        timeout=timeout,
        limits=limits,
        http2=False,
        follow_redirects=False,
        transport=transport,
        headers={"User-Agent": "spendbot"},
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionConfig:
    """Everything needed to talk to one vendor account. The secret never shows in ``repr``.

    ``key`` is the stable id limiters are keyed on (``"42"``, ``"env:cursor"``); ``name`` is what
    people call the connection. REST options: ``probe_path`` (default the base URL itself),
    ``per_minute`` / ``per_day`` (declared plan quotas), ``track`` (``PATH#json.field``). Windsurf,
    OpenAI, Anthropic: ``requests_per_minute`` (they publish no limit, so this is our own pace).
    Copilot: ``account`` (the GitHub organization, or ``enterprise:<slug>``) and ``requests_per_hour``
    (GitHub's primary limit for the token: 5,000, or 15,000 for a GitHub App of a GHEC organization).
    """

    key: str
    name: str
    vendor: Vendor
    base_url: str
    secret: SecretStr = field(repr=False)
    probe_path: str = ""
    per_minute: int | None = None
    per_day: int | None = None
    track: str | None = None
    requests_per_minute: int = 30
    requests_per_hour: int = DEFAULT_REQUESTS_PER_HOUR
    account: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.secret, SecretStr):
            raise TypeError("ConnectionConfig.secret must be a pydantic SecretStr")
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must be an http(s) URL")
        if "?" in self.base_url or "#" in self.base_url:
            raise ValueError("base_url must not carry a query or fragment")
        for name, value in (("per_minute", self.per_minute), ("per_day", self.per_day)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be positive")
        if self.requests_per_minute < 1 or self.requests_per_hour < 1:
            raise ValueError("requests_per_minute and requests_per_hour must be positive")


class AuthStyle(StrEnum):
    """Where the key goes: an HTTP Basic user name (Cursor), a Bearer token (REST), a JSON field
    ``service_key`` in every body (Windsurf), an ``x-api-key`` header with ``anthropic-version``
    (Anthropic), a Bearer token with GitHub's media type and ``X-GitHub-Api-Version`` (Copilot)."""

    BASIC = "basic"
    BEARER = "bearer"
    BODY = "body"
    X_API_KEY = "x_api_key"
    GITHUB = "github"


@dataclass(frozen=True, slots=True)
class LimitSpec:
    """One limiter an endpoint class goes through: its registry name and its policy.

    The first spec of a class is its *primary*: 429s and ``X-RateLimit-*`` headers are applied to it
    (a REST 429 says nothing about whether the minute or the day quota ran out, and blocking a whole
    day on a guess would be worse than meeting a second 429).
    """

    name: str
    policy: RatePolicy


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How persistent the transport is. Backoff seconds are vendor time (scaled by the registry)."""

    rate_limited_attempts: int = 4
    failure_attempts: int = 3
    backoff_base: float = 0.5
    backoff_cap: float = 8.0

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random, capped."""
        ceiling: float = min(self.backoff_cap, self.backoff_base * 2.0 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


class TransportObserver(Protocol):
    """Hooks for metrics, so the app can export them without the connectors importing it."""

    def on_response(self, vendor: str, endpoint_class: str, status: int | str, seconds: float) -> None:
        """An attempt finished: HTTP status, or ``"timeout"`` / ``"error"``; wall seconds taken."""

    def on_rate_limited(self, vendor: str, endpoint_class: str) -> None:
        """The vendor answered 429."""

    def on_wait(self, vendor: str, endpoint_class: str, seconds: float) -> None:
        """Our limiter made a request wait this long (seconds of the limiter's clock)."""


class NullObserver:
    """The default observer: records nothing."""

    def on_response(self, vendor: str, endpoint_class: str, status: int | str, seconds: float) -> None:
        return None

    def on_rate_limited(self, vendor: str, endpoint_class: str) -> None:
        return None

    def on_wait(self, vendor: str, endpoint_class: str, seconds: float) -> None:
        return None


@dataclass(frozen=True, slots=True)
class VendorResponse:
    """A successful answer: the parsed JSON ``data`` (Decimals for fractions), status and headers.

    ``from_cache`` is True when the vendor answered 304 and ``data`` is the body we had stored.
    """

    endpoint: str
    status: int
    headers: httpx.Headers = field(repr=False)
    data: Any = field(repr=False)
    from_cache: bool = False


def resolve_url(base_url: str, path: str) -> str:
    """The URL of ``path`` under ``base_url``.

    An empty path is the base URL itself. A path that already starts with the base URL's own path
    (``/v1/usage`` under ``https://api.example.com/v1``) is taken from the host, so operators may
    write it either way. A full URL is accepted only under the base URL, so a key is never sent to
    another host.
    """
    base = base_url.rstrip("/")
    if not path:
        return base_url
    if path.startswith(("http://", "https://")):
        if path != base and not path.startswith(base + "/"):
            raise ValueError("a full URL must be under the connection's base URL")
        return path
    prefix = httpx.URL(base).path.rstrip("/")
    if prefix and (path == prefix or path.startswith(prefix + "/")):
        return base[: len(base) - len(prefix)] + path
    return f"{base}/{path.lstrip('/')}"


def _endpoint_of(path: str) -> str:
    """The path part used to name an endpoint in errors and logs: no query string, ever."""
    return path.split("?", 1)[0].split("#", 1)[0] or "/"


@dataclass(frozen=True)
class _Call:
    """What one :meth:`Transport.request` asks for, as every attempt sends it."""

    method: str
    url: str
    endpoint: str
    endpoint_class: str
    json: Mapping[str, Any] | None
    params: QueryParams | None
    cache_key: str | None


@dataclass
class _Attempts:
    """How often one request has met a 429, and how often it has failed (timeouts, errors, 5xx)."""

    rate_limited: int = 0
    failures: int = 0


class Transport:
    """One connection's way to the vendor; see the module docstring for the policy it applies."""

    def __init__(
        self,
        config: ConnectionConfig,
        *,
        http: httpx.AsyncClient,
        limiters: LimiterRegistry,
        classes: Mapping[str, Sequence[LimitSpec]],
        auth: AuthStyle,
        observer: TransportObserver | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] = utc_now,
        etag_cache_size: int = 256,
    ) -> None:
        if not classes or any(not specs for specs in classes.values()):
            raise ValueError("every endpoint class needs at least one limit")
        self.config = config
        self._http = http
        self._registry = limiters
        self._classes = {name: tuple(specs) for name, specs in classes.items()}
        self._auth = auth
        self._observer: TransportObserver = observer or NullObserver()
        self._retry = retry or RetryPolicy()
        self._clock = clock
        self._etags: OrderedDict[str, tuple[str, Any]] = OrderedDict()
        self._etag_cache_size = etag_cache_size
        #: The last ``X-RateLimit-*`` headers the vendor sent, as a status (None until it sends some).
        self.remote_status: RateLimitStatus | None = None

    def __repr__(self) -> str:
        return (
            f"Transport(vendor={self.config.vendor.value!r}, connection={self.config.name!r}, "
            f"base_url={self.config.base_url!r})"
        )

    @property
    def vendor(self) -> Vendor:
        return self.config.vendor

    @property
    def registry(self) -> LimiterRegistry:
        return self._registry

    def limiter(self, endpoint_class: str, index: int = 0) -> RateLimiter:
        """The limiter of an endpoint class (its primary by default)."""
        spec = self._specs(endpoint_class)[index]
        return self._registry.get(self.config.key, spec.name, spec.policy)

    def limiters(self) -> dict[str, RateLimiter]:
        """Every limiter of this connection by its registry name."""
        result: dict[str, RateLimiter] = {}
        for specs in self._classes.values():
            for spec in specs:
                result[spec.name] = self._registry.get(self.config.key, spec.name, spec.policy)
        return result

    def primary_limiters(self) -> list[RateLimiter]:
        """Each endpoint class's primary limiter: every request of the class takes one slot from it (and
        one from each further limiter of its class), so counting requests here counts each once."""
        return [self.limiter(name) for name in self._classes]

    def limiter_statuses(self) -> list[RateLimitStatus]:
        """Our own count against each limiter of this connection, scoped by the limiter's name.

        ``reset_at`` is when the oldest request of the window leaves it (None when the window is empty).
        """
        now = self._clock()
        statuses = []
        for name, limiter in self.limiters().items():
            limit = limiter.current_limit
            resets_in = limiter.window_resets_in()
            statuses.append(
                RateLimitStatus(
                    scope=name,
                    limit=limit,
                    remaining=max(0, limit - limiter.used_in_window()),
                    reset_at=None if resets_in is None else now + timedelta(seconds=resets_in),
                    window=limiter.policy.window,
                    observed_at=now,
                )
            )
        return statuses

    def _specs(self, endpoint_class: str) -> tuple[LimitSpec, ...]:
        try:
            return self._classes[endpoint_class]
        except KeyError:
            raise ValueError(f"unknown endpoint class {endpoint_class!r}") from None

    # ----------------------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        endpoint_class: str,
        json: Mapping[str, Any] | None = None,
        params: QueryParams | None = None,
        conditional: bool = False,
        allow_empty: bool = False,
    ) -> VendorResponse:
        """Call the vendor under the transport policy and return the parsed JSON body.

        ``allow_empty`` accepts an empty 2xx body as ``{}`` (Windsurf ``/UsageConfig``).
        """
        specs = self._specs(endpoint_class)
        limiters = [self._registry.get(self.config.key, spec.name, spec.policy) for spec in specs]
        call = _Call(
            method,
            resolve_url(self.config.base_url, path),
            _endpoint_of(path),
            endpoint_class,
            json,
            params,
            self._cache_key(method, path, params, json) if conditional else None,
        )
        attempts = _Attempts()
        while True:
            self._within_patience(limiters[0], call, attempts)
            slots = await self._take_slots(limiters, endpoint_class)
            cached = self._etags.get(call.cache_key) if call.cache_key is not None else None
            response = await self._send(call, cached, limiters[0], attempts)
            if response is None:
                continue
            status = response.status_code
            if status == 304 and cached is not None and call.cache_key is not None:
                return self._from_cache(call, response, cached, slots)
            if status == 429 or _is_throttle(response):
                self._count_rate_limited(call, response, limiters[0], attempts)
                continue
            if status >= 500:
                attempts.failures += 1
                await self._after_failure(
                    attempts.failures, call.endpoint, f"HTTP {status}", response=response
                )
                continue
            return self._accept(call, response, allow_empty=allow_empty)

    async def _send(
        self, call: _Call, cached: tuple[str, Any] | None, primary: RateLimiter, attempts: _Attempts
    ) -> httpx.Response | None:
        """One attempt: the response (observed, its rate-limit headers recorded), or None after a
        timeout or connection failure that is to be retried (the last one raises)."""
        headers = self._headers()
        if cached is not None:
            headers["If-None-Match"] = cached[0]
        started = time.perf_counter()
        try:
            response = await self._http.request(
                call.method, call.url, headers=headers, json=self._body(call.json), params=call.params
            )
        except httpx.TimeoutException as exc:
            attempts.failures += 1
            self._observer.on_response(
                self.vendor.value, call.endpoint_class, "timeout", self._since(started)
            )
            await self._after_failure(attempts.failures, call.endpoint, f"timed out ({type(exc).__name__})")
            return None
        except httpx.TransportError as exc:
            attempts.failures += 1
            self._observer.on_response(self.vendor.value, call.endpoint_class, "error", self._since(started))
            await self._after_failure(
                attempts.failures, call.endpoint, f"connection failed ({type(exc).__name__})"
            )
            return None
        self._observer.on_response(
            self.vendor.value, call.endpoint_class, response.status_code, self._since(started)
        )
        self._record_rate_limit_headers(response.headers, primary)
        return response

    def _from_cache(
        self, call: _Call, response: httpx.Response, cached: tuple[str, Any], slots: Sequence[Slot]
    ) -> VendorResponse:
        """A 304: the cached body, and the slots given back (an unchanged answer costs no quota)."""
        assert call.cache_key is not None
        for slot in slots:
            slot.refund()
        self._etags.move_to_end(call.cache_key)
        return VendorResponse(
            call.endpoint, response.status_code, response.headers, cached[1], from_cache=True
        )

    def _count_rate_limited(
        self, call: _Call, response: httpx.Response, primary: RateLimiter, attempts: _Attempts
    ) -> None:
        """A 429: hold the limiter back for Retry-After, and raise RateLimited after the last attempt."""
        attempts.rate_limited += 1
        retry_after = _retry_after_seconds(response.headers.get("Retry-After"), self._clock())
        if retry_after is None and _exhausted_until_reset(response.headers):
            # The X-RateLimit headers already hold everyone until the reset instant (_send); a window's
            # penalty on top would wait up to an hour longer for GitHub's hourly limit.
            retry_after = 0.0
        primary.penalize(retry_after)
        self._observer.on_rate_limited(self.vendor.value, call.endpoint_class)
        if attempts.rate_limited >= self._retry.rate_limited_attempts:
            message, code = self._error_details(response)
            raise RateLimited(
                message or "rate limit exceeded",
                vendor=self.vendor.value,
                endpoint=call.endpoint,
                code=code,
                retry_after=retry_after,
            )
        logger.warning(
            "%s %s: rate limited (429), waiting before attempt %d of %d",
            self.vendor.value,
            call.endpoint,
            attempts.rate_limited + 1,
            self._retry.rate_limited_attempts,
        )

    def _within_patience(self, primary: RateLimiter, call: _Call, attempts: _Attempts) -> None:
        """Raise RateLimited at once when the vendor holds our calls back longer than the work around
        this call may still wait (:func:`~bot.vendors.limiter.patience`); else count the wait against it."""
        budget = current_patience()
        held = primary.blocked_for()
        if budget is None or held <= 0 or budget.spend(held, now=self._registry.clock()):
            return
        scale = self._registry.time_scale
        raise RateLimited(
            f"the vendor's rate limit holds our calls back {held * scale:,.0f} s more, longer than this "
            f"fetch waits on it ({budget.seconds * scale:,.0f} s)",
            vendor=self.vendor.value,
            endpoint=call.endpoint,
            status=429 if attempts.rate_limited else None,
            retry_after=held * scale,
        )

    def _accept(self, call: _Call, response: httpx.Response, *, allow_empty: bool) -> VendorResponse:
        """A final answer below 500: an error raised for 4xx and odd statuses, else the parsed body."""
        status = response.status_code
        if 400 <= status < 500:
            self._raise_for_error(response, call.endpoint)
        if not 200 <= status < 300:
            raise UpstreamError(
                f"unexpected HTTP {status}", vendor=self.vendor.value, endpoint=call.endpoint, status=status
            )
        data = self._parse_body(response, call.endpoint, allow_empty=allow_empty)
        self._raise_for_body_error(data, call.endpoint, status)
        etag = response.headers.get("ETag")
        if call.cache_key is not None and etag:
            self._remember(call.cache_key, etag, data)
        return VendorResponse(call.endpoint, status, response.headers, data)

    async def _take_slots(self, limiters: Sequence[RateLimiter], endpoint_class: str) -> list[Slot]:
        slots = []
        for limiter in limiters:
            slot = await limiter.take()
            if slot.waited > 0:
                self._observer.on_wait(self.vendor.value, endpoint_class, slot.waited)
            slots.append(slot)
        return slots

    @staticmethod
    def _since(started: float) -> float:
        return time.perf_counter() - started

    async def _after_failure(
        self, failures: int, endpoint: str, what: str, *, response: httpx.Response | None = None
    ) -> None:
        """Give up with an UpstreamError after the last attempt, else back off (scaled, cancellable)."""
        if failures >= self._retry.failure_attempts:
            message = what
            code = None
            if response is not None:
                detail, code = self._error_details(response)
                if detail:
                    message = f"{what}: {detail}"
            raise UpstreamError(
                f"{message} after {failures} attempts",
                vendor=self.vendor.value,
                endpoint=endpoint,
                status=response.status_code if response is not None else None,
                code=code,
            )
        delay = self._retry.backoff(failures)
        logger.warning(
            "%s %s: %s, retrying in %.2fs (attempt %d of %d)",
            self.vendor.value,
            endpoint,
            what,
            self._registry.scaled(delay),
            failures + 1,
            self._retry.failure_attempts,
        )
        await self._registry.sleep(delay)

    # ----------------------------------------------------------------------------------------------
    # Authentication: header or body, never the URL

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        secret = self.config.secret.get_secret_value()
        if self._auth is AuthStyle.BASIC:
            token = base64.b64encode(f"{secret}:".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
        elif self._auth is AuthStyle.BEARER:
            headers["Authorization"] = f"Bearer {secret}"
        elif self._auth is AuthStyle.GITHUB:
            headers["Authorization"] = f"Bearer {secret}"
            headers["Accept"] = "application/vnd.github+json"
            headers["X-GitHub-Api-Version"] = GITHUB_API_VERSION
        elif self._auth is AuthStyle.X_API_KEY:
            headers["x-api-key"] = secret
            headers["anthropic-version"] = ANTHROPIC_VERSION
        return headers

    def _body(self, json: Mapping[str, Any] | None) -> Any:
        if self._auth is AuthStyle.BODY:
            return {"service_key": self.config.secret.get_secret_value(), **(json or {})}
        return None if json is None else dict(json)

    def redact(self, text: str) -> str:
        """``text`` with the key (and its Basic-auth encoding) replaced, trimmed for messages."""
        secret = self.config.secret.get_secret_value()
        if secret:
            text = text.replace(secret, REDACTED)
            encoded = base64.b64encode(f"{secret}:".encode()).decode("ascii")
            text = text.replace(encoded, REDACTED)
        if len(text) > _MAX_MESSAGE_CHARS:
            text = text[:_MAX_MESSAGE_CHARS] + "…"
        return text

    # ----------------------------------------------------------------------------------------------
    # Errors

    def _error_details(self, response: httpx.Response) -> tuple[str, str | None]:
        """The vendor's own message and code from an error body, whichever documented shape it has."""
        message = ""
        code: str | None = None
        try:
            body = loads(response.content) if response.content else None
        except ValueError:
            body = None
        if isinstance(body, Mapping):
            message, code = _message_from_body(body)
        elif response.content:
            message = response.text.strip()
        return self.redact(message), (self.redact(code) if code else None)

    def _raise_for_error(self, response: httpx.Response, endpoint: str) -> NoReturn:
        status = response.status_code
        message, code = self._error_details(response)
        raise self._error_for(status, message or response.reason_phrase or f"HTTP {status}", code, endpoint)

    def _error_for(self, status: int, message: str, code: str | None, endpoint: str) -> VendorError:
        kwargs: dict[str, Any] = {
            "vendor": self.vendor.value,
            "endpoint": endpoint,
            "status": status,
            "code": code,
        }
        if self.vendor is Vendor.WINDSURF:
            # Windsurf documents its error messages, not its statuses: trust the message.
            lowered = message.lower()
            if lowered.startswith("invalid service key"):
                return AuthError(message, **kwargs)
            if lowered.startswith("insufficient permissions"):
                return PermissionDenied(message, **kwargs)
        if status == 401:
            return AuthError(message, **kwargs)
        if status == 403:
            return PermissionDenied(message, **kwargs)
        return RequestRejected(message, **kwargs)

    def _parse_body(self, response: httpx.Response, endpoint: str, *, allow_empty: bool) -> Any:
        content = response.content
        if not content.strip():
            if allow_empty:
                return {}
            raise SchemaError(
                "empty response body",
                field="body",
                vendor=self.vendor.value,
                endpoint=endpoint,
                status=response.status_code,
            )
        try:
            return loads(content)
        except ValueError:
            raise SchemaError(
                "response body is not JSON",
                field="body",
                vendor=self.vendor.value,
                endpoint=endpoint,
                status=response.status_code,
            ) from None

    def _raise_for_body_error(self, data: Any, endpoint: str, status: int) -> None:
        """Raise the errors vendors report inside a 2xx body (see the module docstring)."""
        if not isinstance(data, Mapping):
            return
        failed = False
        if self.vendor is Vendor.REST:
            failed = data.get("success") is False
        elif self.vendor is Vendor.CURSOR:
            failed = data.get("outcome") == "error"
        elif self.vendor is Vendor.WINDSURF:
            failed = isinstance(data.get("error"), str) and bool(data["error"].strip())
        if not failed:
            return
        message, code = _message_from_body(data)
        message = self.redact(message) or "the vendor reported an error"
        code = self.redact(code) if code else None
        if self.vendor is Vendor.REST and code:
            upper = code.upper()
            if upper in {"UNAUTHORIZED", "UNAUTHENTICATED", "INVALID_API_KEY", "AUTHENTICATION_ERROR"}:
                raise AuthError(
                    message, vendor=self.vendor.value, endpoint=endpoint, status=status, code=code
                )
            if upper in {"FORBIDDEN", "PERMISSION_DENIED", "INSUFFICIENT_SCOPE"}:
                raise PermissionDenied(
                    message, vendor=self.vendor.value, endpoint=endpoint, status=status, code=code
                )
        raise self._error_for(status, message, code, endpoint)

    # ----------------------------------------------------------------------------------------------
    # Rate-limit headers

    def _record_rate_limit_headers(self, headers: httpx.Headers, primary: RateLimiter) -> None:
        limit = _header_int(headers.get("X-RateLimit-Limit"))
        remaining = _header_int(headers.get("X-RateLimit-Remaining"))
        now = self._clock()
        reset_at = _reset_instant(headers.get("X-RateLimit-Reset"), now)
        if limit is None and remaining is None and reset_at is None:
            return
        self.remote_status = RateLimitStatus(
            scope="headers",
            limit=limit,
            remaining=remaining,
            reset_at=reset_at,
            window=self._infer_window(limit),
            observed_at=now,
        )
        # The limiter waits in real time: an instant is measured from the real clock, not from ours
        # (which tests and benchmarks pin to a simulated day); they are the same in production.
        wall = datetime.now(UTC)
        primary.note_remote_status(
            limit, remaining, _reset_instant(headers.get("X-RateLimit-Reset"), wall), now=wall
        )

    def _infer_window(self, limit: int | None) -> timedelta | None:
        """The window of a header limit, when it matches a quota the operator declared."""
        if limit is None:
            return None
        if self.config.per_minute is not None and limit == self.config.per_minute:
            return timedelta(minutes=1)
        if self.config.per_day is not None and limit == self.config.per_day:
            return timedelta(days=1)
        return None

    # ----------------------------------------------------------------------------------------------
    # ETag cache

    @staticmethod
    def _cache_key(method: str, path: str, params: QueryParams | None, json: Mapping[str, Any] | None) -> str:
        return jsonlib.dumps(
            [method.upper(), path, sorted((k, str(v)) for k, v in (params or {}).items()), json],
            sort_keys=True,
            default=str,
        )

    def _remember(self, cache_key: str, etag: str, data: Any) -> None:
        self._etags[cache_key] = (etag, data)
        self._etags.move_to_end(cache_key)
        while len(self._etags) > self._etag_cache_size:
            self._etags.popitem(last=False)


def _message_from_body(body: Mapping[str, Any]) -> tuple[str, str | None]:
    """Message and code from any documented error shape.

    REST ``{"success": false, "error": {"code", "message", "details"}}``; Cursor
    ``{"error": "<reason>", "message": "..."}``, ``{"outcome": "error", "message": "..."}`` and
    ``{"code": "error", "message": "..."}``; Windsurf ``{"error": "..."}``.
    """
    error = body.get("error")
    if isinstance(error, Mapping):
        message = error.get("message")
        code = error.get("code")
        return (str(message) if message is not None else ""), (str(code) if code is not None else None)
    message = body.get("message")
    if isinstance(message, str) and message:
        return message, None
    if isinstance(error, str):
        return error, None
    return "", None


def _is_throttle(response: httpx.Response) -> bool:
    """A 403 that is a rate limit, not a refusal: GitHub answers its primary and secondary limits with
    403 (or 429), ``x-ratelimit-remaining: 0`` or a ``retry-after``, and a message saying so."""
    if response.status_code != 403:
        return False
    headers = response.headers
    if "Retry-After" in headers or _header_int(headers.get("X-RateLimit-Remaining")) == 0:
        return True
    return b"rate limit" in response.content[:2000].lower()


def _exhausted_until_reset(headers: httpx.Headers) -> bool:
    return _header_int(headers.get("X-RateLimit-Remaining")) == 0 and "X-RateLimit-Reset" in headers


def _header_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value.strip()))
    except ValueError:
        return None


def _reset_instant(value: str | None, now: datetime) -> datetime | None:
    """``X-RateLimit-Reset`` as an instant.

    APIs disagree: epoch seconds (the documented form), epoch milliseconds, or seconds from now.
    Values below 10^9 can only be seconds from now; above 10^12 they are milliseconds.
    """
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    if number < 0:
        return None
    if number < 1e9:
        return now + timedelta(seconds=number)
    if number > 1e12:
        number /= 1000
    try:
        return datetime.fromtimestamp(number, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` in seconds: a number of seconds or an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class ClientBase:
    """What every vendor client shares: its connection, its clock and one :class:`Transport`.

    A client names its vendor, its auth style and its endpoint classes (the rate limits each class is
    paced under); the transport does the rest. Subclasses add the vendor's own calls.
    """

    vendor: ClassVar[Vendor]
    auth: ClassVar[AuthStyle]

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
        if config.vendor is not self.vendor:
            raise ValueError(f"{type(self).__name__} needs a {display_name(self.vendor)} connection")
        self.config = config
        self._clock = clock
        self.transport = Transport(
            config,
            http=http,
            limiters=limiters,
            classes=self.limit_classes(config),
            auth=self.auth,
            observer=observer,
            retry=retry,
            clock=clock,
        )

    endpoint_class: ClassVar[str] = "api"
    """The class a vendor paced as a whole uses for every call (a client with several overrides
    ``limit_classes``)."""

    def limit_classes(self, config: ConnectionConfig) -> dict[str, list[LimitSpec]]:
        """The endpoint classes and the limits each is paced under: by default one class at the
        connection's per-minute pace; a vendor that documents limits per endpoint overrides this."""
        policy = RatePolicy(config.requests_per_minute, timedelta(minutes=1))
        return {self.endpoint_class: [LimitSpec(self.endpoint_class, policy)]}

    async def _get_json(self, path: str, params: QueryParams | None = None) -> Mapping[str, Any]:
        """A GET of ``path`` whose body must be a JSON object; shape errors name the vendor and path."""
        response = await self.transport.request(
            "GET", path, endpoint_class=self.endpoint_class, params=params
        )
        with schema_context(self.vendor.value, path):
            return as_object(response.data, "body")

    def _cursor_pages(self, path: str, params: Mapping[str, Any]) -> AsyncIterator[Mapping[str, Any]]:
        """Pages of ``path`` linked by ``has_more``/``next_page``, the cursor sent back as ``page``."""

        async def fetch(cursor: str | None) -> Mapping[str, Any]:
            return await self._get_json(path, params if cursor is None else {**params, "page": cursor})

        return pages_by_cursor(fetch)

    def rate_limit_statuses(self) -> list[RateLimitStatus]:
        """What the vendor's ``X-RateLimit-*`` headers last said (scope ``headers``, for a vendor that
        sends them), then our own count against each limiter of the connection."""
        statuses = self.transport.limiter_statuses()
        if self.transport.remote_status is not None:
            statuses.insert(0, self.transport.remote_status)
        return statuses

    def __repr__(self) -> str:
        return f"{type(self).__name__}(connection={self.config.name!r}, base_url={self.config.base_url!r})"
