"""A simulator of Anthropic's organization Admin API, from the documented shapes (docs/vendors/anthropic.md).

GET endpoints under ``/v1`` with ``x-api-key`` (an Admin key) and ``anthropic-version``:
``/organizations/cost_report`` (daily buckets of ``results`` whose ``amount`` is a decimal string in
cents, grouped by ``description`` and/or ``workspace_id``), ``/organizations/usage_report/messages``
(daily buckets of token counts, grouped by ``model``, ``account_id``...),
``/organizations/usage_report/claude_code`` (one UTC day of per-actor records),
``/organizations/spend_limits/effective`` and ``/organizations/users`` (``after_id`` / ``last_id`` pages).
The reports paginate with ``limit`` / ``page`` / ``has_more`` / ``next_page``; parameters the real API
refuses are answered 400 in its ``{"type": "error", "error": {"type", "message"}}`` shape.

The dataset is deterministic by seed. Costs are consistent with usage: each (day, actor, model)
record's tokens priced at the model's per-million rates give the items "<model>, input" and
"<model>, output". Users' records are Claude Code sessions; one API key's traffic has no person.
Only ``bucket_width=1d`` exists for the cost report, as documented.
"""

from __future__ import annotations

import base64
import hmac
import random
from collections.abc import Awaitable, Callable, Iterable, Sequence
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
    decimal_literal,
    derive_seed,
    exception_handlers,
    iter_days,
    json_response,
    make_people,
)

BASE = "/v1"
VERSION = "2023-06-01"
#: (model, dollars per million input tokens, dollars per million output tokens).
MODELS: tuple[tuple[str, Decimal, Decimal], ...] = (
    ("claude-sonnet-4-5-20250929", Decimal("3.00"), Decimal("15.00")),
    ("claude-haiku-4-5-20251001", Decimal("1.00"), Decimal("5.00")),
    ("claude-opus-4-1-20250805", Decimal("15.00"), Decimal("75.00")),
)
COST_GROUPS = frozenset({"workspace_id", "description"})
#: ``group_by[]`` values of the messages usage report (``speed`` needs a beta header: refused here).
MESSAGES_GROUPS = frozenset(
    {
        "account_id",
        "api_key_id",
        "context_window",
        "inference_geo",
        "model",
        "service_account_id",
        "service_tier",
        "workspace_id",
    }
)
SERVICE_KEY_ID = "apikey_01ci"
SERVICE_KEY = "ci-pipeline"
_MILLION = Decimal(1_000_000)
_CENTS = Decimal(100)
_DAY = timedelta(days=1)


def anthropic_error(status: int, message: str | None = None) -> Response:
    """Anthropic's error shape: ``{"type": "error", "error": {"type", "message"}}``."""
    kinds = {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        429: "rate_limit_error",
    }
    default = {
        400: "Invalid request.",
        401: "invalid x-api-key",
        403: "Your API key does not have permission to use the specified resource.",
        404: "Not found.",
        429: "Rate limited.",
    }
    body = {
        "type": "error",
        "error": {
            "type": kinds.get(status, "api_error"),
            "message": message or default.get(status, "Internal server error."),
        },
    }
    return json_response(body, status=status)


@dataclass(frozen=True, slots=True)
class AnthropicUser:
    id: str
    name: str
    email: str
    role: str
    added_at: str


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One (day, user email or None for the service key, model) cell of usage."""

    day: date
    email: str | None
    model: str
    sessions: int
    input_tokens: int
    output_tokens: int

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def items(self) -> list[tuple[str, str, Decimal]]:
        """(model, token type, cents) this record costs: input and output tokens at the model's rates."""
        _, input_rate, output_rate = next(entry for entry in MODELS if entry[0] == self.model)
        return [
            (
                self.model,
                "uncached_input_tokens",
                Decimal(self.input_tokens) * input_rate * _CENTS / _MILLION,
            ),
            (self.model, "output_tokens", Decimal(self.output_tokens) * output_rate * _CENTS / _MILLION),
        ]


class AnthropicDataset:
    """The ground truth: users, and usage records for every UTC day from ``days`` ago to today."""

    def __init__(
        self, *, clock: SimClock, team_size: int, days: int, seed: int, people: Sequence[tuple[str, str]] = ()
    ) -> None:
        self._clock = clock
        self.seed = seed
        self.first_day = clock.today - timedelta(days=days - 1)
        generated = make_people(team_size, seed, domain="example.com")
        chosen = list(people) + generated[len(people) :]
        self.users = [
            AnthropicUser(
                id=f"user_{derive_seed('anthropic-user', seed, index):016x}",
                name=name,
                email=email,
                role="admin" if index == 0 else "developer",
                added_at=day_start(self.first_day - timedelta(days=30 + index)).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
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
        rng = random.Random(derive_seed("anthropic-day", self.seed, day.isoformat()))
        records: list[UsageRecord] = []
        weekend = day.weekday() >= 5
        owners: list[str | None] = [user.email for user in self.users]
        owners.append(None)  # traffic of a service API key: no person
        for email in owners:
            if rng.random() < (0.6 if weekend else 0.2):
                continue
            for model, _, _ in rng.sample(MODELS, rng.randint(1, 2)):
                sessions = rng.randint(1, 9) * (4 if email is None else 1)
                records.append(
                    UsageRecord(
                        day=day,
                        email=email,
                        model=model,
                        sessions=sessions,
                        input_tokens=sessions * rng.randint(2_000, 60_000),
                        output_tokens=sessions * rng.randint(500, 9_000),
                    )
                )
        return records

    def all_records(self, first: date, last: date) -> Iterable[UsageRecord]:
        for day in iter_days(first, last):
            yield from self.records(day)

    def total_cents(self, first: date, last: date) -> Decimal:
        """Every cost in ``first..last`` in cents, exactly."""
        return sum(
            (cents for record in self.all_records(first, last) for _, _, cents in record.items()), Decimal(0)
        )

    def tokens_by_model(self, first: date, last: date) -> dict[str, int]:
        """Tokens (input and output) per model in ``first..last``."""
        totals: dict[str, int] = {}
        for record in self.all_records(first, last):
            totals[record.model] = totals.get(record.model, 0) + record.tokens
        return totals

    def tokens_by_email(self, first: date, last: date) -> dict[str | None, int]:
        """Tokens (input and output) per email (None: the service key's) in ``first..last``."""
        totals: dict[str | None, int] = {}
        for record in self.all_records(first, last):
            totals[record.email] = totals.get(record.email, 0) + record.tokens
        return totals

    def sessions_by_email(self, first: date, last: date) -> dict[str | None, int]:
        """Claude Code sessions per email (None: the service key's) in ``first..last``."""
        totals: dict[str | None, int] = {}
        for record in self.all_records(first, last):
            totals[record.email] = totals.get(record.email, 0) + record.sessions
        return totals


class _BadRequest(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _encode_cursor(kind: str, position: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode()


def _decode_cursor(kind: str, cursor: str) -> int:
    try:
        prefix, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if prefix != kind:
            raise ValueError(cursor)
        return int(value)
    except ValueError:
        raise _BadRequest("Invalid page token.") from None


def _limit(request: Request, default: int, maximum: int) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _BadRequest("limit: Input should be a valid integer") from None
    if not 1 <= value <= maximum:
        raise _BadRequest(f"limit: must be between 1 and {maximum}")
    return value


def _moment(request: Request, name: str, *, required: bool) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None:
        if required:
            raise _BadRequest(f"{name}: Field required")
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise _BadRequest(f"{name}: Input should be a valid datetime") from None
    if parsed.tzinfo is None:
        raise _BadRequest(f"{name}: timezone required")
    return parsed.astimezone(UTC)


class AnthropicSimulator(AdminKeyControls):
    """Anthropic's organization Admin API on loopback under ``/v1``; ``dataset`` is the ground truth."""

    def __init__(
        self,
        *,
        team_size: int = 12,
        days: int = 120,
        seed: int = 11,
        now: datetime | None = None,
        time_scale: float = 1.0,
        admin_key: str | None = None,
        requests_per_minute: int = 60,
        rate_limits_enabled: bool = True,
        people: Sequence[tuple[str, str]] = (),
        spend_limits: bool = True,
        spend_limits_writable: bool = True,
        enterprise: bool = True,
    ) -> None:
        self.admin_key = admin_key or f"sk-ant-admin01-sim{derive_seed('anthropic-key', seed):016x}"
        #: Whether the key may read spend limits (``read:spend_limits``); False answers 403, as the real
        #: API does for a key without the scope or an organization without the preview.
        self.spend_limits_readable = spend_limits
        #: Whether the key may set them (``write:spend_limits``), and whether the organization is a Claude
        #: Enterprise one: only those set ``user`` limits (a Console organization's answer 400).
        self.spend_limits_writable = spend_limits_writable
        self.enterprise = enterprise
        #: Monthly ``user`` limits set through the API (user id → minor units, None for "no limit").
        self.user_limits: dict[str, int | None] = {}
        self.clock = SimClock(now, time_scale)
        self.dataset = AnthropicDataset(
            clock=self.clock, team_size=team_size, days=days, seed=seed, people=people
        )
        self.rate_limits_enabled = rate_limits_enabled
        self.requests_per_minute = requests_per_minute
        self.faults = FaultInjector()
        self.stats = RequestStats()
        self._limiter = FixedWindowLimiter(requests_per_minute, self.clock.wall_seconds(60.0))
        handlers: dict[str, Callable[[Request], Response]] = {
            "/organizations/cost_report": self._cost_report,
            "/organizations/usage_report/messages": self._messages_usage,
            "/organizations/usage_report/claude_code": self._claude_code,
            "/organizations/users": self._users,
            "/organizations/spend_limits/effective": self._effective_spend_limits,
        }
        self.app = Starlette(
            routes=[
                *(
                    Route(BASE + path, self._endpoint(handler), methods=["GET"])
                    for path, handler in handlers.items()
                ),
                Route(BASE + "/organizations/spend_limits", self._set_spend_limit, methods=["POST"]),
            ],
            middleware=[
                Middleware(
                    SimulatorMiddleware, faults=self.faults, stats=self.stats, error_response=anthropic_error
                )
            ],
            exception_handlers=exception_handlers(
                lambda: anthropic_error(404, "Not found."),
                lambda: anthropic_error(405, "Method not allowed."),
            ),
        )

    # ---- plumbing

    def _authorized(self, request: Request) -> bool:
        key = request.headers.get("x-api-key", "")
        return not self._revoked and hmac.compare_digest(key.strip().encode(), self.admin_key.encode())

    def _endpoint(self, handler: Callable[[Request], Response]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            if not self._authorized(request):
                return anthropic_error(401)
            if request.headers.get("anthropic-version") is None:
                return anthropic_error(400, "anthropic-version: header is required")
            if (wait := self._retry_after()) is not None:
                response = anthropic_error(429)
                response.headers["retry-after"] = str(wait)
                return response
            try:
                return handler(request)
            except _BadRequest as error:
                return anthropic_error(400, error.message)

        return endpoint

    def _report_days(self, request: Request, kind: str) -> tuple[list[date], bool, str | None]:
        """The UTC days of this daily report page, whether more follow, and the token to them."""
        start = _moment(request, "starting_at", required=True)
        assert start is not None
        end = _moment(request, "ending_at", required=False) or self.now
        if request.query_params.get("bucket_width", "1d") != "1d":
            raise _BadRequest("bucket_width: only '1d' is supported")
        limit = _limit(request, 7, 31)
        if end <= start:
            raise _BadRequest("ending_at must be after starting_at")
        first, stop = start.date(), (end - timedelta(microseconds=1)).date()
        cursor = request.query_params.get("page")
        offset = 0 if cursor is None else _decode_cursor(kind, cursor)
        total = (stop - first).days + 1
        if not 0 <= offset < total:
            raise _BadRequest("Invalid page token.")
        days = [first + timedelta(days=index) for index in range(offset, min(total, offset + limit))]
        has_more = offset + limit < total
        return days, has_more, (_encode_cursor(kind, offset + limit) if has_more else None)

    def _cost_report(self, request: Request) -> Response:
        groups = request.query_params.getlist("group_by[]") + request.query_params.getlist("group_by")
        for group in groups:
            if group not in COST_GROUPS:
                raise _BadRequest(f"group_by[]: invalid value {group!r}")
        days, has_more, next_page = self._report_days(request, "cost")
        by_description = "description" in groups
        buckets = []
        for day in days:
            totals: dict[tuple[str, str] | None, Decimal] = {}
            for record in self.dataset.records(day):
                for model, token_type, cents in record.items():
                    key = (model, token_type) if by_description else None
                    totals[key] = totals.get(key, Decimal(0)) + cents
            results = [self._cost_item(key, cents) for key, cents in sorted(totals.items(), key=str)]
            buckets.append(
                {
                    "starting_at": day_start(day).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "ending_at": day_start(day + _DAY).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "results": results,
                }
            )
        return json_response({"data": buckets, "has_more": has_more, "next_page": next_page})

    @staticmethod
    def _cost_item(key: tuple[str, str] | None, cents: Decimal) -> dict[str, Any]:
        model, token_type = key if key is not None else (None, None)
        return {
            "currency": "USD",
            "amount": decimal_literal(cents),
            "workspace_id": None,
            "description": None if model is None else f"{model}, {token_type}",
            "cost_type": None if model is None else "tokens",
            "context_window": None if model is None else "0-200k",
            "model": model,
            "service_tier": None if model is None else "standard",
            "token_type": token_type,
        }

    def _messages_usage(self, request: Request) -> Response:
        groups = set(request.query_params.getlist("group_by[]") + request.query_params.getlist("group_by"))
        for group in groups:
            if group not in MESSAGES_GROUPS:
                raise _BadRequest(f"group_by[]: invalid value {group!r}")
        days, has_more, next_page = self._report_days(request, "messages")
        ids = {user.email: user.id for user in self.dataset.users}
        buckets = []
        for day in days:
            totals: dict[tuple[str | None, str | None, str | None], list[int]] = {}
            for record in self.dataset.records(day):
                account = None if record.email is None else ids[record.email]
                key = (
                    record.model if "model" in groups else None,
                    account if "account_id" in groups else None,
                    (SERVICE_KEY_ID if record.email is None else None) if "api_key_id" in groups else None,
                )
                total = totals.setdefault(key, [0, 0])
                total[0] += record.input_tokens
                total[1] += record.output_tokens
            results = [
                {
                    "uncached_input_tokens": input_tokens,
                    "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
                    "cache_read_input_tokens": 0,
                    "output_tokens": output_tokens,
                    "server_tool_use": {"web_search_requests": 0},
                    "model": model,
                    "account_id": account,
                    "api_key_id": api_key,
                    "workspace_id": None,
                    "service_tier": "standard" if "service_tier" in groups else None,
                    "context_window": "0-200k" if "context_window" in groups else None,
                }
                for (model, account, api_key), (input_tokens, output_tokens) in sorted(
                    totals.items(), key=lambda item: tuple(value or "" for value in item[0])
                )
            ]
            buckets.append(
                {
                    "starting_at": day_start(day).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "ending_at": day_start(day + _DAY).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "results": results,
                }
            )
        return json_response({"data": buckets, "has_more": has_more, "next_page": next_page})

    def _claude_code(self, request: Request) -> Response:
        raw = request.query_params.get("starting_at")
        if raw is None:
            raise _BadRequest("starting_at: Field required")
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise _BadRequest("starting_at: Input should be a valid date (YYYY-MM-DD)") from None
        limit = _limit(request, 20, 1000)
        records = self._claude_code_records(day)
        cursor = request.query_params.get("page")
        offset = 0 if cursor is None else _decode_cursor("claude_code", cursor)
        page = records[offset : offset + limit]
        has_more = offset + limit < len(records)
        next_page = _encode_cursor("claude_code", offset + limit) if has_more else None
        return json_response({"data": page, "has_more": has_more, "next_page": next_page})

    def _claude_code_records(self, day: date) -> list[dict[str, Any]]:
        sessions: dict[str | None, int] = {}
        for record in self.dataset.records(day):
            sessions[record.email] = sessions.get(record.email, 0) + record.sessions
        records = []
        for email, count in sorted(sessions.items(), key=lambda item: item[0] or ""):
            actor = (
                {"type": "user_actor", "email_address": email}
                if email is not None
                else {"type": "api_actor", "api_key_name": SERVICE_KEY}
            )
            records.append(
                {
                    "date": day_start(day).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "actor": actor,
                    "organization_id": "org_sim",
                    "customer_type": "api",
                    "terminal_type": "vscode",
                    "core_metrics": {
                        "num_sessions": count,
                        "lines_of_code": {"added": count * 40, "removed": count * 12},
                        "commits_by_claude_code": count // 2,
                        "pull_requests_by_claude_code": count // 4,
                    },
                }
            )
        return records

    def effective_spend_limits(self) -> list[dict[str, Any]]:
        """Every member's effective monthly limit and period-to-date spend (minor-unit decimal strings).

        Every other member has a cap: $500 with 95.5% of it spent, or $200 with 30%; the others have none
        (``amount`` null). The third reads "0", which the API documents as "temporarily unavailable"; one
        scoped API key has its own row.
        """
        rows: list[dict[str, Any]] = []
        for index, user in enumerate(self.dataset.users):
            capped = index % 2 == 0
            limit = 50000 if index % 4 == 0 else 20000
            share = Decimal("0.955") if index % 4 == 0 else Decimal("0.3")  # near the cap, or far from it
            spent = Decimal(limit) * share if capped else Decimal(1234 + index * 1000)
            amount = str(limit) if capped else None
            own = capped
            if user.id in self.user_limits:  # set through the API: the member's own limit now applies
                cents = self.user_limits[user.id]
                own, amount = True, None if cents is None else str(cents)
            rows.append(
                {
                    "actor": {"type": "user", "user_id": user.id},
                    "amount": amount,
                    "currency": "USD",
                    "period": "monthly",
                    "period_to_date_spend": "0" if index == 2 else f"{spent:.3f}",
                    "scope": {"type": "user", "user_id": user.id} if own else {"type": "organization"},
                    "source": "user" if own else "organization",
                    "spend_limit_id": f"spl_{derive_seed('anthropic-limit', self.dataset.seed, index):016x}",
                }
            )
        rows.append(
            {
                "actor": {"type": "scoped_api_key", "api_key_id": "apikey_sim"},
                "amount": "10000",
                "currency": "USD",
                "period": "monthly",
                "period_to_date_spend": "1234.000",
                "scope": {"type": "workspace", "workspace_id": "wrkspc_sim"},
                "source": "workspace",
                "spend_limit_id": "spl_workspace",
            }
        )
        return rows

    async def _set_spend_limit(self, request: Request) -> Response:
        """``POST /v1/organizations/spend_limits``: an upsert keyed on (scope, period). Only ``user``
        scopes of a Claude Enterprise organization are accepted here (anything else answers 400, as the
        docs say); ``amount`` is a non-negative integer decimal string in cents, or null for no limit."""
        try:
            body = await request.json()
        except ValueError:
            body = None

        def handler(_: Request) -> Response:
            if not self.spend_limits_writable:
                return anthropic_error(403, "This API key does not have the write:spend_limits scope.")
            if not isinstance(body, dict):
                raise _BadRequest("body: expected an object")
            scope = body.get("scope")
            if not isinstance(scope, dict) or scope.get("type") != "user" or not self.enterprise:
                raise _BadRequest("scope: this organization cannot set a limit at that scope")
            user_id = scope.get("user_id")
            if user_id not in {user.id for user in self.dataset.users}:
                raise _BadRequest("scope.user_id: unknown user")
            period = body.get("period", "monthly")
            if period not in ("daily", "weekly", "monthly"):
                raise _BadRequest("period: expected daily, weekly or monthly")
            amount = body.get("amount")
            if amount is not None and not (isinstance(amount, str) and amount.isascii() and amount.isdigit()):
                raise _BadRequest("amount: expected a non-negative integer decimal string, or null")
            if period == "monthly":
                self.user_limits[str(user_id)] = None if amount is None else int(amount)
            now = self.now.isoformat().replace("+00:00", "Z")
            return json_response(
                {
                    "type": "spend_limit",
                    "id": f"spl_{derive_seed('anthropic-set-limit', str(user_id), period):016x}",
                    "amount": amount,
                    "currency": "USD",
                    "is_enabled": True,
                    "period": period,
                    "scope": {"type": "user", "user_id": user_id},
                    "created_at": now,
                    "updated_at": now,
                }
            )

        return await self._endpoint(handler)(request)

    def _effective_spend_limits(self, request: Request) -> Response:
        if not self.spend_limits_readable:
            return anthropic_error(403, "This API key does not have the read:spend_limits scope.")
        limit = _limit(request, 20, 100)
        rows = self.effective_spend_limits()
        cursor = request.query_params.get("page")
        offset = 0 if cursor is None else _decode_cursor("spend_limits", cursor)
        page = rows[offset : offset + limit]
        has_more = offset + limit < len(rows)
        next_page = _encode_cursor("spend_limits", offset + limit) if has_more else None
        return json_response({"data": page, "has_more": has_more, "next_page": next_page})

    def _users(self, request: Request) -> Response:
        limit = _limit(request, 20, 1000)
        users = self.dataset.users
        after = request.query_params.get("after_id")
        start = 0
        if after is not None:
            ids = [user.id for user in users]
            if after not in ids:
                raise _BadRequest("after_id: unknown id")
            start = ids.index(after) + 1
        page = users[start : start + limit]
        data = [
            {
                "type": "user",
                "id": user.id,
                "email": user.email,
                "name": user.name,
                "role": user.role,
                "added_at": user.added_at,
            }
            for user in page
        ]
        return json_response(
            {
                "data": data,
                "first_id": page[0].id if page else None,
                "last_id": page[-1].id if page else None,
                "has_more": start + limit < len(users),
            }
        )
