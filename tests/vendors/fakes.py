"""A scriptable fake vendor: a real Starlette app on loopback that records requests and replays answers.

Tests script each route with :meth:`FakeVendor.reply` (a queue of canned answers, the last repeating)
or :meth:`FakeVendor.route` (a function of the request). Bodies given as ``str`` are sent byte for
byte, so the documented example payloads are served exactly as the reference prints them.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.vendors.base import RetryPolicy

#: The key every test connection uses; the secrets test asserts it never shows anywhere.
SECRET = "key_s3cr3t-Zq8xVw7u6t5r4e3w2q1-do-not-leak"
NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
#: Quick retries for tests (the registry's time scale shrinks backoff further).
FAST_RETRY = RetryPolicy(rate_limited_attempts=4, failure_attempts=3, backoff_base=0.01, backoff_cap=0.05)


def fixed_clock() -> datetime:
    return NOW


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    raw_query: str
    headers: dict[str, str]
    body: Any
    at: float = field(default_factory=time.monotonic)


@dataclass
class Reply:
    """A canned answer: status, body (str sent as is; anything else JSON-encoded), headers, delay."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Handler = Callable[[Recorded], "Reply | Awaitable[Reply]"]


def ok(body: Any, **headers: str) -> Reply:
    return Reply(200, body, dict(headers))


class FakeVendor:
    """Routes keyed by (METHOD, path); unknown routes answer 404 with a Cursor-style error body."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[Recorded] = []
        self.app = Starlette(
            routes=[
                Route(
                    "/{path:path}",
                    self._dispatch,
                    methods=["GET", "POST", "PUT", "DELETE", "PATCH"],
                )
            ]
        )

    def reset(self) -> None:
        with self._lock:
            self._routes.clear()
            self.requests.clear()

    def route(self, method: str, path: str, handler: Handler) -> None:
        with self._lock:
            self._routes[(method.upper(), path)] = handler

    def reply(self, method: str, path: str, *replies: Reply) -> None:
        """Answer with ``replies`` in turn; the last one repeats."""
        queue = list(replies)

        def handler(_: Recorded) -> Reply:
            with self._lock:
                return queue.pop(0) if len(queue) > 1 else queue[0]

        self.route(method, path, handler)

    def calls(self, path: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    async def _dispatch(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        recorded = Recorded(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            raw_query=request.url.query,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
        )
        with self._lock:
            self.requests.append(recorded)
            handler = self._routes.get((request.method, request.url.path))
        if handler is None:
            reply = Reply(404, {"error": "Not Found", "message": "Resource not found"})
        else:
            result = handler(recorded)
            reply = await result if inspect.isawaitable(result) else result
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.body is None:
            content = b""
        elif isinstance(reply.body, str | bytes):
            content = reply.body.encode() if isinstance(reply.body, str) else reply.body
        else:
            content = json.dumps(reply.body).encode()
        return Response(
            content, status_code=reply.status, headers=reply.headers, media_type="application/json"
        )


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
