"""A simulator of OpenAI's organization Admin API, built from the documented shapes (docs/vendors/openai.md).

Five GET endpoints under ``/v1`` with a Bearer Admin key: ``/organization/costs`` (daily buckets,
``amount.value`` in dollars as a JSON number, grouped by ``line_item`` / ``project_id``),
``/organization/usage/completions`` and ``/organization/usage/embeddings`` (tokens and
``num_model_requests`` grouped by ``user_id``, ``model``, ``project_id``...), ``/organization/users``
(``after`` / ``last_id`` pages) and ``/organization/spend_limit`` (``threshold_amount`` in integer
cents). Usage and costs paginate by buckets with ``limit`` / ``has_more`` / ``next_page``; parameters the
real API refuses are answered 400 in its ``{"error": {...}}`` shape.

The dataset is deterministic by seed. Costs are consistent with usage: each (day, project, user,
model) record's tokens priced at the model's per-million rates give the line items "<model>, input"
and "<model>, output" (an embedding model's line item is its name). Some traffic has no user (made
with a project service key), as in real orgs.
Only ``bucket_width=1d`` is simulated; 1h and 1m (real for usage) answer 400 here.
"""

from __future__ import annotations

import base64
import hmac
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.simulators._common import (
    AdminKeyControls,
    FaultInjector,
    FixedWindowLimiter,
    RequestStats,
    SimClock,
    SimulatorMiddleware,
    day_start,
    derive_seed,
    exception_handlers,
    iter_days,
    json_response,
    make_people,
)

BASE = "/v1"
#: (model, dollars per million input tokens, dollars per million output tokens).
MODELS: tuple[tuple[str, Decimal, Decimal], ...] = (
    ("gpt-4o-2024-08-06", Decimal("2.50"), Decimal("10.00")),
    ("gpt-4o-mini-2024-07-18", Decimal("0.15"), Decimal("0.60")),
    ("o3-mini-2025-01-31", Decimal("1.10"), Decimal("4.40")),
    ("gpt-4.1-2025-04-14", Decimal("2.00"), Decimal("8.00")),
)
#: Embedding models: (model, dollars per million input tokens); embeddings have no output tokens.
EMBEDDING_MODELS: tuple[tuple[str, Decimal], ...] = (("text-embedding-3-small", Decimal("0.02")),)
PROJECTS = ("proj_web", "proj_data", "proj_support")
COSTS_GROUPS = frozenset({"project_id", "line_item", "api_key_id"})
COMPLETIONS_GROUPS = frozenset({"project_id", "user_id", "api_key_id", "model", "batch", "service_tier"})
EMBEDDINGS_GROUPS = frozenset({"project_id", "user_id", "api_key_id", "model"})
_MILLION = Decimal(1_000_000)
_DAY = timedelta(days=1)


def openai_error(status: int, message: str | None = None, code: str | None = None) -> Response:
    """OpenAI's error shape: ``{"error": {"message", "type", "param", "code"}}``."""
    kinds = {401: "invalid_request_error", 403: "invalid_request_error", 429: "requests"}
    default = {
        400: "Invalid request.",
        401: "Incorrect API key provided.",
        403: "You have insufficient permissions for this operation.",
        404: "Not found.",
        429: "Rate limit reached for requests.",
    }
    body = {
        "error": {
            "message": message or default.get(status, "The server had an error processing your request."),
            "type": kinds.get(status, "server_error" if status >= 500 else "invalid_request_error"),
            "param": None,
            "code": code,
        }
    }
    return json_response(body, status=status)


@dataclass(frozen=True, slots=True)
class OpenAIUser:
    id: str
    name: str
    email: str
    role: str
    added_at: int


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One (day, project, user or None, model) cell of completions (or embeddings) usage."""

    day: date
    project_id: str
    user_id: str | None
    api_key_id: str
    model: str
    requests: int
    input_tokens: int
    output_tokens: int
    endpoint: str = "completions"

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def line_items(self) -> list[tuple[str, Decimal]]:
        """(line item, dollars) this record costs: input and output tokens at the model's rates."""
        if self.endpoint == "embeddings":
            rate = next(price for model, price in EMBEDDING_MODELS if model == self.model)
            return [(self.model, Decimal(self.input_tokens) * rate / _MILLION)]
        _, input_rate, output_rate = next(entry for entry in MODELS if entry[0] == self.model)
        return [
            (f"{self.model}, input", Decimal(self.input_tokens) * input_rate / _MILLION),
            (f"{self.model}, output", Decimal(self.output_tokens) * output_rate / _MILLION),
        ]


class OpenAIDataset:
    """The ground truth: users, and usage records for every UTC day from ``days`` ago to today."""

    def __init__(
        self,
        *,
        clock: SimClock,
        team_size: int,
        days: int,
        seed: int,
        people: Sequence[tuple[str, str]] = (),
    ) -> None:
        self._clock = clock
        self.seed = seed
        self.first_day = clock.today - timedelta(days=days - 1)
        generated = make_people(team_size, seed, domain="example.com")
        chosen = list(people) + generated[len(people) :]
        rng = random.Random(derive_seed("openai-users", seed))
        self.users = [
            OpenAIUser(
                id=f"user-{derive_seed('openai-user', seed, index):016x}"[:21],
                name=name,
                email=email,
                role="owner" if index == 0 else "reader",
                added_at=int(day_start(self.first_day).timestamp()) - rng.randrange(1, 400) * 86_400,
            )
            for index, (name, email) in enumerate(chosen[:team_size])
        ]
        self._records: dict[date, list[UsageRecord]] = {}

    def records(self, day: date) -> list[UsageRecord]:
        """The usage of ``day`` (nothing outside the dataset's days)."""
        if day < self.first_day or day > self._clock.today:
            return []
        cached = self._records.get(day)
        if cached is None:
            cached = self._records[day] = self._generate(day)
        return cached

    def _generate(self, day: date) -> list[UsageRecord]:
        rng = random.Random(derive_seed("openai-day", self.seed, day.isoformat()))
        records: list[UsageRecord] = []
        weekend = day.weekday() >= 5
        owners: list[str | None] = [user.id for user in self.users]
        owners.append(None)  # traffic made with a service key: no user
        for index, user_id in enumerate(owners):
            if rng.random() < (0.6 if weekend else 0.15):
                continue
            project = PROJECTS[index % len(PROJECTS)] if user_id is not None else PROJECTS[0]
            for model, _, _ in rng.sample(MODELS, rng.randint(1, 2)):
                requests = rng.randint(1, 120) * (5 if user_id is None else 1)
                records.append(
                    UsageRecord(
                        day=day,
                        project_id=project,
                        user_id=user_id,
                        api_key_id=f"key_{project}_{'svc' if user_id is None else 'user'}",
                        model=model,
                        requests=requests,
                        input_tokens=requests * rng.randint(200, 4000),
                        output_tokens=requests * rng.randint(50, 1200),
                    )
                )
            if user_id is not None and rng.random() < 0.3:
                model, _ = EMBEDDING_MODELS[0]
                requests = rng.randint(1, 40)
                records.append(
                    UsageRecord(
                        day=day,
                        project_id=project,
                        user_id=user_id,
                        api_key_id=f"key_{project}_user",
                        model=model,
                        requests=requests,
                        input_tokens=requests * rng.randint(100, 8000),
                        output_tokens=0,
                        endpoint="embeddings",
                    )
                )
        return records

    def all_records(self, first: date, last: date) -> Iterable[UsageRecord]:
        for day in iter_days(first, last):
            yield from self.records(day)

    def total_cents(self, first: date, last: date) -> Decimal:
        """Every cost in ``first..last`` in cents, exactly."""
        dollars = sum(
            (cost for record in self.all_records(first, last) for _, cost in record.line_items()),
            Decimal(0),
        )
        return dollars * 100

    def requests_by_email(
        self, first: date, last: date, endpoint: str | None = None
    ) -> dict[str | None, int]:
        """Requests per email (None: made with no user) in ``first..last``, on one endpoint or all."""
        return self._by_email(first, last, endpoint, lambda record: record.requests)

    def tokens_by_email(self, first: date, last: date, endpoint: str | None = None) -> dict[str | None, int]:
        """Tokens (input and output) per email (None: made with no user), on one endpoint or all."""
        return self._by_email(first, last, endpoint, lambda record: record.tokens)

    def _by_email(
        self, first: date, last: date, endpoint: str | None, figure: Callable[[UsageRecord], int]
    ) -> dict[str | None, int]:
        emails = {user.id: user.email for user in self.users}
        totals: dict[str | None, int] = {}
        for record in self.all_records(first, last):
            if endpoint is not None and record.endpoint != endpoint:
                continue
            key = None if record.user_id is None else emails[record.user_id]
            totals[key] = totals.get(key, 0) + figure(record)
        return totals


class _BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _encode_cursor(moment: int) -> str:
    return base64.urlsafe_b64encode(f"bucket:{moment}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        prefix, _, value = text.partition(":")
        if prefix != "bucket":
            raise ValueError(cursor)
        return int(value)
    except ValueError:
        raise _BadRequest("Invalid page cursor.") from None


def _int_param(request: Request, name: str, *, required: bool = False) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        if required:
            raise _BadRequest(f"Missing required parameter: '{name}'.")
        return None
    try:
        return int(raw)
    except ValueError:
        raise _BadRequest(f"Invalid type for '{name}': expected an integer.") from None


def _group_by(request: Request, allowed: frozenset[str]) -> list[str]:
    groups = request.query_params.getlist("group_by") + request.query_params.getlist("group_by[]")
    for group in groups:
        if group not in allowed:
            raise _BadRequest(f"Invalid value for 'group_by': {group!r}.")
    return groups


class OpenAISimulator(AdminKeyControls):
    """OpenAI's organization Admin API on loopback under ``/v1``; ``dataset`` is the ground truth."""

    def __init__(
        self,
        *,
        team_size: int = 12,
        days: int = 120,
        seed: int = 5,
        now: datetime | None = None,
        time_scale: float = 1.0,
        admin_key: str | None = None,
        requests_per_minute: int = 60,
        rate_limits_enabled: bool = True,
        spend_limit_cents: int | None = 50_000,
        spend_limit_readable: bool = True,
        people: Sequence[tuple[str, str]] = (),
    ) -> None:
        """``spend_limit_cents`` None answers ``threshold_amount: 0`` (none set); ``spend_limit_readable``
        False answers 403 there, as for a key without the permission."""
        self.admin_key = admin_key or f"sk-admin-sim{derive_seed('openai-key', seed):016x}"
        self.clock = SimClock(now, time_scale)
        self.dataset = OpenAIDataset(
            clock=self.clock, team_size=team_size, days=days, seed=seed, people=people
        )
        self.rate_limits_enabled = rate_limits_enabled
        self.requests_per_minute = requests_per_minute
        self.spend_limit_cents = spend_limit_cents
        self.spend_limit_readable = spend_limit_readable
        self.faults = FaultInjector()
        self.stats = RequestStats()
        self._limiter = FixedWindowLimiter(requests_per_minute, self.clock.wall_seconds(60.0))
        handlers: dict[str, Callable[[Request], Response]] = {
            "/organization/costs": self._costs,
            "/organization/usage/completions": self._completions,
            "/organization/usage/embeddings": self._embeddings,
            "/organization/users": self._users,
            "/organization/spend_limit": self._spend_limit,
        }
        self.app = Starlette(
            routes=[
                Route(BASE + path, self._endpoint(handler), methods=["GET"])
                for path, handler in handlers.items()
            ],
            middleware=[
                Middleware(
                    SimulatorMiddleware, faults=self.faults, stats=self.stats, error_response=openai_error
                )
            ],
            exception_handlers=exception_handlers(
                lambda: openai_error(404, "Invalid URL."), lambda: openai_error(405, "Method not allowed.")
            ),
        )

    # ---- plumbing

    def _endpoint(self, handler: Callable[[Request], Response]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            header = request.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            if (
                scheme.lower() != "bearer"
                or self._revoked
                or not hmac.compare_digest(token.strip().encode(), self.admin_key.encode())
            ):
                return openai_error(401, code="invalid_api_key")
            if (wait := self._retry_after()) is not None:
                response = openai_error(429, code="rate_limit_exceeded")
                response.headers["Retry-After"] = str(wait)
                return response
            try:
                return handler(request)
            except _BadRequest as error:
                return openai_error(error.status, error.message)

        return endpoint

    def _buckets(self, request: Request, max_limit: int) -> tuple[list[date], bool, str | None]:
        """The UTC days of this page, whether more follow, and the cursor to them."""
        start = _int_param(request, "start_time", required=True)
        assert start is not None
        end = _int_param(request, "end_time")
        width = request.query_params.get("bucket_width", "1d")
        if width not in ("1d", "1h", "1m"):
            raise _BadRequest(f"Invalid value for 'bucket_width': {width!r}.")
        if width != "1d":
            raise _BadRequest("This simulator serves bucket_width=1d only.")
        limit = _int_param(request, "limit")
        limit = 7 if limit is None else limit
        if not 1 <= limit <= max_limit:
            raise _BadRequest(f"Invalid 'limit': must be between 1 and {max_limit}.")
        end_moment = int(self.now.timestamp()) if end is None else end
        if end_moment <= start:
            raise _BadRequest("'end_time' must be after 'start_time'.")
        cursor = request.query_params.get("page")
        position = start if cursor is None else _decode_cursor(cursor)
        if not start <= position < end_moment:
            raise _BadRequest("Invalid page cursor.")
        days: list[date] = []
        moment = position
        while moment < end_moment and len(days) < limit:
            days.append(datetime.fromtimestamp(moment, UTC).date())
            moment = int(day_start(days[-1] + _DAY).timestamp())
        has_more = moment < end_moment
        return days, has_more, (_encode_cursor(moment) if has_more else None)

    @staticmethod
    def _page(buckets: list[dict[str, Any]], has_more: bool, next_page: str | None) -> Response:
        return json_response(
            {"object": "page", "data": buckets, "has_more": has_more, "next_page": next_page}
        )

    @staticmethod
    def _bucket(day: date, results: list[dict[str, Any]]) -> dict[str, Any]:
        start = int(day_start(day).timestamp())
        return {"object": "bucket", "start_time": start, "end_time": start + 86_400, "results": results}

    def _costs(self, request: Request) -> Response:
        groups = _group_by(request, COSTS_GROUPS)
        days, has_more, next_page = self._buckets(request, 180)
        projects = set(
            request.query_params.getlist("project_ids") + request.query_params.getlist("project_ids[]")
        )
        buckets = []
        for day in days:
            totals: dict[tuple[str | None, ...], Decimal] = {}
            for record in self.dataset.records(day):
                if projects and record.project_id not in projects:
                    continue
                for line_item, dollars in record.line_items():
                    values = {
                        "project_id": record.project_id,
                        "line_item": line_item,
                        "api_key_id": record.api_key_id,
                    }
                    key = tuple(values[group] if group in groups else None for group in sorted(COSTS_GROUPS))
                    totals[key] = totals.get(key, Decimal(0)) + dollars
            results = []
            for key, dollars in sorted(totals.items(), key=lambda item: tuple(v or "" for v in item[0])):
                grouped = dict(zip(sorted(COSTS_GROUPS), key, strict=True))
                results.append(
                    {
                        "object": "organization.costs.result",
                        "amount": {"value": dollars, "currency": "usd"},
                        "line_item": grouped["line_item"],
                        "project_id": grouped["project_id"],
                        "api_key_id": grouped["api_key_id"],
                    }
                )
            buckets.append(self._bucket(day, results))
        return self._page(buckets, has_more, next_page)

    def _completions(self, request: Request) -> Response:
        return self._usage(request, "completions", COMPLETIONS_GROUPS)

    def _embeddings(self, request: Request) -> Response:
        return self._usage(request, "embeddings", EMBEDDINGS_GROUPS)

    def _usage(self, request: Request, endpoint: str, allowed: frozenset[str]) -> Response:
        groups = _group_by(request, allowed)
        days, has_more, next_page = self._buckets(request, 31)
        names = sorted(allowed)
        buckets = []
        for day in days:
            totals: dict[tuple[Any, ...], list[int]] = {}
            for record in self.dataset.records(day):
                if record.endpoint != endpoint:
                    continue
                values: dict[str, Any] = {
                    "project_id": record.project_id,
                    "user_id": record.user_id,
                    "api_key_id": record.api_key_id,
                    "model": record.model,
                    "batch": False,
                    "service_tier": "default",
                }
                key = tuple(values[name] if name in groups else None for name in names)
                total = totals.setdefault(key, [0, 0, 0])
                total[0] += record.requests
                total[1] += record.input_tokens
                total[2] += record.output_tokens
            results = []
            for key, (requests, input_tokens, output_tokens) in sorted(
                totals.items(), key=lambda item: tuple(str(v) for v in item[0])
            ):
                tokens: dict[str, int] = {"input_tokens": input_tokens}
                if endpoint == "completions":
                    tokens |= {
                        "output_tokens": output_tokens,
                        "input_cached_tokens": 0,
                        "input_audio_tokens": 0,
                        "output_audio_tokens": 0,
                    }
                results.append(
                    {
                        "object": f"organization.usage.{endpoint}.result",
                        **tokens,
                        "num_model_requests": requests,
                        **dict(zip(names, key, strict=True)),
                    }
                )
            buckets.append(self._bucket(day, results))
        return self._page(buckets, has_more, next_page)

    def _users(self, request: Request) -> Response:
        limit = _int_param(request, "limit")
        limit = 20 if limit is None else limit
        if not 1 <= limit <= 100:
            raise _BadRequest("Invalid 'limit': must be between 1 and 100.")
        users = self.dataset.users
        after = request.query_params.get("after")
        start = 0
        if after is not None:
            ids = [user.id for user in users]
            if after not in ids:
                raise _BadRequest("Invalid 'after' cursor.")
            start = ids.index(after) + 1
        page = users[start : start + limit]
        data = [
            {
                "object": "organization.user",
                "id": user.id,
                "name": user.name,
                "email": user.email,
                "role": user.role,
                "added_at": user.added_at,
            }
            for user in page
        ]
        return json_response(
            {
                "object": "list",
                "data": data,
                "first_id": page[0].id if page else None,
                "last_id": page[-1].id if page else None,
                "has_more": start + limit < len(users),
            }
        )

    def _spend_limit(self, request: Request) -> Response:
        if not self.spend_limit_readable:
            return openai_error(403)
        cents = self.spend_limit_cents or 0
        month_start = self.now.date().replace(day=1)
        spent = self.dataset.total_cents(month_start, self.now.date())
        enforcing = cents > 0 and spent >= cents
        return json_response(
            {
                "object": "organization.spend_limit",
                "threshold_amount": cents,
                "currency": "USD",
                "interval": "month",
                "enforcement": {"status": "enforcing" if enforcing else "inactive"},
            }
        )
