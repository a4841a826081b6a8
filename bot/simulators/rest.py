"""A generic metered REST API as described by the project seed ``001`` (api.example.com/v1).

Bearer keys with scopes, ``{"success", "data" | "error"}`` envelopes, limit/offset pagination with
``has_more``, per-plan quotas (per minute and per day) and ``X-RateLimit-*`` headers on EVERY response,
including errors, 429s and injected faults.

Rate-limit header semantics (the seed only shows an epoch in ``X-RateLimit-Reset``):

- ``X-RateLimit-Limit`` is the per-minute limit and ``X-RateLimit-Remaining`` what is left of the
  current window. A window lasts ``60 / time_scale`` wall-clock seconds and opens on the first request
  after the previous one closed.
- ``X-RateLimit-Reset`` is the window's end in SIMULATED epoch seconds: simulated ``now`` plus the
  wall-clock time left in the window × ``time_scale`` (rounded up). A client with a simulated clock
  computes ``(reset - now) / time_scale`` to know how long to really wait.
- ``Retry-After`` (on 429 only) is in WALL-CLOCK seconds, rounded up to at least 1, because that is what
  a client sleeps. For DAILY_QUOTA_EXCEEDED it is the simulated time to the next UTC midnight ÷
  ``time_scale`` (the quota only renews when a test advances simulated time past midnight).

Usage: the account burns money and credits every simulated minute at a deterministic, office-hours
shaped rate; ``/v1/usage`` reports ``spend_this_month`` (dollars, calendar month in UTC),
``credits_remaining`` (falls as simulated time advances; ``set_credits`` resets it) and
``requests_today`` (requests this simulated UTC day with the main key).
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Scope

from bot.simulators._common import (
    BodyError,
    DailyQuota,
    FaultInjector,
    FixedWindowLimiter,
    RateDecision,
    RequestStats,
    SimClock,
    SimulatorMiddleware,
    day_start,
    derive_seed,
    exception_handlers,
    json_response,
    plain,
    read_json_body,
    rfc3339,
)

Plan = Literal["free", "pro", "enterprise"]
PLANS: dict[str, tuple[int, int | None]] = {
    "free": (60, 1000),
    "pro": (300, 50_000),
    "enterprise": (1000, None),
}
ALL_SCOPES = ("read", "write", "delete", "admin")
TASK_STATUSES = ("todo", "in_progress", "completed")

_ERROR_CODES = {
    400: ("VALIDATION_ERROR", "Invalid request"),
    401: ("UNAUTHORIZED", "Invalid API key"),
    403: ("FORBIDDEN", "Insufficient permissions"),
    404: ("NOT_FOUND", "Resource not found"),
    405: ("METHOD_NOT_ALLOWED", "Method not allowed"),
    429: ("RATE_LIMITED", "Rate limit exceeded"),
    500: ("INTERNAL_ERROR", "Internal server error"),
    502: ("BAD_GATEWAY", "Bad gateway"),
    503: ("SERVICE_UNAVAILABLE", "Service temporarily unavailable"),
    504: ("GATEWAY_TIMEOUT", "Gateway timeout"),
}
_ADJECTIVES = [
    "amber",
    "brisk",
    "cobalt",
    "dapper",
    "eager",
    "fabled",
    "gentle",
    "hidden",
    "ivory",
    "jolly",
    "keen",
    "lunar",
    "misty",
    "noble",
]
_NOUNS = [
    "atlas",
    "beacon",
    "canyon",
    "delta",
    "ember",
    "falcon",
    "glacier",
    "harbor",
    "island",
    "jungle",
    "kestrel",
    "lagoon",
    "meadow",
]


def rest_error(status: int, message: str | None = None, code: str | None = None, **details: Any) -> Response:
    """The seed's error envelope ``{"success": false, "error": {"code", "message", "details"?}}``."""
    default_code, default_message = _ERROR_CODES.get(status, ("ERROR", "Error"))
    error: dict[str, Any] = {"code": code or default_code, "message": message or default_message}
    if details:
        error["details"] = details
    return json_response({"success": False, "error": error}, status)


@dataclass(frozen=True, slots=True)
class RestProject:
    id: str
    name: str
    description: str
    status: str
    created_at: str
    task_count: int

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "status": self.status,
            "created_at": self.created_at,
            "task_count": self.task_count,
        }


@dataclass(slots=True)
class RestTask:
    id: str
    name: str
    project_id: str | None
    status: str
    created_at: str
    updated_at: str
    description: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "title": self.name,
            "description": self.description,
            "project_id": self.project_id,
            "status": self.status,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True, slots=True)
class RestUsage:
    """What ``GET /v1/usage`` reports."""

    spend_this_month: Decimal
    credits_remaining: Decimal
    requests_today: int


class RestDataset:
    """Ground truth: projects, tasks and the metered usage at the clock's ``now``."""

    def __init__(
        self,
        *,
        clock: SimClock,
        seed: int,
        projects: int,
        credits: Decimal,
        quota: DailyQuota,
        limiter: FixedWindowLimiter,
        main_key: str,
    ) -> None:
        self._clock = clock
        self.seed = seed
        self._quota = quota
        self._limiter = limiter
        self._main_key = main_key
        self._lock = threading.Lock()
        rng = random.Random(derive_seed("rest-projects", seed))
        start = clock.now - timedelta(days=400)
        made = []
        for i in range(projects):
            ident = "proj_" + hashlib.sha256(f"{seed}:{i}".encode()).hexdigest()[:8]
            created = start + timedelta(minutes=rng.randrange(0, 500_000))
            made.append(
                RestProject(
                    id=ident,
                    name=f"{rng.choice(_ADJECTIVES).capitalize()} {rng.choice(_NOUNS).capitalize()} {i + 1}",
                    description=f"Workspace project number {i + 1}",
                    status="archived" if rng.random() < 0.15 else "active",
                    created_at=rfc3339(created.replace(second=0, microsecond=0)),
                    task_count=rng.randint(0, 120),
                )
            )
        made.sort(key=lambda p: p.created_at)
        self.projects: tuple[RestProject, ...] = tuple(made)
        self._by_id = {p.id: p for p in made}
        self.tasks: dict[str, RestTask] = {}
        self._task_counter = 0
        self._credits_anchor = (clock.now, credits)
        self._rates: dict[int, int] = {}

    def project(self, project_id: str) -> RestProject | None:
        return self._by_id.get(project_id)

    # ---- metering

    def _rate(self, hour: int) -> int:
        """Cents burnt per simulated minute during epoch hour ``hour`` (busy in weekday office hours)."""
        rate = self._rates.get(hour)
        if rate is None:
            moment = datetime.fromtimestamp(hour * 3600, UTC)
            busy = moment.weekday() < 5 and 8 <= moment.hour < 18
            rate = random.Random(derive_seed("rest-rate", self.seed, hour)).randint(2, 9) if busy else 1
            self._rates[hour] = rate
        return rate

    def _burn_cents(self, start: datetime, end: datetime) -> int:
        """Cents burnt in whole simulated minutes of [start, end)."""
        first = math.ceil(start.timestamp() / 60)
        last = math.floor(end.timestamp() / 60)
        total = 0
        minute = first
        while minute < last:
            hour = minute // 60
            stop = min(last, (hour + 1) * 60)
            total += (stop - minute) * self._rate(hour)
            minute = stop
        return total

    def spend_this_month(self) -> Decimal:
        now = self._clock.now
        month = datetime(now.year, now.month, 1, tzinfo=UTC)
        return plain(Decimal(self._burn_cents(month, now)) / 100)

    def credits_remaining(self) -> Decimal:
        """Credits fall by 0.125 per cent burnt since the last :meth:`set_credits` (never below 0)."""
        with self._lock:
            anchor, value = self._credits_anchor
        used = Decimal(self._burn_cents(anchor, self._clock.now)) * Decimal("0.125")
        return plain(max(Decimal(0), value - used))

    def set_credits(self, value: Decimal) -> None:
        with self._lock:
            self._credits_anchor = (self._clock.now, Decimal(value))

    def requests_today(self, key: str | None = None) -> int:
        """Requests counted against ``key``'s quota (default: the main key) this simulated UTC day."""
        return self._quota.used(key or self._main_key, self._clock.today)

    def requests_in_current_minute(self, key: str | None = None) -> int:
        """Requests counted in ``key``'s current rate-limit window."""
        return self._limiter.used(key or self._main_key)

    def usage(self, key: str | None = None) -> RestUsage:
        """What ``GET /v1/usage`` would report right now for ``key`` (default: the main key)."""
        return RestUsage(self.spend_this_month(), self.credits_remaining(), self.requests_today(key))

    # ---- tasks

    def create_task(self, name: str, project_id: str | None, status: str, description: str) -> RestTask:
        with self._lock:
            self._task_counter += 1
            ident = (
                "task_" + hashlib.sha256(f"{self.seed}:task:{self._task_counter}".encode()).hexdigest()[:10]
            )
            stamp = rfc3339(self._clock.now)
            task = RestTask(ident, name, project_id, status, stamp, stamp, description)
            self.tasks[ident] = task
            return task


class RestSimulator:
    """The seed's REST API under ``/v1``.

    ``api_key`` has every scope; ``read_only_key`` only ``read`` (writes answer 403). ``app`` is the
    Starlette application, ``dataset`` the ground truth, ``faults``/``stats`` as in the other simulators.
    """

    def __init__(
        self,
        *,
        plan: Plan = "pro",
        api_key: str | None = None,
        read_only_key: str | None = None,
        seed: int = 3,
        now: datetime | None = None,
        time_scale: float = 1.0,
        rate_limits_enabled: bool = True,
        projects: int = 57,
        credits: Decimal = Decimal("25000"),
    ) -> None:
        if plan not in PLANS:
            raise ValueError(f"unknown plan {plan!r}")
        self.plan: Plan = plan
        self.api_key = api_key or "sk_live_" + hashlib.sha256(f"rest-key:{seed}".encode()).hexdigest()[:40]
        self.read_only_key = (
            read_only_key or "sk_live_" + hashlib.sha256(f"rest-ro-key:{seed}".encode()).hexdigest()[:40]
        )
        self.scopes: dict[str, frozenset[str]] = {
            self.api_key: frozenset(ALL_SCOPES),
            self.read_only_key: frozenset({"read"}),
        }
        self.rate_limits_enabled = rate_limits_enabled
        self.clock = SimClock(now, time_scale)
        self.per_minute, self.per_day = PLANS[plan]
        self._limiter = FixedWindowLimiter(self.per_minute, self.clock.wall_seconds(60.0))
        self._quota = DailyQuota(self.per_day)
        self.dataset = RestDataset(
            clock=self.clock,
            seed=seed,
            projects=projects,
            credits=Decimal(credits),
            quota=self._quota,
            limiter=self._limiter,
            main_key=self.api_key,
        )
        self.faults = FaultInjector()
        self.stats = RequestStats()
        self._revoked: set[str] = set()
        routes = [
            Route("/v1/projects", self._endpoint(self._list_projects), methods=["GET"]),
            Route("/v1/projects/{project_id}", self._endpoint(self._get_project), methods=["GET"]),
            Route("/v1/tasks", self._endpoint(self._create_task, write=True), methods=["POST"]),
            Route("/v1/tasks/{task_id}", self._endpoint(self._update_task, write=True), methods=["PUT"]),
            Route("/v1/account", self._endpoint(self._account), methods=["GET"]),
            Route("/v1/usage", self._endpoint(self._usage), methods=["GET"]),
        ]
        self.app = Starlette(
            routes=routes,
            middleware=[
                Middleware(
                    SimulatorMiddleware,
                    faults=self.faults,
                    stats=self.stats,
                    error_response=rest_error,
                    decorate=self._decorate,
                )
            ],
            exception_handlers=exception_handlers(lambda: rest_error(404), lambda: rest_error(405)),
        )

    # ---- controls

    @property
    def now(self) -> datetime:
        return self.clock.now

    def advance(self, delta: timedelta) -> datetime:
        return self.clock.advance(delta)

    def revoke_key(self, key: str | None = None) -> None:
        """From now on ``key`` (default: the main key) answers 401."""
        self._revoked.add(key or self.api_key)

    def restore_key(self, key: str | None = None) -> None:
        self._revoked.discard(key or self.api_key)

    def set_credits(self, value: Decimal) -> None:
        """Set ``credits_remaining`` as of now; it keeps falling as simulated time advances."""
        self.dataset.set_credits(value)

    def requests_in_current_minute(self, key: str | None = None) -> int:
        """Requests counted in the key's current rate-limit window (default: the main key)."""
        return self.dataset.requests_in_current_minute(key)

    def requests_today(self, key: str | None = None) -> int:
        """Requests counted against the key's quota this simulated UTC day (default: the main key)."""
        return self.dataset.requests_today(key)

    def usage(self) -> RestUsage:
        """What ``GET /v1/usage`` would report right now for the main key."""
        return self.dataset.usage()

    def reset_rate_limits(self) -> None:
        self._limiter.reset()
        self._quota.reset()

    # ---- rate-limit headers

    def _headers(self, decision: RateDecision) -> dict[str, str]:
        reset = self.clock.now.timestamp() + max(0.0, decision.reset_in) * self.clock.time_scale
        return {
            "X-RateLimit-Limit": str(decision.limit),
            "X-RateLimit-Remaining": str(decision.remaining),
            "X-RateLimit-Reset": str(math.ceil(reset)),
        }

    @staticmethod
    def _bearer(headers: Any) -> str:
        scheme, _, token = str(headers.get("authorization", "")).partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""

    def _decorate(self, scope: Scope, headers: MutableHeaders) -> None:
        """Responses that never reached a handler (faults, unknown routes) still carry the headers."""
        if "x-ratelimit-limit" in headers:
            return
        raw = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        for name, value in self._headers(self._limiter.peek(self._bearer(raw))).items():
            headers[name] = value

    def _endpoint(
        self, handler: Callable[[Request, dict[str, Any]], Any], *, write: bool = False
    ) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            key = self._bearer(request.headers)
            if self.rate_limits_enabled:
                decision = self._limiter.acquire(key)
            else:
                decision = RateDecision(True, self.per_minute, self.per_minute, self.clock.wall_seconds(60.0))
            headers = self._headers(decision)
            if not decision.allowed:
                response = rest_error(429, "Rate limit exceeded", "RATE_LIMITED")
                response.headers["Retry-After"] = str(max(1, math.ceil(decision.reset_in)))
            elif not self._quota.acquire(key, self.clock.today, enforce=self.rate_limits_enabled):
                response = rest_error(429, "Daily request quota exceeded", "DAILY_QUOTA_EXCEEDED")
                midnight = day_start(self.clock.today + timedelta(days=1))
                wait = self.clock.wall_seconds((midnight - self.clock.now).total_seconds())
                response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
            elif key not in self.scopes or key in self._revoked:
                response = rest_error(401, "Invalid API key", "UNAUTHORIZED")
            elif write and "write" not in self.scopes[key]:
                response = rest_error(403, "This API key does not have the 'write' scope", "FORBIDDEN")
            else:
                try:
                    body = await read_json_body(request) if request.method in ("POST", "PUT") else {}
                    response = handler(request, body)
                except BodyError as exc:
                    response = rest_error(400, str(exc), "VALIDATION_ERROR")
            for name, value in headers.items():
                response.headers[name] = value
            return response

        return endpoint

    # ---- handlers

    def _list_projects(self, request: Request, body: dict[str, Any]) -> Response:
        def number(name: str, default: int, low: int, high: int) -> int | Response:
            raw = request.query_params.get(name)
            if raw is None:
                return default
            try:
                value = int(raw)
            except ValueError:
                value = low - 1
            if not low <= value <= high:
                return rest_error(
                    400, f"{name} must be between {low} and {high}", "VALIDATION_ERROR", field=name
                )
            return value

        limit = number("limit", 20, 1, 100)
        if isinstance(limit, Response):
            return limit
        offset = number("offset", 0, 0, 10**9)
        if isinstance(offset, Response):
            return offset
        projects = self.dataset.projects
        page = [p.as_json() for p in projects[offset : offset + limit]]
        return json_response(
            {
                "success": True,
                "data": page,
                "pagination": {
                    "total": len(projects),
                    "limit": limit,
                    "offset": offset,
                    "has_more": offset + len(page) < len(projects),
                },
            }
        )

    def _get_project(self, request: Request, body: dict[str, Any]) -> Response:
        project = self.dataset.project(request.path_params["project_id"])
        if project is None:
            return rest_error(404, "Project not found", "NOT_FOUND")
        return json_response({"success": True, "data": project.as_json()})

    def _create_task(self, request: Request, body: dict[str, Any]) -> Response:
        name = body.get("name", body.get("title"))
        if not isinstance(name, str) or not name.strip():
            return rest_error(400, "Name is required", "VALIDATION_ERROR", field="name")
        project_id = body.get("project_id")
        if project_id is not None and (
            not isinstance(project_id, str) or self.dataset.project(project_id) is None
        ):
            return rest_error(400, "Project not found", "VALIDATION_ERROR", field="project_id")
        status = body.get("status", "todo")
        if status not in TASK_STATUSES:
            return rest_error(
                400, f"Status must be one of {', '.join(TASK_STATUSES)}", "VALIDATION_ERROR", field="status"
            )
        description = body.get("description", "")
        task = self.dataset.create_task(name.strip(), project_id, status, str(description or ""))
        return json_response({"success": True, "data": task.as_json()}, 201)

    def _update_task(self, request: Request, body: dict[str, Any]) -> Response:
        task = self.dataset.tasks.get(request.path_params["task_id"])
        if task is None:
            return rest_error(404, "Task not found", "NOT_FOUND")
        changes: dict[str, Any] = {}
        if "status" in body:
            if body["status"] not in TASK_STATUSES:
                return rest_error(
                    400,
                    f"Status must be one of {', '.join(TASK_STATUSES)}",
                    "VALIDATION_ERROR",
                    field="status",
                )
            changes["status"] = body["status"]
        name = body.get("name", body.get("title"))
        if name is not None:
            if not isinstance(name, str) or not name.strip():
                return rest_error(400, "Name is required", "VALIDATION_ERROR", field="name")
            changes["name"] = name.strip()
        if "description" in body:
            changes["description"] = str(body["description"] or "")
        updated = replace(task, **changes, updated_at=rfc3339(self.clock.now))
        self.dataset.tasks[task.id] = updated
        return json_response({"success": True, "data": updated.as_json()})

    def _account(self, request: Request, body: dict[str, Any]) -> Response:
        key = self._bearer(request.headers)
        return json_response(
            {
                "success": True,
                "data": {
                    "plan": self.plan,
                    "rate_limits": {"requests_per_minute": self.per_minute, "requests_per_day": self.per_day},
                    "scopes": sorted(self.scopes[key]),
                },
            }
        )

    def _usage(self, request: Request, body: dict[str, Any]) -> Response:
        usage = self.dataset.usage(self._bearer(request.headers))
        return json_response(
            {
                "success": True,
                "data": {
                    "spend_this_month": usage.spend_this_month,
                    "credits_remaining": usage.credits_remaining,
                    "requests_today": usage.requests_today,
                },
            }
        )


__all__ = [
    "ALL_SCOPES",
    "PLANS",
    "RestDataset",
    "RestProject",
    "RestSimulator",
    "RestTask",
    "RestUsage",
    "rest_error",
]
