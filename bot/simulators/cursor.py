"""A simulator of Cursor's Admin and Analytics APIs, as documented (project reference: cursor-api.md).

It serves the documented paths and shapes in three doc eras (``schema="old" | "middle" | "newest"``),
enforces the documented per-team rate limits with the documented 429 body (and no Retry-After), and
exposes its ground truth through :attr:`CursorSimulator.dataset` so tests can compute the expected
figures independently of the bot's HTTP client.

How events are priced (so tests can recompute any total from the tokens)::

    prices are integer micro-cents (µ¢ = 1e-6 cent) per token = dollars per million tokens × 100
    totalCents     = (input·p_in + output·p_out + cacheWrite·p_cw + cacheRead·p_cr) / 1e6   [MODELS]
    cursorTokenFee = (input + output + cacheWrite + cacheRead) · 25 µ¢ / 1e6  (not for "auto")
    chargedCents   = totalCents + cursorTokenFee      (= cost_cents, the same figure in every schema)
    "Errored, Not Charged" events keep their tokens but cost 0; events without tokenUsage
    (isTokenBasedCall false) cost 0 and count ``requestsCosts`` request units (fastPremiumRequests).

An event is "Included in Business" while the user's cycle-to-date charged total *before* it is below
``included_cents_per_user`` (2,000 by default) and "Usage-based" (isChargeable) afterwards, so in the
newest schema ``spendCents`` (on-demand) = the sum of chargedCents of Usage-based events this cycle and
``overallSpendCents`` = the sum of every event's chargedCents this cycle. Old and middle schemas report
``spendCents`` = that overall total rounded half-even to whole cents.

Data is generated per UTC day with a NumPy generator seeded by (seed, day), vectorised over users, so a
day's events do not depend on which other days were generated first, and 2,000 users × 90 days generate
in a few seconds into compact arrays.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.simulators._common import (
    DAY_MS,
    BodyError,
    FaultInjector,
    FixedWindowLimiter,
    RequestStats,
    SimClock,
    SimulatorMiddleware,
    day_start,
    derive_seed,
    dumps,
    epoch_ms,
    exception_handlers,
    from_epoch_ms,
    json_response,
    make_people,
    micro_literal,
    month_cycle,
    plain,
    read_json_body,
)

Schema = Literal["old", "middle", "newest"]
Array = npt.NDArray[Any]

_MICRO = 1_000_000
_TOKEN_FEE_MICROCENTS = 25  # Cursor Token Rate: $0.25 per million tokens


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """Per-token prices in micro-cents (= dollars per million tokens × 100)."""

    name: str
    input: int
    output: int
    cache_write: int
    cache_read: int
    token_fee: bool


MODELS: tuple[ModelPrice, ...] = (
    ModelPrice("claude-4.5-sonnet", 300, 1500, 375, 30, True),
    ModelPrice("gpt-5", 125, 1000, 125, 13, True),
    ModelPrice("claude-4.1-opus", 1500, 7500, 1875, 150, True),
    ModelPrice("gemini-2.5-pro", 125, 1000, 163, 31, True),
    ModelPrice("auto", 125, 600, 125, 25, False),
)
_MODEL_NAMES = [m.name for m in MODELS]
_PRICE_TABLE = np.array([[m.input, m.output, m.cache_write, m.cache_read] for m in MODELS], dtype=np.int64)
_FEE_MASK = np.array([m.token_fee for m in MODELS])
_AUTO = _MODEL_NAMES.index("auto")

KIND_INCLUDED = "Included in Business"
KIND_USAGE = "Usage-based"
KIND_ERRORED = "Errored, Not Charged"
_KINDS = (KIND_INCLUDED, KIND_USAGE, KIND_ERRORED)

FEATURES = ("agent", "chat", "composer", "cmdk", "cli", "cloud-agent", "bugbot")
_FEATURE_P = np.array([0.58, 0.12, 0.10, 0.08, 0.05, 0.04, 0.03])
_HEADLESS = np.array([False, False, False, False, True, True, True])
_HEADLESS_L = _HEADLESS.tolist()
_BOOL = ("false", "true")
_EDITS = np.array([True, False, True, True, True, True, False])
_AGENT_LIKE = np.array([True, False, False, False, True, True, False])

# Model preference profiles (weights over MODELS) and how common each profile is.
_PROFILES = np.array(
    [
        [0.55, 0.15, 0.05, 0.05, 0.20],
        [0.15, 0.55, 0.03, 0.07, 0.20],
        [0.15, 0.10, 0.00, 0.05, 0.70],
        [0.35, 0.10, 0.30, 0.05, 0.20],
    ]
)
_PROFILE_CUM = np.cumsum(_PROFILES, axis=1)
_PROFILE_P = (0.40, 0.30, 0.22, 0.08)

# Home offsets (minutes east of UTC) and their weights: activity follows local office hours.
_OFFSETS = (-480, -300, -180, 0, 60, 120, 330, 480, 540, 600)
_OFFSET_W = (18, 22, 6, 12, 16, 5, 10, 4, 4, 3)
_HOUR_CURVE = np.array(
    [
        *[0.02, 0.01, 0.01, 0.01, 0.01, 0.02, 0.05, 0.15, 0.45, 0.85, 1.0, 1.0],
        *[0.7, 0.8, 1.0, 1.0, 0.9, 0.7, 0.4, 0.25, 0.2, 0.18, 0.12, 0.05],
    ]
)
_HOUR_CURVE = _HOUR_CURVE / _HOUR_CURVE.sum()
_WEEKEND_FACTOR = 0.12

_FLAG_MAX, _FLAG_TOKEN, _FLAG_ERRORED, _FLAG_ACCEPTED = 1, 2, 4, 8
_EXTENSIONS = (".ts", ".py", ".go", ".tsx", ".rs", ".java", ".kt", ".rb")
_CLIENT_VERSIONS = ("1.6.45", "1.7.28", "1.7.33", "2.0.11", "2.0.34")

# Rate limits per team per minute, by endpoint class and schema.
_LIMITS: dict[str, dict[str, int]] = {
    "old": {"members": 20, "spend": 20, "daily": 20, "events": 20, "spend_limit": 60},
    "middle": {"members": 20, "spend": 20, "daily": 20, "events": 20, "spend_limit": 60},
    "newest": {"members": 20, "spend": 20, "daily": 20, "events": 60, "spend_limit": 250},
}
_ANALYTICS_LIMITS = {"analytics_team": 100, "analytics_user": 50}

_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_MESSAGES = {
    401: "Invalid API key",
    403: "Enterprise access required",
    404: "Resource not found",
    405: "Method not allowed",
    429: "Rate limit exceeded. Please try again later.",
    500: "An unexpected error occurred",
    502: "Bad gateway",
    503: "Service temporarily unavailable",
    504: "Gateway timeout",
}
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def cursor_error(status: int, message: str | None = None) -> Response:
    """Cursor's documented error body: ``{"error": <HTTP reason>, "message": <text>}``."""
    reason = _REASONS.get(status, "Error")
    return json_response({"error": reason, "message": message or _MESSAGES.get(status, reason)}, status)


def _cents(micros: int) -> Decimal:
    return plain(Decimal(micros).scaleb(-6))


def _ms_window(start: datetime, end: datetime) -> tuple[int, int]:
    """Inclusive epoch-ms bounds of the half-open window [start, end) (sub-ms parts rounded inward)."""
    first = epoch_ms(start) + (1 if start.microsecond % 1000 else 0)
    last = epoch_ms(end) - (0 if end.microsecond % 1000 else 1)
    return first, last


def _isum(index: Array, values: Array, size: int) -> Array:
    """Exact per-index sums of integer values (float64 partial sums stay below 2**53 here)."""
    if len(index) == 0:
        return np.zeros(size, dtype=np.int64)
    return np.bincount(index, weights=values.astype(np.float64), minlength=size).round().astype(np.int64)


# ------------------------------------------------------------------------------------------ records


@dataclass(frozen=True, slots=True)
class CursorMember:
    """One team member. ``user_id`` is what this schema's /teams/members shows (None in "old")."""

    index: int
    email: str
    name: str
    role: str
    numeric_id: int
    encoded_id: str
    user_id: int | str | None
    joined: date
    removed_on: date | None
    tz: timezone
    heavy: bool

    @property
    def removed(self) -> bool:
        return self.removed_on is not None


@dataclass(frozen=True, slots=True)
class CursorEvent:
    """One usage event as the ground truth sees it (``cost_cents`` is what the bot should count)."""

    timestamp: datetime
    timestamp_ms: int
    email: str
    model: str
    kind: str
    feature: str
    max_mode: bool
    token_based: bool
    chargeable: bool
    headless: bool
    input_tokens: int
    output_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    total_cents: Decimal
    cursor_token_fee: Decimal
    cost_cents: Decimal
    requests_costs: Decimal


class _Day:
    """One UTC day's events, sorted by timestamp, as parallel arrays (about 60 bytes per event)."""

    __slots__ = (
        "charged",
        "feature",
        "fee",
        "flags",
        "full",
        "kind",
        "lines_add",
        "lines_del",
        "model",
        "ordinal",
        "req",
        "start_ms",
        "tokens",
        "total",
        "ts",
        "user",
        "user_cost",
    )

    def __init__(self, ordinal: int, start_ms: int) -> None:
        self.ordinal = ordinal
        self.start_ms = start_ms
        self.ts: Array = np.zeros(0, dtype=np.int64)
        self.user: Array = np.zeros(0, dtype=np.int32)
        self.model: Array = np.zeros(0, dtype=np.int8)
        self.feature: Array = np.zeros(0, dtype=np.int8)
        self.flags: Array = np.zeros(0, dtype=np.uint8)
        self.tokens: Array = np.zeros((0, 4), dtype=np.int32)
        self.total: Array = np.zeros(0, dtype=np.int64)
        self.fee: Array = np.zeros(0, dtype=np.int64)
        self.charged: Array = np.zeros(0, dtype=np.int64)
        self.req: Array = np.zeros(0, dtype=np.int32)
        self.lines_add: Array = np.zeros(0, dtype=np.int32)
        self.lines_del: Array = np.zeros(0, dtype=np.int32)
        self.kind: Array | None = None
        self.user_cost: Array = np.zeros(0, dtype=np.int64)
        self.full: _Agg | None = None

    def __len__(self) -> int:
        return len(self.ts)


@dataclass(slots=True)
class _Agg:
    """Per-user aggregates of a prefix of one day's events."""

    events: Array
    cost: Array
    usage: Array
    fast: Array
    feature: Array  # (users, features)
    model: Array  # (users, models)
    included: Array
    usage_based: Array
    applies: Array
    accepts: Array
    lines_add: Array
    lines_del: Array
    acc_add: Array
    acc_del: Array
    columns: dict[str, list[int]] | None = None


# ------------------------------------------------------------------------------------------ dataset


class CursorDataset:
    """The simulator's ground truth. Everything reflects what is *visible* at the clock's ``now``."""

    def __init__(
        self,
        *,
        clock: SimClock,
        team_size: int,
        days: int,
        seed: int,
        schema: Schema,
        events_per_user_day: float,
        late_minutes: int,
        cycle_day: int,
        included_cents_per_user: int,
    ) -> None:
        if team_size < 1:
            raise ValueError("team_size must be >= 1")
        if days < 1:
            raise ValueError("days must be >= 1")
        self._clock = clock
        self.seed = seed
        self.schema: Schema = schema
        self.events_per_user_day = events_per_user_day
        self.late_minutes = late_minutes
        self.cycle_day = cycle_day
        self.included_micros = included_cents_per_user * _MICRO
        self.first_day = clock.today - timedelta(days=days - 1)
        self.team_id = 10_000 + derive_seed("cursor-team", seed) % 90_000
        self._lock = threading.RLock()
        self._days: dict[int, _Day] = {}
        self._build_members(team_size)

    # ---- members

    def _build_members(self, team_size: int) -> None:
        rng = random.Random(derive_seed("cursor-members", self.seed))
        people = make_people(team_size, self.seed, "example.com")
        today = self._clock.today
        span = (today - self.first_day).days
        owners = 1 if team_size < 10 else 2
        candidates = list(range(owners, team_size))
        n_removed = 0 if self.schema == "old" or team_size < 8 else max(1, team_size // 40)
        removed = set(rng.sample(candidates, n_removed))
        rest = [i for i in candidates if i not in removed]
        late = set(rng.sample(rest, min(len(rest), team_size // 50)))
        numeric_ids = sorted(rng.sample(range(1_000_000, 9_999_999), team_size))
        heavy_count = max(1, round(team_size * 0.04)) if team_size >= 10 else 0
        heavy = set(rng.sample(range(team_size), heavy_count))
        members: list[CursorMember] = []
        offsets: list[int] = []
        activity: list[float] = []
        profile: list[int] = []
        self._monthly_limit: list[int | None] = []
        self._override: list[int] = []
        self._client_version: list[str] = []
        self._extension: list[str] = []
        feature_ok: list[list[bool]] = []
        for i, (name, email) in enumerate(people):
            offset = rng.choices(_OFFSETS, _OFFSET_W)[0]
            if i in late:
                joined = today - timedelta(days=rng.randint(0, max(0, span // 2)))
            else:
                joined = self.first_day - timedelta(days=rng.randint(30, 700))
            removed_on = None
            if i in removed:
                removed_on = min(
                    today, self.first_day + timedelta(days=rng.randint(1, max(1, span * 2 // 3)))
                )
            digest = hashlib.sha256(f"cursor-user:{self.seed}:{email}".encode()).hexdigest()
            encoded = "user_" + base64.b32encode(bytes.fromhex(digest[:30])).decode().rstrip("=")
            user_id: int | str | None = {"old": None, "middle": numeric_ids[i], "newest": encoded}[
                self.schema
            ]
            members.append(
                CursorMember(
                    index=i,
                    email=email,
                    name=name,
                    role="owner" if i < owners else "member",
                    numeric_id=numeric_ids[i],
                    encoded_id=encoded,
                    user_id=user_id,
                    joined=joined,
                    removed_on=removed_on,
                    tz=timezone(timedelta(minutes=offset)),
                    heavy=i in heavy,
                )
            )
            offsets.append(offset)
            activity.append(rng.lognormvariate(0.0, 0.45) * (4.0 if i in heavy else 1.0))
            profile.append(rng.choices(range(len(_PROFILE_P)), _PROFILE_P)[0])
            self._monthly_limit.append(rng.choices([None, 50, 100, 200, 500], [45, 15, 20, 15, 5])[0])
            self._override.append(1000 if rng.random() < 0.05 else 0)
            self._client_version.append(rng.choice(_CLIENT_VERSIONS))
            self._extension.append(rng.choice(_EXTENSIONS))
            # Only some people use the CLI, cloud agents or Bugbot at all.
            feature_ok.append(
                [True, True, True, True, rng.random() < 0.3, rng.random() < 0.2, rng.random() < 0.35]
            )
        self.members: tuple[CursorMember, ...] = tuple(members)
        self._by_email = {m.email.lower(): m for m in members}
        self._by_numeric = {m.numeric_id: m for m in members}
        self._by_encoded = {m.encoded_id: m for m in members}
        self._offsets = np.array(offsets, dtype=np.int64)
        self._activity = np.array(activity)
        self._profile = np.array(profile, dtype=np.int64)
        self._joined = np.array([m.joined.toordinal() for m in members], dtype=np.int64)
        self._removed = np.array(
            [m.removed_on.toordinal() if m.removed_on else 10**9 for m in members], dtype=np.int64
        )
        self._feature_ok = np.array(feature_ok, dtype=bool)
        self._emails = [m.email for m in members]
        self._emails_json = [json.dumps(m.email) for m in members]

    @property
    def n_users(self) -> int:
        return len(self.members)

    def member(self, email: str) -> CursorMember:
        """The member with this email (case-insensitive); KeyError if none."""
        return self._by_email[email.lower()]

    def find_member(self, email: str) -> CursorMember | None:
        return self._by_email.get(email.lower())

    def member_by_id(self, user_id: int | str) -> CursorMember | None:
        if isinstance(user_id, int):
            return self._by_numeric.get(user_id)
        return self._by_encoded.get(user_id)

    def user_tz(self, email: str) -> timezone:
        """The member's home UTC offset (their activity follows office hours there)."""
        return self.member(email).tz

    # ---- limits

    def monthly_limit_dollars(self, email: str) -> int | None:
        with self._lock:
            return self._monthly_limit[self.member(email).index]

    def hard_limit_override_dollars(self, email: str) -> int:
        with self._lock:
            return self._override[self.member(email).index]

    def limit_dollars(self, email: str) -> int | None:
        """The effective per-user limit: the hard override when set (non-zero), else the monthly limit."""
        with self._lock:
            index = self.member(email).index
            return self._override[index] or self._monthly_limit[index]

    def set_limit_dollars(self, email: str, dollars: int | None) -> None:
        """What POST /teams/user-spend-limit does: set (or, with None, remove) the user's monthly limit.

        An admin's hard override is a separate dashboard setting, so it is cleared too (the API call
        is the latest word on the user's limit).
        """
        with self._lock:
            index = self.member(email).index
            self._monthly_limit[index] = dollars
            self._override[index] = 0

    # ---- time

    @property
    def now(self) -> datetime:
        return self._clock.now

    @property
    def cutoff_ms(self) -> int:
        """The newest visible timestamp (ms): ``now`` minus the late-data delay."""
        return self._clock.now_ms - self.late_minutes * 60_000

    def _cycle_dates(self) -> tuple[date, date]:
        return month_cycle(self.cycle_day, self._clock.today)

    @property
    def cycle_start(self) -> datetime:
        return day_start(self._cycle_dates()[0])

    @property
    def cycle_end(self) -> datetime:
        return day_start(self._cycle_dates()[1])

    # ---- generation

    def _raw_day(self, ordinal: int) -> _Day:
        with self._lock:
            day = self._days.get(ordinal)
            if day is None:
                day = self._generate(ordinal)
                self._days[ordinal] = day
            return day

    def _generate(self, ordinal: int) -> _Day:
        the_day = date.fromordinal(ordinal)
        day = _Day(ordinal, epoch_ms(day_start(the_day)))
        if ordinal < self.first_day.toordinal():
            day.user_cost = np.zeros(self.n_users, dtype=np.int64)
            return day
        n = self.n_users
        rng = np.random.default_rng([derive_seed("cursor-day", self.seed), ordinal])
        # Expected events per (user, UTC hour): office-hours curve in the user's local time.
        local_minutes = np.arange(24)[None, :] * 60 + 30 + self._offsets[:, None]
        shift = np.floor_divide(local_minutes, 1440)
        local_hour = np.mod(local_minutes, 1440) // 60
        weekday = np.mod(the_day.weekday() + shift, 7)
        curve = _HOUR_CURVE[local_hour] * np.where(weekday >= 5, _WEEKEND_FACTOR, 1.0)
        day_factor = rng.gamma(4.0, 0.25, n) * (rng.random(n) >= 0.04)
        member = (self._joined <= ordinal) & (self._removed > ordinal)
        lam = curve * (self.events_per_user_day * self._activity * day_factor * member)[:, None]
        counts = rng.poisson(lam)
        flat = np.repeat(np.arange(n * 24), counts.ravel())
        total = len(flat)
        user = (flat // 24).astype(np.int32)
        ts = day.start_ms + (flat % 24) * 3_600_000 + rng.integers(0, 3_600_000, total)
        order = np.argsort(ts, kind="stable")
        ts, user = ts[order], user[order]
        model = (rng.random(total)[:, None] >= _PROFILE_CUM[self._profile[user]]).sum(axis=1)
        model = np.minimum(model, len(MODELS) - 1).astype(np.int8)
        feature = rng.choice(len(FEATURES), total, p=_FEATURE_P)
        feature = np.where(self._feature_ok[user, feature], feature, 0).astype(np.int8)
        token_based = rng.random(total) >= 0.07
        errored = token_based & (rng.random(total) < 0.03)
        max_mode = (rng.random(total) < 0.08) & (model != _AUTO)
        boost = np.where(max_mode, 2.5, 1.0)
        raw_tokens = np.stack(
            [
                rng.lognormal(np.log(900), 0.9, total),
                rng.lognormal(np.log(1100), 0.8, total),
                rng.lognormal(np.log(7000), 1.1, total) * (rng.random(total) < 0.75),
                rng.lognormal(np.log(35000), 1.1, total) * (rng.random(total) < 0.85),
            ],
            axis=1,
        )
        tokens = np.minimum(raw_tokens * boost[:, None], 2_000_000).astype(np.int64) * token_based[:, None]
        tokens[:, 0] = np.maximum(tokens[:, 0], token_based.astype(np.int64))
        priced = token_based & ~errored
        cost = (tokens * _PRICE_TABLE[model]).sum(axis=1) * priced
        fee = tokens.sum(axis=1) * _TOKEN_FEE_MICROCENTS * (priced & _FEE_MASK[model])
        charged = cost + fee
        req = np.where(priced, np.maximum(1, np.rint(charged / 400_000)), 0)
        req = np.where(token_based, req, np.where(max_mode, 20, 10)).astype(np.int32)
        accepted = rng.random(total) < 0.75
        edits = _EDITS[feature] & ~errored
        lines_add = (rng.lognormal(np.log(25), 1.0, total) * edits).astype(np.int32)
        lines_del = (lines_add * rng.random(total) * 0.6).astype(np.int32)
        day.ts = ts.astype(np.int64)
        day.user = user
        day.model = model
        day.feature = feature
        day.flags = (
            max_mode * _FLAG_MAX
            + token_based * _FLAG_TOKEN
            + errored * _FLAG_ERRORED
            + accepted * _FLAG_ACCEPTED
        ).astype(np.uint8)
        day.tokens = tokens.astype(np.int32)
        day.total = cost.astype(np.int64)
        day.fee = fee.astype(np.int64)
        day.charged = charged.astype(np.int64)
        day.req = req
        day.lines_add = lines_add
        day.lines_del = lines_del
        day.user_cost = _isum(day.user, day.charged, n)
        return day

    def _day(self, ordinal: int) -> _Day:
        """A day with its event kinds, which depend on the user's earlier spend in the cycle."""
        day = self._raw_day(ordinal)
        with self._lock:
            if day.kind is None:
                day.kind = self._kinds(day)
        return day

    def _kinds(self, day: _Day) -> Array:
        ordinal = day.ordinal
        cycle_start, _ = month_cycle(self.cycle_day, date.fromordinal(ordinal))
        prior = np.zeros(self.n_users, dtype=np.int64)
        for earlier in range(max(cycle_start.toordinal(), self.first_day.toordinal()), ordinal):
            prior += self._raw_day(earlier).user_cost
        kind = np.zeros(len(day), dtype=np.int8)
        if len(day):
            order = np.argsort(day.user, kind="stable")
            users = day.user[order]
            charged = day.charged[order]
            before = np.cumsum(charged) - charged
            starts = np.r_[0, np.flatnonzero(np.diff(users)) + 1]
            lengths = np.diff(np.r_[starts, len(users)])
            before = before - np.repeat(before[starts], lengths) + prior[users]
            usage = (charged > 0) & (before >= self.included_micros)
            kind[order[usage]] = 1
            kind[(day.flags & _FLAG_ERRORED) > 0] = 2
        return kind

    def _visible_count(self, day: _Day) -> int:
        cutoff = self.cutoff_ms
        if day.start_ms > cutoff:
            return 0
        if day.start_ms + DAY_MS - 1 <= cutoff:
            return len(day)
        return int(np.searchsorted(day.ts, cutoff, side="right"))

    def _last_visible_ordinal(self) -> int:
        return from_epoch_ms(self.cutoff_ms).date().toordinal()

    def _agg(self, ordinal: int) -> tuple[_Day, _Agg]:
        """Per-user aggregates of the day's visible events (cached once the whole day is visible)."""
        day = self._day(ordinal)
        k = self._visible_count(day)
        if k == len(day) and day.full is not None:
            return day, day.full
        agg = self._aggregate(day, k)
        if k == len(day):
            with self._lock:
                day.full = agg
        return day, agg

    def _aggregate(self, day: _Day, k: int) -> _Agg:
        n = self.n_users
        user = day.user[:k]
        kind = day.kind[:k] if day.kind is not None else np.zeros(k, dtype=np.int8)
        flags = day.flags[:k]
        feature = day.feature[:k].astype(np.int64)
        token = (flags & _FLAG_TOKEN) > 0
        errored = (flags & _FLAG_ERRORED) > 0
        accepted = (flags & _FLAG_ACCEPTED) > 0
        applies = _EDITS[feature] & ~errored & (feature != FEATURES.index("cli"))
        accepts = applies & accepted
        add = day.lines_add[:k]
        dele = day.lines_del[:k]
        nf, nm = len(FEATURES), len(MODELS)
        ones = np.ones(k, dtype=np.int64)
        return _Agg(
            events=np.bincount(user, minlength=n),
            cost=_isum(user, day.charged[:k], n),
            usage=_isum(user, day.charged[:k] * (kind == 1), n),
            fast=_isum(user, day.req[:k] * ~token, n),
            feature=np.bincount(user.astype(np.int64) * nf + feature, minlength=n * nf).reshape(n, nf),
            model=np.bincount(user.astype(np.int64) * nm + day.model[:k], minlength=n * nm).reshape(n, nm),
            included=_isum(user, ones * ((kind == 0) & token), n),
            usage_based=_isum(user, ones * (kind == 1), n),
            applies=_isum(user, ones * applies, n),
            accepts=_isum(user, ones * accepts, n),
            lines_add=_isum(user, add * applies, n),
            lines_del=_isum(user, dele * applies, n),
            acc_add=_isum(user, add * accepts, n),
            acc_del=_isum(user, dele * accepts, n),
        )

    # ---- spend

    def _cycle_totals(self) -> tuple[Array, Array, Array]:
        """(overall µ¢, on-demand µ¢, fast-premium request tenths) per user for the current cycle."""
        start, _ = self._cycle_dates()
        n = self.n_users
        overall = np.zeros(n, dtype=np.int64)
        usage = np.zeros(n, dtype=np.int64)
        fast = np.zeros(n, dtype=np.int64)
        first = max(start.toordinal(), self.first_day.toordinal())
        for ordinal in range(first, self._last_visible_ordinal() + 1):
            _, agg = self._agg(ordinal)
            overall += agg.cost
            usage += agg.usage
            fast += agg.fast
        return overall, usage, fast

    def cycle_spend(self, email: str) -> Decimal:
        """Cents this cycle (every visible event's chargedCents) = what ``overallSpendCents`` reports."""
        return _cents(int(self._cycle_totals()[0][self.member(email).index]))

    def on_demand_spend(self, email: str) -> Decimal:
        """Cents of Usage-based events this cycle = the newest schema's ``spendCents``."""
        return _cents(int(self._cycle_totals()[1][self.member(email).index]))

    def fast_premium_requests(self, email: str) -> int:
        """Request units of non-token events this cycle = ``fastPremiumRequests``."""
        return int(self._cycle_totals()[2][self.member(email).index]) // 10

    def spend_cents_reported(self, email: str) -> Decimal:
        """The ``spendCents`` value /teams/spend reports in this schema."""
        if self.schema == "newest":
            return self.on_demand_spend(email)
        return self.cycle_spend(email).quantize(Decimal(1), ROUND_HALF_EVEN)

    # ---- events

    def _segments(self, start_ms: int, end_ms: int) -> list[tuple[_Day, int, int]]:
        """(day, lo, hi) slices of visible events with start_ms <= ts <= end_ms, oldest day first."""
        end_ms = min(end_ms, self.cutoff_ms)
        if end_ms < start_ms:
            return []
        first = max(from_epoch_ms(start_ms).date().toordinal(), self.first_day.toordinal())
        last = from_epoch_ms(end_ms).date().toordinal()
        segments = []
        for ordinal in range(first, last + 1):
            day = self._day(ordinal)
            lo = int(np.searchsorted(day.ts, start_ms, side="left"))
            hi = int(np.searchsorted(day.ts, end_ms, side="right"))
            if hi > lo:
                segments.append((day, lo, hi))
        return segments

    def _select(self, start_ms: int, end_ms: int, user: int | None) -> list[tuple[_Day, Array]]:
        """Indices of matching visible events per day, oldest first."""
        selected = []
        for day, lo, hi in self._segments(start_ms, end_ms):
            idx = np.arange(lo, hi) if user is None else np.flatnonzero(day.user[lo:hi] == user) + lo
            if len(idx):
                selected.append((day, idx))
        return selected

    def events(self, start: datetime, end: datetime, email: str | None = None) -> list[CursorEvent]:
        """Visible events with ``start <= timestamp < end`` (oldest first)."""
        user = None
        if email is not None:
            found = self.find_member(email)
            if found is None:
                return []
            user = found.index
        out: list[CursorEvent] = []
        for day, idx in self._select(*_ms_window(start, end), user):
            out.extend(self._records(day, idx))
        return out

    def total_cost(self, start: datetime, end: datetime, email: str | None = None) -> Decimal:
        """Σ cost_cents of visible events with ``start <= timestamp < end`` (fast, for big datasets)."""
        user = self.member(email).index if email is not None else None
        total = sum(int(day.charged[idx].sum()) for day, idx in self._select(*_ms_window(start, end), user))
        return _cents(total)

    def count_events(self, start: datetime, end: datetime, email: str | None = None) -> int:
        user = self.member(email).index if email is not None else None
        return sum(len(idx) for _, idx in self._select(*_ms_window(start, end), user))

    def _records(self, day: _Day, idx: Array) -> list[CursorEvent]:
        assert day.kind is not None
        records = []
        for i in idx.tolist():
            flags = int(day.flags[i])
            ms = int(day.ts[i])
            tokens = day.tokens[i].tolist()
            kind = _KINDS[int(day.kind[i])]
            feature = FEATURES[int(day.feature[i])]
            records.append(
                CursorEvent(
                    timestamp=from_epoch_ms(ms),
                    timestamp_ms=ms,
                    email=self._emails[int(day.user[i])],
                    model=_MODEL_NAMES[int(day.model[i])],
                    kind=kind,
                    feature=feature,
                    max_mode=bool(flags & _FLAG_MAX),
                    token_based=bool(flags & _FLAG_TOKEN),
                    chargeable=kind == KIND_USAGE,
                    headless=bool(_HEADLESS[int(day.feature[i])]),
                    input_tokens=tokens[0],
                    output_tokens=tokens[1],
                    cache_write_tokens=tokens[2],
                    cache_read_tokens=tokens[3],
                    total_cents=_cents(int(day.total[i])),
                    cursor_token_fee=_cents(int(day.fee[i])),
                    cost_cents=_cents(int(day.charged[i])),
                    requests_costs=plain(Decimal(int(day.req[i])).scaleb(-1)),
                )
            )
        return records

    # ---- daily and analytics ground truth

    def daily_counters(self, day: date, email: str) -> dict[str, int]:
        """The request/line counters /teams/daily-usage-data reports for one user and UTC day."""
        index = self.member(email).index
        if day < self.first_day or day.toordinal() > self._last_visible_ordinal():
            return _daily_numbers(None, index)
        return _daily_numbers(self._agg(day.toordinal())[1], index)

    def active_users(self, day: date) -> int:
        """Users with at least one visible event on ``day`` (UTC) = Analytics ``dau``."""
        if day < self.first_day or day.toordinal() > self._last_visible_ordinal():
            return 0
        return int((self._agg(day.toordinal())[1].events > 0).sum())

    def model_messages(self, day: date) -> dict[str, tuple[int, int]]:
        """{model: (messages, users)} for ``day`` = Analytics team/models ``model_breakdown``."""
        if day < self.first_day or day.toordinal() > self._last_visible_ordinal():
            return {}
        counts = self._agg(day.toordinal())[1].model
        return {
            name: (int(counts[:, j].sum()), int((counts[:, j] > 0).sum()))
            for j, name in enumerate(_MODEL_NAMES)
            if counts[:, j].sum() > 0
        }


_DAILY_KEYS = (
    "totalLinesAdded",
    "totalLinesDeleted",
    "acceptedLinesAdded",
    "acceptedLinesDeleted",
    "totalApplies",
    "totalAccepts",
    "totalRejects",
    "totalTabsShown",
    "totalTabsAccepted",
    "composerRequests",
    "chatRequests",
    "agentRequests",
    "cmdkUsages",
    "bugbotUsages",
    "subscriptionIncludedReqs",
    "usageBasedReqs",
    "apiKeyReqs",
)
_DAILY_ZEROS = dict.fromkeys(_DAILY_KEYS, 0)


def _daily_columns(agg: _Agg) -> dict[str, list[int]]:
    """Every daily-usage counter for every user of one day, as plain lists (cached on full days)."""
    if agg.columns is not None:
        return agg.columns
    tabs = 6 * agg.events + agg.lines_add % 7
    feat = agg.feature
    columns = {
        # "total" lines also count manual edits: modelled as half the AI-suggested lines again.
        "totalLinesAdded": agg.acc_add + agg.lines_add // 2,
        "totalLinesDeleted": agg.acc_del + agg.lines_del // 2,
        "acceptedLinesAdded": agg.acc_add,
        "acceptedLinesDeleted": agg.acc_del,
        "totalApplies": agg.applies,
        "totalAccepts": agg.accepts,
        "totalRejects": agg.applies - agg.accepts,
        "totalTabsShown": tabs,
        "totalTabsAccepted": tabs * 3 // 10,
        "composerRequests": feat[:, FEATURES.index("composer")],
        "chatRequests": feat[:, FEATURES.index("chat")],
        "agentRequests": feat[:, _AGENT_LIKE].sum(axis=1),
        "cmdkUsages": feat[:, FEATURES.index("cmdk")],
        "bugbotUsages": feat[:, FEATURES.index("bugbot")],
        "subscriptionIncludedReqs": agg.included,
        "usageBasedReqs": agg.usage_based,
        "apiKeyReqs": np.zeros_like(agg.events),
    }
    agg.columns = {key: np.asarray(value, dtype=np.int64).tolist() for key, value in columns.items()}
    return agg.columns


def _daily_numbers(agg: _Agg | None, u: int) -> dict[str, int]:
    if agg is None or agg.events[u] == 0:
        return dict(_DAILY_ZEROS)
    columns = _daily_columns(agg)
    return {key: columns[key][u] for key in _DAILY_KEYS}


def _micro_text(micros: int) -> str:
    whole, frac = divmod(micros, 1_000_000)
    return str(whole) if frac == 0 else f"{whole}.{frac:06d}".rstrip("0")


# ------------------------------------------------------------------------------------------ server


class _BadRequest(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _int_field(body: dict[str, Any], name: str, *, required: bool = True, default: int | None = None) -> int:
    value = body.get(name)
    if value is None:
        if required:
            raise _BadRequest(f"{name} is required")
        assert default is not None
        return default
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise _BadRequest(f"{name} must be a number")
    if isinstance(value, Decimal):
        if value != value.to_integral_value():
            raise _BadRequest(f"{name} must be an integer")
        value = int(value)
    return int(value)


class CursorSimulator:
    """Cursor Admin + Analytics API on loopback; see the module docstring for the pricing model.

    ``app`` is the Starlette application, ``dataset`` the ground truth, ``faults`` the fault injector,
    ``stats`` the request counters. ``limits`` maps each rate-limit bucket to its per-minute limit.
    ``rate_clock`` times the rate-limit windows (wall seconds); a test that must meet a 429 at an exact
    request, whatever the machine's speed, passes a clock it holds still.
    """

    def __init__(
        self,
        *,
        team_size: int = 25,
        days: int = 90,
        seed: int = 1,
        schema: Schema = "newest",
        now: datetime | None = None,
        time_scale: float = 1.0,
        plan: Literal["enterprise", "team"] = "enterprise",
        api_key: str | None = None,
        rate_limits_enabled: bool = True,
        events_per_user_day: float = 12.0,
        late_minutes: int = 0,
        cycle_day: int = 24,
        included_cents_per_user: int = 2000,
        rate_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if schema not in ("old", "middle", "newest"):
            raise ValueError(f"unknown schema {schema!r}")
        if plan not in ("enterprise", "team"):
            raise ValueError(f"unknown plan {plan!r}")
        self.schema: Schema = schema
        self.plan = plan
        self.api_key = api_key or "key_" + hashlib.sha256(f"cursor-admin-key:{seed}".encode()).hexdigest()
        self.rate_limits_enabled = rate_limits_enabled
        self.clock = SimClock(now, time_scale)
        self.dataset = CursorDataset(
            clock=self.clock,
            team_size=team_size,
            days=days,
            seed=seed,
            schema=schema,
            events_per_user_day=events_per_user_day,
            late_minutes=late_minutes,
            cycle_day=cycle_day,
            included_cents_per_user=included_cents_per_user,
        )
        self.faults = FaultInjector()
        self.stats = RequestStats()
        self.limits: dict[str, int] = {**_LIMITS[schema], **_ANALYTICS_LIMITS}
        window = self.clock.wall_seconds(60.0)
        self._limiters = {
            name: FixedWindowLimiter(limit, window, rate_clock) for name, limit in self.limits.items()
        }
        self._revoked = False
        self.events_default_page_size = 10 if schema == "old" else 100
        self.spend_default_page_size = 50
        routes = [
            Route("/teams/members", self._members, methods=["GET"]),
            Route("/teams/spend", self._spend, methods=["POST"]),
            Route("/teams/filtered-usage-events", self._events, methods=["POST"]),
            Route("/teams/daily-usage-data", self._daily, methods=["POST"]),
            Route("/teams/user-spend-limit", self._spend_limit, methods=["POST"]),
            Route("/analytics/team/dau", self._analytics_dau, methods=["GET"]),
            Route("/analytics/team/models", self._analytics_models, methods=["GET"]),
            Route("/analytics/by-user/models", self._analytics_user_models, methods=["GET"]),
        ]
        self.app = Starlette(
            routes=routes,
            middleware=[
                Middleware(
                    SimulatorMiddleware,
                    faults=self.faults,
                    stats=self.stats,
                    error_response=cursor_error,
                )
            ],
            exception_handlers=exception_handlers(lambda: cursor_error(404), lambda: cursor_error(405)),
        )

    # ---- controls

    @property
    def now(self) -> datetime:
        return self.clock.now

    def advance(self, delta: timedelta) -> datetime:
        """Move simulated time forward; data up to the new ``now`` becomes visible."""
        return self.clock.advance(delta)

    def revoke_key(self) -> None:
        """From now on the configured key answers 401."""
        self._revoked = True

    def restore_key(self) -> None:
        self._revoked = False

    def reset_rate_limits(self) -> None:
        for limiter in self._limiters.values():
            limiter.reset()

    # ---- plumbing

    def _authorized(self, request: Request) -> bool:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic" or self._revoked:
            return False
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except ValueError:
            return False
        user, sep, password = decoded.partition(":")
        return bool(sep) and password == "" and hmac.compare_digest(user.encode(), self.api_key.encode())

    def _limited(self, bucket: str) -> bool:
        return self.rate_limits_enabled and not self._limiters[bucket].acquire().allowed

    async def _admin(
        self,
        request: Request,
        bucket: str,
        handler: Callable[[dict[str, Any]], Response],
        *,
        enterprise: bool = False,
    ) -> Response:
        if not self._authorized(request):
            return cursor_error(401)
        if self._limited(bucket):
            return cursor_error(429)
        if enterprise and self.plan != "enterprise":
            return cursor_error(403)
        try:
            body = await read_json_body(request) if request.method == "POST" else {}
            return handler(body)
        except BodyError as exc:
            return cursor_error(400, str(exc))
        except _BadRequest as exc:
            return cursor_error(400, exc.message)

    def _range(self, body: dict[str, Any]) -> tuple[int, int]:
        start = _int_field(body, "startDate")
        end = _int_field(body, "endDate")
        if end < start:
            raise _BadRequest("startDate must be before endDate")
        if end - start > 30 * DAY_MS:
            raise _BadRequest("Date range cannot exceed 30 days")
        return start, end

    # ---- /teams/members

    async def _members(self, request: Request) -> Response:
        return await self._admin(request, "members", self._members_body)

    def _members_body(self, body: dict[str, Any]) -> Response:
        rows: list[dict[str, Any]] = []
        for m in self.dataset.members:
            if self.schema == "old":
                if m.removed:
                    continue
                rows.append({"name": m.name, "email": m.email, "role": m.role})
            else:
                rows.append(
                    {
                        "id": m.user_id,
                        "name": m.name,
                        "email": m.email,
                        "role": m.role,
                        "isRemoved": m.removed,
                    }
                )
        return json_response({"teamMembers": rows})

    # ---- /teams/spend

    async def _spend(self, request: Request) -> Response:
        return await self._admin(request, "spend", self._spend_body)

    def _spend_body(self, body: dict[str, Any]) -> Response:
        page = _int_field(body, "page", required=False, default=1)
        size = _int_field(body, "pageSize", required=False, default=self.spend_default_page_size)
        if page < 1 or size < 1:
            raise _BadRequest("page and pageSize must be positive")
        size = min(size, 1000)
        sort_by = body.get("sortBy", "date")
        direction = body.get("sortDirection", "desc")
        if sort_by not in ("amount", "date", "user") or direction not in ("asc", "desc"):
            raise _BadRequest("Invalid sortBy or sortDirection")
        term = body.get("searchTerm")
        overall, usage, fast = self.dataset._cycle_totals()
        members = [m for m in self.dataset.members if not (self.schema == "old" and m.removed)]
        if isinstance(term, str) and term:
            needle = term.lower()
            members = [m for m in members if needle in m.name.lower() or needle in m.email.lower()]
        keys: dict[str, Callable[[CursorMember], Any]] = {
            "amount": lambda m: (int(overall[m.index]), m.index),
            "date": lambda m: m.index,
            "user": lambda m: (m.name.lower(), m.email),
        }
        members.sort(key=keys[sort_by], reverse=direction == "desc")
        total_pages = -(-len(members) // size)
        rows = []
        with self.dataset._lock:
            monthly = list(self.dataset._monthly_limit)
            override = list(self.dataset._override)
        for m in members[(page - 1) * size : page * size]:
            i = m.index
            effective = override[i] or monthly[i]
            if self.schema == "newest":
                rows.append(
                    {
                        "userId": m.encoded_id,
                        "email": m.email,
                        "name": m.name,
                        "role": m.role,
                        "spendCents": micro_literal(int(usage[i])),
                        "overallSpendCents": micro_literal(int(overall[i])),
                        "fastPremiumRequests": int(fast[i]) // 10,
                        "hardLimitOverrideDollars": override[i],
                        "monthlyLimitDollars": monthly[i],
                        "effectivePerUserLimitDollars": effective,
                    }
                )
            else:
                rows.append(
                    {
                        "email": m.email,
                        "name": m.name,
                        "role": m.role,
                        "spendCents": int(_cents(int(overall[i])).quantize(Decimal(1), ROUND_HALF_EVEN)),
                        "fastPremiumRequests": int(fast[i]) // 10,
                        # The old API had one limit field: it shows the effective limit, 0 = none.
                        "hardLimitOverrideDollars": effective or 0,
                    }
                )
        return json_response(
            {
                "teamMemberSpend": rows,
                "subscriptionCycleStart": epoch_ms(self.dataset.cycle_start),
                "totalMembers": len(members),
                "totalPages": total_pages,
            }
        )

    # ---- /teams/filtered-usage-events

    async def _events(self, request: Request) -> Response:
        return await self._admin(request, "events", self._events_body)

    def _events_body(self, body: dict[str, Any]) -> Response:
        start, end = self._range(body)
        page = _int_field(body, "page", required=False, default=1)
        size = _int_field(body, "pageSize", required=False, default=self.events_default_page_size)
        if page < 1:
            raise _BadRequest("page must be >= 1")
        if not 1 <= size <= 1000:
            raise _BadRequest("pageSize must be between 1 and 1000")
        user: int | None = None
        empty = False
        email = body.get("email")
        if email is not None:
            found = self.dataset.find_member(str(email))
            empty = found is None
            user = found.index if found else None
        user_id = body.get("userId")
        if user_id is not None and not empty:
            found = self.dataset.member_by_id(user_id if isinstance(user_id, str) else int(user_id))
            if found is None or (user is not None and found.index != user):
                empty = True
            else:
                user = found.index
        selected = [] if empty else self.dataset._select(start, end, user)
        total = sum(len(idx) for _, idx in selected)
        pages = -(-total // size)
        # Newest first: walk days newest to oldest, each day's indices reversed.
        skip = (page - 1) * size
        take = size
        chunks: list[tuple[_Day, Array]] = []
        for day, idx in reversed(selected):
            if take <= 0:
                break
            if skip >= len(idx):
                skip -= len(idx)
                continue
            rev = idx[::-1][skip : skip + take]
            skip = 0
            take -= len(rev)
            chunks.append((day, rev))
        events: list[str] = []
        for day, idx in chunks:
            events.extend(self._event_texts(day, idx))
        pagination = dumps(
            {
                "numPages": pages,
                "currentPage": page,
                "pageSize": size,
                "hasNextPage": page < pages,
                "hasPreviousPage": page > 1,
            }
        )
        period = dumps({"startDate": start, "endDate": end})
        payload = b'{"totalUsageEventsCount":%d,"pagination":%s,"usageEvents":[%s],"period":%s}' % (
            total,
            pagination,
            ",".join(events).encode(),
            period,
        )
        return Response(payload, media_type="application/json")

    def _event_texts(self, day: _Day, idx: Array) -> list[str]:
        """Events serialised straight to JSON text: every field is ours, and a 1,000-event page must
        cost milliseconds (the key order and values match what ``json.dumps`` of the dict would give).
        """
        assert day.kind is not None
        emails = self.dataset._emails_json
        newest = self.schema == "newest"
        old = self.schema == "old"
        bugbot = FEATURES.index("bugbot")
        cols = (
            day.ts[idx].tolist(),
            day.user[idx].tolist(),
            day.model[idx].tolist(),
            day.kind[idx].tolist(),
            day.feature[idx].tolist(),
            day.flags[idx].tolist(),
            day.tokens[idx].tolist(),
            day.total[idx].tolist(),
            day.fee[idx].tolist(),
            day.charged[idx].tolist(),
            day.req[idx].tolist(),
        )
        out = []
        for ts, user, model, kind, feature, flags, tokens, total, fee, charged, req in zip(
            *cols, strict=True
        ):
            token_based = (flags & _FLAG_TOKEN) != 0
            parts = [
                f'{{"timestamp":"{ts}","userEmail":{emails[user]},"model":"{_MODEL_NAMES[model]}",'
                f'"kind":"{_KINDS[kind]}","maxMode":{_BOOL[flags & _FLAG_MAX]},'
                f'"requestsCosts":{req // 10 if req % 10 == 0 else f"{req // 10}.{req % 10}"},'
                f'"isTokenBasedCall":{_BOOL[token_based]}'
            ]
            if not old:
                parts.append(f',"isChargeable":{_BOOL[kind == 1]},"isHeadless":{_BOOL[_HEADLESS_L[feature]]}')
            if token_based:
                parts.append(
                    f',"tokenUsage":{{"inputTokens":{tokens[0]},"outputTokens":{tokens[1]},'
                    f'"cacheWriteTokens":{tokens[2]},"cacheReadTokens":{tokens[3]},'
                    f'"totalCents":{_micro_text(total)}}}'
                )
            if newest:
                parts.append(f',"chargedCents":{_micro_text(charged)}')
            if fee:
                parts.append(f',"cursorTokenFee":{_micro_text(fee)}')
            if old:
                parts.append(f',"isFreeBugbot":{_BOOL[feature == bugbot and charged == 0]}')
            parts.append("}")
            out.append("".join(parts))
        return out

    # ---- /teams/daily-usage-data

    async def _daily(self, request: Request) -> Response:
        return await self._admin(request, "daily", self._daily_body)

    def _daily_context(self, day: date, agg: _Agg | None) -> tuple[Any, ...]:
        """Per-day values shared by all of that day's rows (computed once, not per row)."""
        if agg is None:
            return (day.isoformat(), epoch_ms(day_start(day)), None, None, None, None)
        most = np.argmax(agg.model, axis=1).tolist()
        return (
            day.isoformat(),
            epoch_ms(day_start(day)),
            agg,
            agg.events.tolist(),
            agg.applies.tolist(),
            most,
        )

    def _daily_row(self, m: CursorMember, ctx: tuple[Any, ...], paged: bool) -> dict[str, Any]:
        iso, date_ms, agg, events, applies, most = ctx
        u = m.index
        active = agg is not None and events[u] > 0
        row: dict[str, Any] = {
            "userId": m.encoded_id if self.schema == "newest" else m.numeric_id,
            "email": m.email,
        }
        if self.schema == "newest":
            row["day"] = iso
        row["date"] = date_ms
        if paged or self.schema == "old":
            row["isActive"] = active
        if active:
            columns = _daily_columns(agg)
            for key in _DAILY_KEYS:
                row[key] = columns[key][u]
            row["mostUsedModel"] = _MODEL_NAMES[most[u]]
            row["applyMostUsedExtension"] = self.dataset._extension[u] if applies[u] else None
            row["tabMostUsedExtension"] = self.dataset._extension[u]
            row["clientVersion"] = self.dataset._client_version[u]
        else:
            row.update(_DAILY_ZEROS)
            row.update(
                mostUsedModel=None, applyMostUsedExtension=None, tabMostUsedExtension=None, clientVersion=None
            )
        return row

    def _daily_body(self, body: dict[str, Any]) -> Response:
        start, end = self._range(body)
        ds = self.dataset
        first = from_epoch_ms(start).date()
        last = min(from_epoch_ms(end).date(), from_epoch_ms(ds.cutoff_ms).date())
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]

        def agg_for(day: date) -> _Agg | None:
            if day < ds.first_day:
                return None
            return ds._agg(day.toordinal())[1]

        contexts = {day: self._daily_context(day, agg_for(day)) for day in days}
        period = {"startDate": start, "endDate": end}
        paged = self.schema != "old" and body.get("page") is not None and body.get("pageSize") is not None
        if not paged:
            rows = []
            for day in days:
                ctx = contexts[day]
                if ctx[2] is None:
                    continue
                for u in np.flatnonzero(ctx[2].events > 0).tolist():
                    rows.append(self._daily_row(ds.members[u], ctx, False))
            return json_response({"data": rows, "period": period})
        page = _int_field(body, "page")
        size = _int_field(body, "pageSize")
        if page < 1 or size < 1:
            raise _BadRequest("page and pageSize must be positive")
        range_first, range_last = first, from_epoch_ms(end).date()
        members = [
            m
            for m in ds.members
            if m.joined <= range_last and (m.removed_on is None or m.removed_on > range_first)
        ]
        pages = -(-len(members) // size)
        rows = [
            self._daily_row(m, contexts[day], True)
            for m in members[(page - 1) * size : page * size]
            for day in days
        ]
        return json_response(
            {
                "data": rows,
                "period": period,
                "pagination": {
                    "page": page,
                    "pageSize": size,
                    "totalUsers": len(members),
                    "totalPages": pages,
                    "hasNextPage": page < pages,
                    "hasPreviousPage": page > 1,
                },
            }
        )

    # ---- /teams/user-spend-limit

    async def _spend_limit(self, request: Request) -> Response:
        if not self._authorized(request):
            return cursor_error(401)
        if self._limited("spend_limit"):
            return cursor_error(429)
        if self.plan != "enterprise":
            return cursor_error(403)

        def outcome(message: str, status: int = 400) -> Response:
            return json_response(
                {"outcome": "error" if status >= 400 else "success", "message": message}, status
            )

        try:
            body = await read_json_body(request)
        except BodyError as exc:
            return outcome(str(exc))
        email = body.get("userEmail")
        if not isinstance(email, str) or not _EMAIL_RE.match(email):
            return outcome("Invalid email format")
        if "spendLimitDollars" not in body:
            return outcome("spendLimitDollars is required")
        dollars = body["spendLimitDollars"]
        if dollars is not None and (isinstance(dollars, bool) or not isinstance(dollars, int)):
            return outcome("spendLimitDollars must be an integer number of dollars or null")
        if dollars is not None and dollars < 0:
            return outcome("spendLimitDollars must not be negative")
        member = self.dataset.find_member(email)
        if member is None or member.removed:
            return outcome(f"User {email} is not a member of this team")
        self.dataset.set_limit_dollars(member.email, dollars)
        if dollars is None:
            return outcome(f"Spend limit removed for user {member.email}", 200)
        return outcome(f"Spend limit set to ${dollars} for user {member.email}", 200)

    # ---- analytics

    def _analytics_dates(self, request: Request) -> tuple[date, date]:
        today = self.clock.today

        def parse(value: str | None, default: date) -> date:
            if value is None or value == "":
                return default
            text = value.strip().lower()
            if text in ("today", "now"):
                return today
            if text == "yesterday":
                return today - timedelta(days=1)
            match = re.fullmatch(r"(\d+)d", text)
            if match:
                return today - timedelta(days=int(match.group(1)))
            try:
                if len(text) == 10:
                    return date.fromisoformat(text)
                return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).astimezone(UTC).date()
            except ValueError:
                raise _BadRequest(f"Invalid date: {value}") from None

        start = parse(request.query_params.get("startDate"), today - timedelta(days=7))
        end = parse(request.query_params.get("endDate"), today)
        if end < start:
            raise _BadRequest("startDate must be before endDate")
        if (end - start).days > 30:
            raise _BadRequest("Date range cannot exceed 30 days")
        return start, end

    def _users_filter(self, request: Request) -> set[int] | None:
        raw = request.query_params.get("users")
        if not raw:
            return None
        wanted: set[int] = set()
        for item in (part.strip() for part in raw.split(",")):
            member = self.dataset.find_member(item) if "@" in item else self.dataset.member_by_id(item)
            if member is not None:
                wanted.add(member.index)
        return wanted

    async def _analytics(
        self, request: Request, bucket: str, build: Callable[[Request], dict[str, Any]]
    ) -> Response:
        """Analytics flow: auth, plan, body, then ETag (a 304 never counts toward the limit), then limit."""
        if not self._authorized(request):
            return cursor_error(401)
        if self.plan != "enterprise":
            return cursor_error(403)
        try:
            payload = dumps(build(request))
        except _BadRequest as exc:
            return cursor_error(400, exc.message)
        etag = '"' + hashlib.sha256(payload).hexdigest()[:32] + '"'
        headers = {"ETag": etag, "Cache-Control": "public, max-age=900"}
        presented = request.headers.get("if-none-match")
        if presented is not None:
            tags = {t.strip().removeprefix("W/") for t in presented.split(",")}
            if etag in tags or "*" in tags:
                return Response(status_code=304, headers=headers)
        if self._limited(bucket):
            return cursor_error(429)
        return Response(payload, status_code=200, headers=headers, media_type="application/json")

    def _params(self, metric: str, start: date, end: date, **extra: Any) -> dict[str, Any]:
        return {
            "metric": metric,
            "teamId": self.dataset.team_id,
            "startDate": start.isoformat(),
            "endDate": end.isoformat(),
            **extra,
        }

    def _visible_aggs(self, start: date, end: date) -> list[tuple[date, _Agg | None]]:
        ds = self.dataset
        last = ds._last_visible_ordinal()
        out: list[tuple[date, _Agg | None]] = []
        for i in range((end - start).days + 1):
            day = start + timedelta(days=i)
            ok = ds.first_day <= day and day.toordinal() <= last
            out.append((day, ds._agg(day.toordinal())[1] if ok else None))
        return out

    async def _analytics_dau(self, request: Request) -> Response:
        def build(request: Request) -> dict[str, Any]:
            start, end = self._analytics_dates(request)
            users = self._users_filter(request)
            mask = np.ones(self.dataset.n_users, dtype=bool)
            if users is not None:
                mask[:] = False
                mask[list(users)] = True
            rows = []
            for day, agg in self._visible_aggs(start, end):
                if agg is None:
                    counts = {"dau": 0, "cli_dau": 0, "cloud_agent_dau": 0, "bugbot_dau": 0}
                else:
                    feat = agg.feature[mask]
                    counts = {
                        "dau": int((agg.events[mask] > 0).sum()),
                        "cli_dau": int((feat[:, FEATURES.index("cli")] > 0).sum()),
                        "cloud_agent_dau": int((feat[:, FEATURES.index("cloud-agent")] > 0).sum()),
                        "bugbot_dau": int((feat[:, FEATURES.index("bugbot")] > 0).sum()),
                    }
                rows.append({"date": day.isoformat(), **counts})
            return {"data": rows, "params": self._params("dau", start, end)}

        return await self._analytics(request, "analytics_team", build)

    async def _analytics_models(self, request: Request) -> Response:
        def build(request: Request) -> dict[str, Any]:
            start, end = self._analytics_dates(request)
            users = self._users_filter(request)
            rows = []
            for day, agg in self._visible_aggs(start, end):
                breakdown: dict[str, Any] = {}
                if agg is not None:
                    counts = agg.model if users is None else agg.model[sorted(users)]
                    for j, name in enumerate(_MODEL_NAMES):
                        column = counts[:, j]
                        if column.sum() > 0:
                            breakdown[name] = {
                                "messages": int(column.sum()),
                                "users": int((column > 0).sum()),
                            }
                rows.append({"date": day.isoformat(), "model_breakdown": breakdown})
            return {"data": rows, "params": self._params("models", start, end)}

        return await self._analytics(request, "analytics_team", build)

    async def _analytics_user_models(self, request: Request) -> Response:
        def build(request: Request) -> dict[str, Any]:
            start, end = self._analytics_dates(request)
            try:
                page = int(request.query_params.get("page", "1"))
                size = int(request.query_params.get("pageSize", "100"))
            except ValueError:
                raise _BadRequest("page and pageSize must be integers") from None
            if page < 1 or not 1 <= size <= 500:
                raise _BadRequest("pageSize must be between 1 and 500")
            users = self._users_filter(request)
            members = [
                m for m in self.dataset.members if not m.removed and (users is None or m.index in users)
            ]
            members.sort(key=lambda m: m.email)
            pages = -(-len(members) // size)
            chosen = members[(page - 1) * size : page * size]
            aggs = self._visible_aggs(start, end)
            data: dict[str, list[dict[str, Any]]] = {}
            for m in chosen:
                rows = []
                for day, agg in aggs:
                    if agg is None or agg.events[m.index] == 0:
                        continue
                    breakdown = {
                        name: {"messages": int(agg.model[m.index, j]), "users": 1}
                        for j, name in enumerate(_MODEL_NAMES)
                        if agg.model[m.index, j] > 0
                    }
                    rows.append({"date": day.isoformat(), "model_breakdown": breakdown})
                data[m.email] = rows
            return {
                "data": data,
                "pagination": {
                    "page": page,
                    "pageSize": size,
                    "totalUsers": len(members),
                    "totalPages": pages,
                    "hasNextPage": page < pages,
                    "hasPreviousPage": page > 1,
                },
                "params": self._params(
                    "models",
                    start,
                    end,
                    page=page,
                    pageSize=size,
                    userMappings=[{"id": m.encoded_id, "email": m.email} for m in chosen],
                ),
            }

        return await self._analytics(request, "analytics_user", build)


__all__ = [
    "FEATURES",
    "KIND_ERRORED",
    "KIND_INCLUDED",
    "KIND_USAGE",
    "MODELS",
    "CursorDataset",
    "CursorEvent",
    "CursorMember",
    "CursorSimulator",
    "ModelPrice",
    "cursor_error",
]
