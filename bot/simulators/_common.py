"""Machinery shared by the vendor simulators.

Everything here exists so that the simulators behave like real, separately running services: a clock
that only moves when a test says so (deterministic data), rate-limit windows measured on the wall clock
(so a client really has to wait), faults that a test can switch on while the server runs in another
thread, request statistics, and JSON whose money values are exact decimal literals (a float artefact
such as ``21.359999999`` in a fake would hide rounding bugs in the client).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DAY_MS = 86_400_000


# --------------------------------------------------------------------------------------------- seeds


def derive_seed(*parts: object) -> int:
    """A 64-bit seed from any parts, stable across runs and machines (unlike ``hash()``)."""
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


# ---------------------------------------------------------------------------------------------- time


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch for an aware datetime (exact, no float rounding)."""
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return delta.days * DAY_MS + delta.seconds * 1000 + delta.microseconds // 1000


def from_epoch_ms(value: int) -> datetime:
    """The aware UTC datetime of an epoch-ms value (exact)."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=value)


def day_start(day: date) -> datetime:
    """00:00 UTC of ``day``."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


class SimClock:
    """Simulated "now" that only moves through :meth:`advance`, plus the wall-clock time scale.

    Data depends on simulated time only, so two runs see the same numbers; rate-limit windows use the
    wall clock divided by ``time_scale`` so that waiting for a "minute" is short in tests but real.
    """

    def __init__(self, now: datetime | None, time_scale: float) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        if now is None:
            now = datetime.now(UTC).replace(second=0, microsecond=0)
        elif now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        self._now = now.astimezone(UTC)
        self.time_scale = float(time_scale)
        self._lock = threading.Lock()

    @property
    def now(self) -> datetime:
        with self._lock:
            return self._now

    @property
    def now_ms(self) -> int:
        return epoch_ms(self.now)

    @property
    def today(self) -> date:
        return self.now.date()

    def advance(self, delta: timedelta) -> datetime:
        """Move simulated time forward (never backward: published data must not change)."""
        if delta < timedelta(0):
            raise ValueError("simulated time cannot go backwards")
        with self._lock:
            self._now = self._now + delta
            return self._now

    def wall_seconds(self, simulated_seconds: float) -> float:
        """How long ``simulated_seconds`` last on the wall clock."""
        return simulated_seconds / self.time_scale


# ------------------------------------------------------------------------------------------ json


class RawNumber:
    """A JSON number given by its exact literal (fast path for values kept as scaled integers)."""

    __slots__ = ("literal",)

    def __init__(self, literal: str) -> None:
        self.literal = literal

    def __repr__(self) -> str:
        return f"RawNumber({self.literal})"


_MARK_OPEN = "\x00\x01"
_MARK_CLOSE = "\x00"
_RAW_RE = re.compile(r'"\\u0000\\u0001(-?[0-9.]+)\\u0000"')


def plain(value: Decimal) -> Decimal:
    """``value`` without trailing zeros and without an exponent: 2E+3 → 2000, 21.360 → 21.36."""
    value = value.normalize()
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


def decimal_literal(value: Decimal) -> str:
    """Plain positional text for a finite Decimal, without exponent or trailing zeros."""
    if not value.is_finite():
        raise ValueError(f"cannot encode {value!r} as JSON")
    text = format(value.normalize(), "f")
    return "0" if text == "-0" else text


def micro_literal(micros: int) -> RawNumber:
    """``micros`` millionths as an exact literal: 2450125487 → ``2450.125487``, 21360000 → ``21.36``."""
    sign = "-" if micros < 0 else ""
    whole, frac = divmod(abs(micros), 1_000_000)
    if frac == 0:
        return RawNumber(f"{sign}{whole}")
    return RawNumber(f"{sign}{whole}.{frac:06d}".rstrip("0"))


def _default(obj: object) -> str:
    if isinstance(obj, Decimal):
        return _MARK_OPEN + decimal_literal(obj) + _MARK_CLOSE
    if isinstance(obj, RawNumber):
        return _MARK_OPEN + obj.literal + _MARK_CLOSE
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def dumps(obj: Any) -> bytes:
    """Compact JSON where Decimal and RawNumber values become exact number literals.

    The C encoder does the bulk of the work; decimals travel through it as marked strings that one
    regex pass turns back into bare numbers, so a 1,000-event page still serialises in about a
    millisecond.
    """
    text = json.dumps(obj, default=_default, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    if "\\u0000\\u0001" in text:
        text = _RAW_RE.sub(r"\1", text)
    return text.encode()


def loads_exact(raw: bytes | str) -> Any:
    """Parse JSON keeping non-integer numbers as Decimal (so re-serialising keeps their digits)."""
    return json.loads(raw, parse_float=Decimal)


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response built with :func:`dumps`."""
    return Response(
        dumps(body), status_code=status, headers=dict(headers or {}), media_type="application/json"
    )


class BodyError(ValueError):
    """The request body is not a JSON object."""


async def read_json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object (empty body → ``{}``); raises :class:`BodyError` otherwise."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = loads_exact(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyError("Invalid JSON body") from exc
    if not isinstance(body, dict):
        raise BodyError("Request body must be a JSON object")
    return body


# -------------------------------------------------------------------------------------- people

_FIRST = (
    "ana",
    "alex",
    "amir",
    "anika",
    "ben",
    "bruno",
    "carla",
    "chen",
    "chloe",
    "daniel",
    "diego",
    "dmitri",
    "elena",
    "emma",
    "fatima",
    "felix",
    "fiona",
    "gabriel",
    "grace",
    "hana",
    "hugo",
    "ines",
    "ivan",
    "jade",
    "jakob",
    "james",
    "julia",
    "kai",
    "karim",
    "kenji",
    "laura",
    "leila",
    "liam",
    "lucia",
    "maria",
    "marta",
    "mateo",
    "maya",
    "mei",
    "nadia",
    "nina",
    "noah",
    "olga",
    "omar",
    "oscar",
    "paula",
    "pedro",
    "priya",
    "rafael",
    "rania",
    "rosa",
    "ruth",
    "samir",
    "sara",
    "sofia",
    "tariq",
    "tomas",
    "uma",
    "valentina",
    "victor",
    "wei",
    "yara",
    "yusuf",
    "zoe",
    "aiko",
    "bilal",
    "camila",
    "dario",
    "esther",
    "farah",
    "goran",
    "helga",
    "isabel",
    "joao",
    "kofi",
    "lena",
    "marco",
    "nora",
    "pablo",
    "quinn",
    "ravi",
    "selin",
    "teo",
    "vera",
)
_LAST = (
    "silva",
    "smith",
    "garcia",
    "muller",
    "rossi",
    "kowalski",
    "nguyen",
    "kim",
    "tanaka",
    "okafor",
    "haddad",
    "novak",
    "petrov",
    "jensen",
    "martin",
    "bernard",
    "dubois",
    "costa",
    "santos",
    "oliveira",
    "fernandez",
    "lopez",
    "gonzalez",
    "perez",
    "sato",
    "suzuki",
    "wang",
    "li",
    "zhang",
    "chen",
    "patel",
    "shah",
    "khan",
    "ali",
    "ahmed",
    "hassan",
    "ibrahim",
    "cohen",
    "levi",
    "schmidt",
    "schneider",
    "fischer",
    "weber",
    "meyer",
    "wagner",
    "becker",
    "hoffmann",
    "kaya",
    "yilmaz",
    "demir",
    "popescu",
    "ionescu",
    "horvath",
    "nagy",
    "varga",
    "kovacs",
    "berg",
    "lindqvist",
    "nielsen",
    "hansen",
    "larsen",
    "johansson",
    "virtanen",
    "murphy",
    "kelly",
    "walsh",
    "byrne",
    "obrien",
    "moreau",
    "laurent",
    "ricci",
    "romano",
    "greco",
    "conti",
    "mendes",
    "ramos",
    "alves",
    "rocha",
    "ferreira",
)


def make_people(count: int, seed: int, domain: str = "example.com") -> list[tuple[str, str]]:
    """``count`` unique (display name, email) pairs such as ("Ana Silva", "ana.silva@example.com")."""
    rng = random.Random(derive_seed("people", seed, domain))
    taken: set[str] = set()
    people: list[tuple[str, str]] = []
    while len(people) < count:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        local = f"{first}.{last}"
        suffix = 1
        while local in taken:
            suffix += 1
            local = f"{first}.{last}{suffix}"
        taken.add(local)
        people.append((f"{first.capitalize()} {last.capitalize()}", f"{local}@{domain}"))
    return people


# ------------------------------------------------------------------------------------ rate limits


@dataclass(frozen=True, slots=True)
class RateDecision:
    """Outcome of one rate-limit check; ``reset_in`` is in wall-clock seconds."""

    allowed: bool
    limit: int
    remaining: int
    reset_in: float


class FixedWindowLimiter:
    """At most ``limit`` requests per key per window; the window opens at the first request after the
    previous one closed ("resets every minute").

    Windows that open on demand (rather than on wall-clock minute boundaries) make "N requests pass,
    the next one is refused" exact in tests, whatever moment the test starts at.
    """

    def __init__(
        self, limit: int, window_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}

    def _current(self, key: str, now: float) -> tuple[float, int]:
        start, used = self._windows.get(key, (now, 0))
        if now - start >= self.window_seconds:
            start, used = now, 0
        return start, used

    def acquire(self, key: str = "") -> RateDecision:
        """Count one request if the window has room."""
        with self._lock:
            now = self._clock()
            start, used = self._current(key, now)
            allowed = used < self.limit
            if allowed:
                used += 1
            self._windows[key] = (start, used)
            return RateDecision(
                allowed, self.limit, max(0, self.limit - used), start + self.window_seconds - now
            )

    def peek(self, key: str = "") -> RateDecision:
        """The state of ``key``'s window without counting a request."""
        with self._lock:
            now = self._clock()
            start, used = self._current(key, now)
            return RateDecision(
                used < self.limit, self.limit, max(0, self.limit - used), start + self.window_seconds - now
            )

    def used(self, key: str = "") -> int:
        """Requests counted in ``key``'s current window."""
        return self.limit - self.peek(key).remaining

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()


class DailyQuota:
    """Requests per key per simulated UTC day (the quota renews when simulated time crosses midnight)."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, date], int] = {}

    def used(self, key: str, day: date) -> int:
        with self._lock:
            return self._counts.get((key, day), 0)

    def acquire(self, key: str, day: date, enforce: bool = True) -> bool:
        """Count one request unless the quota is spent (``enforce=False``: always count)."""
        with self._lock:
            used = self._counts.get((key, day), 0)
            if enforce and self.limit is not None and used >= self.limit:
                return False
            self._counts[(key, day)] = used + 1
            return True

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


# ------------------------------------------------------------------------------------------ stats


class RequestStats:
    """Thread-safe request counters, by (method, path, status)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, int]] = Counter()

    def record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self._counts[(method, path, status)] += 1

    @property
    def requests_total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    @property
    def rate_limited(self) -> int:
        """Number of 429 answers."""
        return self.count(status=429)

    @property
    def not_modified(self) -> int:
        """Number of 304 answers."""
        return self.count(status=304)

    def count(self, path: str | None = None, status: int | None = None, method: str | None = None) -> int:
        """Requests matching all the given criteria (``path`` matches like fault paths do)."""
        with self._lock:
            items = list(self._counts.items())
        return sum(
            n
            for (m, p, s), n in items
            if (path is None or path_matches(path, p))
            and (status is None or s == status)
            and (method is None or m == method.upper())
        )

    def by_route(self) -> dict[tuple[str, str, int], int]:
        """A copy of every counter."""
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


# ----------------------------------------------------------------------------------------- faults


def path_matches(pattern: str, path: str) -> bool:
    """``pattern`` names ``path`` exactly or as its last segments: ``/teams/spend``, ``UsageConfig``.

    ``"UsageConfig"`` matches ``/api/v1/UsageConfig`` but not ``/api/v1/GetUsageConfig``.
    """
    if pattern == path:
        return True
    suffix = pattern if pattern.startswith("/") else "/" + pattern
    return path.endswith(suffix)


@dataclass
class _Rule:
    kind: str
    remaining: int | None
    path: str | None
    status: int = 0
    seconds: float = 0.0
    old: str = ""
    new: str = ""

    def applies_to(self, path: str) -> bool:
        return self.path is None or path_matches(self.path, path)


@dataclass(frozen=True, slots=True)
class FaultAction:
    """What to do to one request: delay it, fail it, or answer garbage."""

    delay: float = 0.0
    fail_status: int | None = None
    malformed: bool = False


class FaultInjector:
    """Faults that tests switch on while the server runs in another thread.

    ``times`` counts matching requests (``None`` = until :meth:`clear`); ``path`` limits a fault to one
    endpoint (see :func:`path_matches`). Failures and garbage bodies are produced before the simulator
    looks at the request, like a proxy in front of the vendor would, so they consume no rate limit.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []

    @staticmethod
    def _check_times(times: int | None) -> None:
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")

    def fail(self, status: int = 500, times: int | None = 1, path: str | None = None) -> None:
        """Answer the next ``times`` matching requests with ``status`` and the vendor's error body."""
        self._check_times(times)
        with self._lock:
            self._rules.append(_Rule("fail", times, path, status=status))

    def slow(self, seconds: float, times: int | None = 1, path: str | None = None) -> None:
        """Delay the next ``times`` matching responses by ``seconds`` of wall-clock time."""
        self._check_times(times)
        with self._lock:
            self._rules.append(_Rule("slow", times, path, seconds=seconds))

    def malformed(self, times: int | None = 1, path: str | None = None) -> None:
        """Answer the next ``times`` matching requests with a 200 whose body is not valid JSON."""
        self._check_times(times)
        with self._lock:
            self._rules.append(_Rule("malformed", times, path))

    def rename_field(self, old: str, new: str, times: int | None = None, path: str | None = None) -> None:
        """Rename JSON key ``old`` to ``new`` (at any depth) in response bodies: schema drift.

        ``times`` counts responses in which the key was actually found.
        """
        self._check_times(times)
        with self._lock:
            self._rules.append(_Rule("rename", times, path, old=old, new=new))

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._rules.clear()

    @property
    def active(self) -> bool:
        with self._lock:
            return bool(self._rules)

    def _consume(self, rule: _Rule) -> None:
        if rule.remaining is not None:
            rule.remaining -= 1
            if rule.remaining <= 0:
                self._rules.remove(rule)

    def take(self, path: str) -> FaultAction:
        """Decide (and count) the faults for one request to ``path``."""
        with self._lock:
            delay = 0.0
            fail: int | None = None
            malformed = False
            for rule in list(self._rules):
                if not rule.applies_to(path):
                    continue
                if rule.kind == "slow" and delay == 0.0:
                    delay = rule.seconds
                    self._consume(rule)
                elif rule.kind == "fail" and fail is None and not malformed:
                    fail = rule.status
                    self._consume(rule)
                elif rule.kind == "malformed" and fail is None and not malformed:
                    malformed = True
                    self._consume(rule)
            return FaultAction(delay, fail, malformed)

    def wants_rename(self, path: str) -> bool:
        with self._lock:
            return any(rule.kind == "rename" and rule.applies_to(path) for rule in self._rules)

    def apply_renames(self, path: str, body: Any) -> bool:
        """Rename keys in ``body`` in place; True if anything changed."""
        with self._lock:
            changed = False
            for rule in [r for r in self._rules if r.kind == "rename" and r.applies_to(path)]:
                if _rename(body, rule.old, rule.new):
                    changed = True
                    self._consume(rule)
            return changed


def _rename(node: Any, old: str, new: str) -> bool:
    found = False
    if isinstance(node, dict):
        for key in list(node):
            found = _rename(node[key], old, new) or found
        if old in node:
            # Keep the key's position so the body still looks natural.
            items = [(new if k == old else k, v) for k, v in node.items()]
            node.clear()
            node.update(items)
            found = True
    elif isinstance(node, list):
        for item in node:
            found = _rename(item, old, new) or found
    return found


# ------------------------------------------------------------------------------------- middleware

MALFORMED_BODY = b'{"data": [{"id": 1, "value": 12.5}, {"id": 2, "val'


class SimulatorMiddleware:
    """Applies faults, schema-drift renames and request statistics around a simulator's routes.

    Statistics are recorded before the response is sent, so a test that has just read a response can
    rely on the counters. ``decorate`` lets a simulator add headers every response must carry (the
    generic REST API sends rate-limit headers even on errors and injected faults).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        faults: FaultInjector,
        stats: RequestStats,
        error_response: Callable[[int], Response],
        decorate: Callable[[Scope, MutableHeaders], None] | None = None,
    ) -> None:
        self.app = app
        self.faults = faults
        self.stats = stats
        self.error_response = error_response
        self.decorate = decorate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        action = self.faults.take(path)
        if action.delay > 0:
            await asyncio.sleep(action.delay)
        if action.fail_status is not None or action.malformed:
            if action.fail_status is not None:
                response = self.error_response(action.fail_status)
            else:
                response = Response(MALFORMED_BODY, status_code=200, media_type="application/json")
            if self.decorate is not None:
                self.decorate(scope, response.headers)
            self.stats.record(method, path, response.status_code)
            await response(scope, receive, send)
            return

        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        status: int = start.get("status", 500)
        headers = MutableHeaders(raw=list(start.get("headers", [])))
        body = b"".join(chunks)
        if (
            body
            and self.faults.wants_rename(path)
            and headers.get("content-type", "").startswith("application/json")
        ):
            try:
                parsed = loads_exact(body)
            except ValueError:
                parsed = None
            if parsed is not None and self.faults.apply_renames(path, parsed):
                body = dumps(parsed)
                headers["content-length"] = str(len(body))
        if self.decorate is not None:
            self.decorate(scope, headers)
        self.stats.record(method, path, status)
        await send({"type": "http.response.start", "status": status, "headers": headers.raw})
        await send({"type": "http.response.body", "body": body})


def exception_handlers(
    not_found: Callable[[], Response], method_not_allowed: Callable[[], Response]
) -> dict[Any, Callable[[Request, Exception], Awaitable[Response]]]:
    """Starlette exception handlers that answer unknown routes in the vendor's error shape."""

    async def on_404(request: Request, exc: Exception) -> Response:
        return not_found()

    async def on_405(request: Request, exc: Exception) -> Response:
        return method_not_allowed()

    return {404: on_404, 405: on_405}


def iter_days(first: date, last: date) -> Iterable[date]:
    """Every date from ``first`` to ``last`` inclusive."""
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def month_cycle(anchor_day: int, today: date) -> tuple[date, date]:
    """The monthly billing cycle containing ``today`` that starts on day ``anchor_day`` of a month."""
    if not 1 <= anchor_day <= 28:
        raise ValueError("cycle day must be between 1 and 28")
    year, month = today.year, today.month
    if today.day < anchor_day:
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    start = date(year, month, anchor_day)
    end = date(year + 1, 1, anchor_day) if month == 12 else date(year, month + 1, anchor_day)
    return start, end


def rfc3339(moment: datetime, micros: bool = False) -> str:
    """``2025-06-01T00:00:00Z`` (optionally with microseconds)."""
    moment = moment.astimezone(UTC)
    if micros:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class AdminKeyControls:
    """The controls of a simulated admin API with one key and a rate limit (OpenAI, Anthropic, Copilot).

    The subclass sets ``clock``, ``admin_key``, ``rate_limits_enabled`` and ``_limiter`` in its
    ``__init__``; tests move the clock, revoke the key and reset the limit through these.
    """

    clock: SimClock
    admin_key: str
    rate_limits_enabled: bool
    _limiter: FixedWindowLimiter
    _revoked: bool = False

    @property
    def now(self) -> datetime:
        return self.clock.now

    def advance(self, delta: timedelta) -> datetime:
        return self.clock.advance(delta)

    def revoke_key(self) -> None:
        """From now on the admin key answers 401."""
        self._revoked = True

    def restore_key(self) -> None:
        self._revoked = False

    def reset_rate_limits(self) -> None:
        self._limiter.reset()

    def _retry_after(self) -> int | None:
        """Seconds (vendor time) to wait when this request is over the limit; None when it may pass."""
        if not self.rate_limits_enabled:
            return None
        decision = self._limiter.acquire(self.admin_key)
        if decision.allowed:
            return None
        return max(1, int(self.clock.time_scale * decision.reset_in + 0.999))
