"""A simulator of the GitHub Copilot REST APIs spendbot reads, built from the contract in
``notes/copilot-spec.md`` (itself drawn from docs/vendors/copilot.md and GitHub's published docs).

What it serves, at the root (the real base URL is ``https://api.github.com``):

- seats, ``GET /orgs/{org}/copilot/billing/seats`` and ``/enterprises/{e}/copilot/billing/seats``
  (spec "Seats"): ``page`` / ``per_page`` (default 50, above 100 → 422), ``total_seats``, a ``Link``
  header with ``rel="next"`` while pages remain; the enterprise variant adds ``organization`` to a seat;
- usage reports, ``GET /organizations/{org}/settings/billing/ai_credit/usage`` and the enterprise and
  ``premium_request`` variants (spec "AI-credit usage", "Premium-request usage"): one aggregate per call
  for a month or a UTC day, optionally for one ``user`` / ``model`` / ``product``; amounts are US
  dollars as JSON floats; the report of the other plan (``mode``) answers 404;
- budgets, ``GET /{scope}/settings/billing/budgets`` (spec "Budgets"): ``budgets`` / ``has_next_page`` /
  ``total_count``, by default an organization- (or enterprise-) scoped Copilot budget and an unrelated
  Actions one.

Every request (spec "Every request"): ``Authorization: Bearer`` or ``token`` (wrong or revoked → 401
"Bad credentials"; :attr:`CopilotSimulator.missing_permission` → 403 "Resource not accessible by personal
access token"), ``X-GitHub-Api-Version`` 2022-11-28 or 2026-03-10 (absent is allowed, unknown → 400),
GitHub's ``{"message", "documentation_url", "status"}`` error body, and ``x-ratelimit-*`` headers on
every response, errors and injected faults included. The primary limit counts requests per token per
hour (5,000 by default) and answers ``rate_limit_status`` (403 or 429) with ``x-ratelimit-remaining: 0``
and no ``retry-after``; the secondary limit counts requests per minute (900 by default) and answers the
same status with ``retry-after`` while ``remaining`` stays above 0. Windows last ``3600 / time_scale``
and ``60 / time_scale`` wall-clock seconds; ``x-ratelimit-reset`` is the window's end as a real
(wall-clock) epoch instant, whatever the simulated clock says, and ``retry-after`` is in simulated
seconds (as the OpenAI and Anthropic simulators send it).

The dataset (spec "Simulator requirements") is deterministic by seed: seats for people shared with the
other simulators (``make_people``), logins made from the email's local part (``ana.silva`` →
``ana-silva``), about one seat in four showing its public email; idle seats (last activity 40+ days ago,
or never) with no usage since; one former user without a seat whose usage still counts in the
organization's totals. Usage is per (UTC day, login, model); each login's monthly included credits are
the discount, spent in day order, so early days of a month often cost nothing net. The organization's
item for a (day, model) is the exact sum of the per-user items.
"""

from __future__ import annotations

import hmac
import math
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Scope

from bot.simulators._common import (
    AdminKeyControls,
    FaultInjector,
    FixedWindowLimiter,
    RateDecision,
    RawNumber,
    RequestStats,
    SimClock,
    SimulatorMiddleware,
    day_start,
    derive_seed,
    exception_handlers,
    iter_days,
    json_response,
    make_people,
    rfc3339,
)

Mode = Literal["ai_credit", "premium_request"]
MODES: tuple[Mode, ...] = ("ai_credit", "premium_request")
API_VERSIONS = frozenset({"2022-11-28", "2026-03-10"})
DOCS_URL = "https://docs.github.com/rest"
VERSIONS_DOCS_URL = "https://docs.github.com/rest/about-the-rest-api/api-versions"
MODELS: tuple[str, ...] = ("claude-sonnet-4.5", "gemini-2.5-pro", "gpt-5")
PRODUCT = "copilot"
IDLE_MIN_DAYS = 40


@dataclass(frozen=True, slots=True)
class CopilotPlanUnits:
    """How one billing mode counts: its sku, unit, price per unit in cents, usage per active day."""

    sku: str
    unit_type: str
    price_cents: int
    price_literal: str
    included_per_month: int
    daily_range: tuple[int, int]


UNITS: dict[Mode, CopilotPlanUnits] = {
    "ai_credit": CopilotPlanUnits("copilot_ai_credit", "ai-credits", 1, "0.01", 1000, (20, 400)),
    "premium_request": CopilotPlanUnits("copilot_premium_request", "requests", 4, "0.04", 300, (1, 30)),
}

_DEFAULT_MESSAGES = {
    400: "Bad Request",
    401: "Bad credentials",
    403: "Forbidden",
    404: "Not Found",
    405: "Not Found",
    422: "Validation Failed",
    500: "Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
PRIMARY_MESSAGE = "API rate limit exceeded for user ID 1."
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)
PERMISSION_MESSAGE = "Resource not accessible by personal access token"


def github_error(status: int, message: str | None = None, documentation_url: str = DOCS_URL) -> Response:
    """GitHub's error body: ``{"message", "documentation_url", "status"}`` (status as a string)."""
    body = {
        "message": message or _DEFAULT_MESSAGES.get(status, "Server Error"),
        "documentation_url": documentation_url,
        "status": str(status),
    }
    return json_response(body, status=status)


def dollars(cents: int) -> RawNumber:
    """``cents`` as a JSON float of dollars, always with a fraction: 1234 → 12.34, 1000 → 10.0."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    text = f"{whole}.{frac:02d}".rstrip("0")
    return RawNumber(sign + (text + "0" if text.endswith(".") else text))


def quantity(units: int) -> RawNumber:
    """A whole quantity as a JSON float, as GitHub sends it: 1234 → 1234.0."""
    return RawNumber(f"{units}.0")


def login_of(email: str) -> str:
    """The GitHub login the simulator gives a person: ``ana.silva@example.com`` → ``ana-silva``."""
    return email.partition("@")[0].replace(".", "-")


@dataclass(frozen=True, slots=True)
class CopilotSeat:
    """One seat holder: who, since when, and until when they use Copilot (None: still active)."""

    login: str
    user_id: int
    name: str
    email: str
    public_email: bool
    created: datetime
    uses_from: date | None  # None: never used Copilot
    uses_until: date | None  # None: still using it
    team: bool
    pending_cancellation: date | None


@dataclass(frozen=True, slots=True)
class CopilotUsage:
    """One (UTC day, login, model) cell: units used and units covered by the included allowance."""

    day: date
    login: str
    model: str
    gross: int
    discount: int

    @property
    def net(self) -> int:
        return self.gross - self.discount


class CopilotDataset:
    """The ground truth: seats, a former user, and usage for every UTC day from ``days`` ago to today.

    Usage is generated one (login, month) at a time so the monthly allowance is spent in day order;
    days after the clock's today exist in the cache but are never shown, so advancing the clock only
    reveals new days and never changes published ones.
    """

    def __init__(
        self,
        *,
        clock: SimClock,
        seed: int = 7,
        people: Sequence[tuple[str, str]] | None = None,
        team_size: int = 12,
        days: int = 120,
        mode: Mode = "ai_credit",
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self._clock = clock
        self.seed = seed
        self.mode: Mode = mode
        self.units = UNITS[mode]
        self.anchor = clock.today
        self.first_day = self.anchor - timedelta(days=days - 1)
        chosen = list(people) if people is not None else make_people(team_size, seed)
        rng = random.Random(derive_seed("copilot-seats", seed))
        email_offset, idle_offset = rng.randrange(4), rng.randrange(5)
        self.seats = [
            self._seat(index, name, email, rng, email_offset, idle_offset)
            for index, (name, email) in enumerate(chosen)
        ]
        self.former_login = self._former_login()
        self._former_until = self.anchor - timedelta(days=min(25, max(0, days // 2)))
        self._lock = threading.Lock()
        self._months: dict[tuple[str, int, int], dict[date, list[CopilotUsage]]] = {}

    def _seat(
        self, index: int, name: str, email: str, rng: random.Random, email_offset: int, idle_offset: int
    ) -> CopilotSeat:
        created = day_start(self.first_day - timedelta(days=20 + index)) + timedelta(hours=9)
        uses_from: date | None = self.first_day
        uses_until: date | None = None
        if (index + idle_offset) % 5 == 0:
            if index % 2 == 0:
                uses_from = None
            else:
                uses_until = self.anchor - timedelta(days=rng.randint(IDLE_MIN_DAYS, IDLE_MIN_DAYS + 30))
        return CopilotSeat(
            login=login_of(email),
            user_id=1000 + derive_seed("copilot-user", self.seed, email) % 9_000_000,
            name=name,
            email=email,
            public_email=(index + email_offset) % 4 == 0,
            created=created,
            uses_from=uses_from,
            uses_until=uses_until,
            team=index % 3 == 0,
            pending_cancellation=(
                date(self.anchor.year + (self.anchor.month == 12), self.anchor.month % 12 + 1, 1)
                - timedelta(days=1)
                if uses_from is None and index % 4 == 0
                else None
            ),
        )

    def _former_login(self) -> str:
        taken = {seat.login for seat in self.seats}
        for _, email in make_people(len(self.seats) + 1, self.seed, domain="former.example.com"):
            login = login_of(email)
            if login not in taken:
                return login
        raise AssertionError("make_people gave only taken logins")  # unreachable: logins are unique

    # ---- generation

    def _window(self, login: str) -> tuple[date | None, date | None]:
        if login == self.former_login:
            return self.first_day, self._former_until
        seat = self.seat(login)
        return (None, None) if seat is None else (seat.uses_from, seat.uses_until)

    def _month(self, login: str, year: int, month: int) -> dict[date, list[CopilotUsage]]:
        key = (login, year, month)
        with self._lock:
            cached = self._months.get(key)
        if cached is not None:
            return cached
        start, until = self._window(login)
        allowance = self.units.included_per_month
        low, high = self.units.daily_range
        result: dict[date, list[CopilotUsage]] = {}
        first = date(year, month, 1)
        last = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
        for day in iter_days(max(first, self.first_day), last):
            if start is None or day < start or (until is not None and day > until):
                continue
            rng = random.Random(derive_seed("copilot-usage", self.seed, login, day.isoformat()))
            if rng.random() > (0.15 if day.weekday() >= 5 else 0.75):
                continue
            cells = []
            for model in sorted(rng.sample(MODELS, rng.randint(1, 2))):
                gross = rng.randint(low, high)
                discount = min(gross, allowance)
                allowance -= discount
                cells.append(CopilotUsage(day, login, model, gross, discount))
            result[day] = cells
        with self._lock:
            self._months[key] = result
        return result

    # ---- queries (tests and benches compute expected answers with these)

    def seat(self, login: str) -> CopilotSeat | None:
        return next((seat for seat in self.seats if seat.login == login), None)

    def seat_logins(self) -> list[str]:
        """The logins holding a seat, in the order the seats endpoint lists them."""
        return [seat.login for seat in self.seats]

    def usage_logins(self) -> list[str]:
        """Every login whose usage counts in the organization's totals: seats, then the former user."""
        return [*self.seat_logins(), self.former_login]

    def idle_logins(self) -> list[str]:
        """Seats with no usage in the last ``IDLE_MIN_DAYS`` days."""
        return [seat.login for seat in self.seats if seat.uses_from is None or seat.uses_until is not None]

    def public_emails(self) -> dict[str, str]:
        """login → email for the seats whose profile shows a public email."""
        return {seat.login: seat.email for seat in self.seats if seat.public_email}

    def usage(self, day: date, login: str | None = None) -> list[CopilotUsage]:
        """The cells of ``day`` (all logins, or one); nothing outside the dataset's days."""
        known = self.usage_logins()
        if day < self.first_day or day > self._clock.today or (login is not None and login not in known):
            return []
        logins = known if login is None else [login]
        return [cell for name in logins for cell in self._month(name, day.year, day.month).get(day, [])]

    def usage_between(self, first: date, last: date, login: str | None = None) -> list[CopilotUsage]:
        return [cell for day in iter_days(first, last) for cell in self.usage(day, login)]

    def active_days(self, login: str) -> list[date]:
        """The days (up to today) on which ``login`` used Copilot."""
        return sorted({cell.day for cell in self.usage_between(self.first_day, self._clock.today, login)})

    def net_cents(self, first: date, last: date, user: str | None = None, model: str | None = None) -> int:
        """What the report bills (``netAmount``) for ``first..last``, in cents, exactly."""
        cells = self.usage_between(first, last, user)
        return (
            sum(cell.net for cell in cells if model is None or cell.model == model) * self.units.price_cents
        )

    def gross_units(self, first: date, last: date, user: str | None = None) -> int:
        """Units used (``grossQuantity``) in ``first..last``."""
        return sum(cell.gross for cell in self.usage_between(first, last, user))

    def last_activity(self, login: str) -> datetime | None:
        """When the seat was last active: a time on its latest day of usage, never after now."""
        for day in reversed(self.active_days(login)):
            rng = random.Random(derive_seed("copilot-activity", self.seed, login, day.isoformat()))
            moment = day_start(day) + timedelta(hours=rng.randint(8, 19), minutes=rng.randint(0, 59))
            now = self._clock.now.replace(second=0, microsecond=0)
            if moment > now:  # today's activity happened before now
                moment = max(day_start(day), now - timedelta(minutes=rng.randint(1, 120)))
            return moment
        return None


# ----------------------------------------------------------------------------------- the server


class CopilotRequestStats(RequestStats):
    """Request counters plus the throttles, which a status alone cannot tell from permission 403s."""

    def __init__(self) -> None:
        super().__init__()
        self._throttles = {"primary": 0, "secondary": 0}

    def record_throttle(self, kind: str) -> None:
        with self._lock:
            self._throttles[kind] += 1

    @property
    def primary_throttled(self) -> int:
        with self._lock:
            return self._throttles["primary"]

    @property
    def secondary_throttled(self) -> int:
        with self._lock:
            return self._throttles["secondary"]

    @property
    def throttled(self) -> int:
        """Requests refused by either rate limit (answered 403 or 429)."""
        return self.primary_throttled + self.secondary_throttled

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._throttles = {"primary": 0, "secondary": 0}


class _Invalid(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _int_param(request: Request, name: str, default: int | None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise _Invalid(400, f"Invalid value for '{name}': {raw!r}") from None


def _paging(request: Request, default_per_page: int) -> tuple[int, int]:
    page = _int_param(request, "page", 1) or 1
    per_page = _int_param(request, "per_page", default_per_page)
    assert per_page is not None
    if per_page > 100:
        raise _Invalid(422, "per_page must be <= 100")
    if page < 1 or per_page < 1:
        raise _Invalid(422, "page and per_page must be positive")
    return page, per_page


class CopilotSimulator(AdminKeyControls):
    """GitHub's Copilot seats, usage reports and budgets on loopback; ``dataset`` is the ground truth.

    Controls a test may flip while the server runs: :meth:`revoke_key` / :meth:`restore_key`,
    ``missing_permission``, ``rate_limits_enabled``, ``rate_limit_status``,
    ``secondary_without_retry_after``, :meth:`reset_rate_limits`, :meth:`advance`, ``faults``.
    """

    def __init__(
        self,
        *,
        org: str = "acme",
        enterprise: str | None = None,
        mode: Mode = "ai_credit",
        team_size: int = 12,
        people: Sequence[tuple[str, str]] | None = None,
        days: int = 120,
        seed: int = 7,
        now: datetime | None = None,
        time_scale: float = 1.0,
        token: str | None = None,
        primary_per_hour: int = 5000,
        secondary_per_minute: int = 900,
        rate_limit_status: int = 403,
        rate_limits_enabled: bool = True,
        budget_amount: int | None = 500,
        prevent_further_usage: bool = True,
        budgets: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        if rate_limit_status not in (403, 429):
            raise ValueError("rate_limit_status must be 403 or 429")
        self.org = org
        self.enterprise = enterprise
        self.token = token or f"ghp_sim{derive_seed('copilot-token', seed):016x}"
        self.clock = SimClock(now, time_scale)
        self.dataset = CopilotDataset(
            clock=self.clock, seed=seed, people=people, team_size=team_size, days=days, mode=mode
        )
        self.rate_limits_enabled = rate_limits_enabled
        self.rate_limit_status = rate_limit_status
        self.secondary_without_retry_after = False
        self.missing_permission = False
        self.budget_amount = budget_amount
        self.prevent_further_usage = prevent_further_usage
        self.budgets = None if budgets is None else [dict(budget) for budget in budgets]
        self.faults = FaultInjector()
        self.stats = CopilotRequestStats()
        self._revoked = False
        self._primary = FixedWindowLimiter(primary_per_hour, self.clock.wall_seconds(3600.0))
        self._secondary = FixedWindowLimiter(secondary_per_minute, self.clock.wall_seconds(60.0))
        billing = "/settings/billing"
        routes = [
            Route("/orgs/{org}/copilot/billing/seats", self._endpoint(self._seats)),
            Route("/enterprises/{enterprise}/copilot/billing/seats", self._endpoint(self._seats)),
            Route("/organizations/{org}" + billing + "/{report}/usage", self._endpoint(self._usage)),
            Route("/enterprises/{enterprise}" + billing + "/{report}/usage", self._endpoint(self._usage)),
            Route("/organizations/{org}" + billing + "/budgets", self._endpoint(self._budgets)),
            Route("/enterprises/{enterprise}" + billing + "/budgets", self._endpoint(self._budgets)),
        ]
        self.app = Starlette(
            routes=routes,
            middleware=[
                Middleware(
                    SimulatorMiddleware,
                    faults=self.faults,
                    stats=self.stats,
                    error_response=github_error,
                    decorate=self._decorate,
                )
            ],
            exception_handlers=exception_handlers(lambda: github_error(404), lambda: github_error(404)),
        )

    # ---- controls

    @property
    def mode(self) -> Mode:
        """The account's plan: which usage report exists (the other answers 404)."""
        return self.dataset.mode

    def reset_rate_limits(self) -> None:
        """Both windows (AdminKeyControls knows one limiter): the hourly and the per-minute one."""
        self._primary.reset()
        self._secondary.reset()

    @property
    def primary_used(self) -> int:
        """Requests counted in the token's current hourly window."""
        return self._primary.used(self.token)

    # ---- plumbing

    @staticmethod
    def _token(headers: Mapping[str, str]) -> str:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        return token.strip() if scheme.lower() in ("bearer", "token") else ""

    def _rate_headers(self, decision: RateDecision) -> dict[str, str]:
        if not self.rate_limits_enabled:
            decision = RateDecision(True, decision.limit, decision.limit, self._primary.window_seconds)
        # A real instant (wall-clock epoch), as the limiter reads absolute instants: the window's end.
        reset = time.time() + max(0.0, decision.reset_in)
        return {
            "x-ratelimit-limit": str(decision.limit),
            "x-ratelimit-remaining": str(decision.remaining),
            "x-ratelimit-used": str(decision.limit - decision.remaining),
            "x-ratelimit-reset": str(math.ceil(reset)),
            "x-ratelimit-resource": "core",
        }

    def _decorate(self, scope: Scope, headers: MutableHeaders) -> None:
        """Answers that never reached a handler (faults, unknown routes) carry the headers too."""
        if "x-ratelimit-limit" in headers:
            return
        raw = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        for name, value in self._rate_headers(self._primary.peek(self._token(raw))).items():
            headers[name] = value

    def _throttle(self, token: str) -> tuple[Response | None, RateDecision]:
        """The throttle answer for this request (None: it may pass) and the primary window after it."""
        if not self.rate_limits_enabled:
            return None, self._primary.peek(token)
        primary = self._primary.peek(token)
        if not primary.allowed:
            self.stats.record_throttle("primary")
            return github_error(self.rate_limit_status, PRIMARY_MESSAGE), primary
        secondary = self._secondary.acquire(token)
        if not secondary.allowed:
            self.stats.record_throttle("secondary")
            response = github_error(self.rate_limit_status, SECONDARY_MESSAGE)
            if not self.secondary_without_retry_after:
                wait = max(1, math.ceil(self.clock.time_scale * secondary.reset_in))
                response.headers["retry-after"] = str(wait)
            return response, primary
        primary = self._primary.acquire(token)
        if not primary.allowed:
            self.stats.record_throttle("primary")
            return github_error(self.rate_limit_status, PRIMARY_MESSAGE), primary
        return None, primary

    def _endpoint(self, handler: Callable[[Request], Response]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            token = self._token(request.headers)
            version = request.headers.get("x-github-api-version")
            decision = self._primary.peek(token)
            if version is not None and version not in API_VERSIONS:
                message = f"Unsupported 'X-GitHub-Api-Version' header value: {version}"
                response = github_error(400, message, VERSIONS_DOCS_URL)
            elif self._revoked or not hmac.compare_digest(token.encode(), self.token.encode()):
                response = github_error(401)
            else:
                throttled, decision = self._throttle(token)
                if throttled is not None:
                    response = throttled
                elif self.missing_permission:
                    response = github_error(403, PERMISSION_MESSAGE)
                elif not self._known_account(request):
                    response = github_error(404)
                else:
                    try:
                        response = handler(request)
                    except _Invalid as error:
                        response = github_error(error.status, error.message)
            for name, value in self._rate_headers(decision).items():
                response.headers[name] = value
            return response

        return endpoint

    def _known_account(self, request: Request) -> bool:
        params = request.path_params
        if "enterprise" in params:
            return self.enterprise is not None and params["enterprise"] == self.enterprise
        return bool(params.get("org") == self.org)

    @staticmethod
    def _is_enterprise(request: Request) -> bool:
        return "enterprise" in request.path_params

    # ---- seats

    def _seats(self, request: Request) -> Response:
        page, per_page = _paging(request, 50)
        seats = self.dataset.seats
        chunk = seats[(page - 1) * per_page : page * per_page]
        enterprise = self._is_enterprise(request)
        body = {"total_seats": len(seats), "seats": [self._seat_json(seat, enterprise) for seat in chunk]}
        last_page = max(1, math.ceil(len(seats) / per_page))
        links = []
        base = str(request.url.replace(query=""))
        for rel, target in (("prev", page - 1), ("next", page + 1), ("last", last_page), ("first", 1)):
            if (rel in ("prev", "first") and page > 1) or (rel in ("next", "last") and page < last_page):
                query = urlencode({"page": target, "per_page": per_page})
                links.append(f'<{base}?{query}>; rel="{rel}"')
        headers = {"link": ", ".join(links)} if links else {}
        return json_response(body, headers=headers)

    def _seat_json(self, seat: CopilotSeat, enterprise: bool) -> dict[str, Any]:
        activity = self.dataset.last_activity(seat.login)
        editor = None
        if activity is not None:
            editor = "vscode/1.96.0/copilot/1.250.0" if seat.user_id % 3 else "JetBrains-IU/243.21565/1.5.30"
        body: dict[str, Any] = {
            "created_at": rfc3339(seat.created),
            "updated_at": rfc3339(seat.created + timedelta(days=1)),
            "pending_cancellation_date": (
                None if seat.pending_cancellation is None else seat.pending_cancellation.isoformat()
            ),
            "last_activity_at": None if activity is None else rfc3339(activity),
            "last_activity_editor": editor,
            "plan_type": "enterprise" if self.enterprise is not None else "business",
            "assignee": {
                "login": seat.login,
                "id": seat.user_id,
                "type": "User",
                "email": seat.email if seat.public_email else None,
            },
            "assigning_team": {"slug": "devs", "name": "Devs"} if seat.team else None,
        }
        if enterprise:
            body["organization"] = {"login": self.org}
        return body

    # ---- usage reports

    def _period(self, request: Request) -> tuple[int, int, int | None, date, date]:
        today = self.clock.today
        year = _int_param(request, "year", today.year)
        month = _int_param(request, "month", today.month)
        day = _int_param(request, "day", None)
        assert year is not None and month is not None
        if not 1 <= month <= 12:
            raise _Invalid(400, f"Invalid value for 'month': {month}")
        if day is not None and not 1 <= day <= 31:
            raise _Invalid(400, f"Invalid value for 'day': {day}")
        try:
            first = date(year, month, day or 1)
        except ValueError:
            raise _Invalid(400, "Invalid date") from None
        if first > today + timedelta(days=1):
            raise _Invalid(400, "The requested period is in the future")
        if year * 12 + month < today.year * 12 + today.month - 24:
            raise _Invalid(400, "Only data from the past 24 months is accessible")
        if day is not None:
            return year, month, day, first, first
        last = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
        return year, month, None, first, last

    def _usage(self, request: Request) -> Response:
        if request.path_params["report"] != self.mode:
            return github_error(404)
        year, month, day, first, last = self._period(request)
        params = request.query_params
        user, model = params.get("user"), params.get("model")
        enterprise = self._is_enterprise(request)
        cells = self.dataset.usage_between(first, last, user)
        excluded = self._matches_nothing(request, enterprise)
        totals: dict[str, list[int]] = {}
        for cell in cells:
            if excluded or (model is not None and cell.model != model):
                continue
            sums = totals.setdefault(cell.model, [0, 0])
            sums[0] += cell.gross
            sums[1] += cell.discount
        period: dict[str, int] = {"year": year, "month": month}
        if day is not None:
            period["day"] = day
        body: dict[str, Any] = {"timePeriod": period}
        if enterprise:
            body["enterprise"] = self.enterprise
        else:
            body["organization"] = self.org
        if user is not None:
            body["user"] = user
        body["usageItems"] = [self._item(name, *sums) for name, sums in sorted(totals.items())]
        return json_response(body)

    def _matches_nothing(self, request: Request, enterprise: bool) -> bool:
        """Filters no usage here satisfies: another product, another organization, any cost center
        (the simulated enterprise has one organization and no cost centers)."""
        params = request.query_params
        if params.get("product", PRODUCT) != PRODUCT:
            return True
        if not enterprise:
            return False
        return params.get("cost_center_id") is not None or params.get("organization", self.org) != self.org

    def _item(self, model: str, gross: int, discount: int) -> dict[str, Any]:
        units = self.dataset.units
        return {
            "product": PRODUCT,
            "sku": units.sku,
            "model": model,
            "unitType": units.unit_type,
            "pricePerUnit": RawNumber(units.price_literal),
            "grossQuantity": quantity(gross),
            "grossAmount": dollars(gross * units.price_cents),
            "discountQuantity": quantity(discount),
            "discountAmount": dollars(discount * units.price_cents),
            "netQuantity": quantity(gross - discount),
            "netAmount": dollars((gross - discount) * units.price_cents),
        }

    # ---- budgets

    def budget_list(self, enterprise: bool = False) -> list[dict[str, Any]]:
        """The budgets the organization (or enterprise) route lists: ``budgets`` if given, else the
        default Copilot budget (``budget_amount``; none when it is None) and an Actions budget."""
        if self.budgets is not None:
            return [dict(budget) for budget in self.budgets]
        scope = "enterprise" if enterprise else "organization"
        entity = self.enterprise if enterprise and self.enterprise else self.org
        found: list[dict[str, Any]] = []
        if self.budget_amount is not None:
            found.append(
                self._budget("copilot", scope, entity, self.budget_amount, self.prevent_further_usage)
            )
        found.append(self._budget("actions", scope, entity, 50, False))
        return found

    def _budget(self, sku: str, scope: str, entity: str, amount: int, stop: bool) -> dict[str, Any]:
        digest = f"{derive_seed('copilot-budget', self.dataset.seed, sku, scope):016x}"
        return {
            "id": f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-8000-{digest[:12]}",
            "budget_type": "ProductPricing",
            "budget_product_sku": sku,
            "budget_scope": scope,
            "budget_entity_name": entity,
            "budget_amount": amount,
            "prevent_further_usage": stop,
            "budget_alerting": {"will_alert": True, "alert_recipients": [self.dataset.seats[0].login]}
            if self.dataset.seats
            else {"will_alert": False, "alert_recipients": []},
        }

    def _budgets(self, request: Request) -> Response:
        page, per_page = _paging(request, 10)
        budgets = self.budget_list(self._is_enterprise(request))
        chunk = budgets[(page - 1) * per_page : page * per_page]
        return json_response(
            {"budgets": chunk, "has_next_page": page * per_page < len(budgets), "total_count": len(budgets)}
        )
