"""A simulator of the Windsurf (Codeium) Enterprise API v1, as documented (reference: windsurf-api.md).

Every endpoint is a POST under ``/api/v1`` with ``service_key`` in the JSON body, answers in
protobuf-JSON style (camelCase, 64-bit counters as strings, zero/empty fields omitted, RFC 3339
timestamps) and enforces the documented permissions and validation messages.

Credits: every Cascade run row carries ``promptsUsed`` = credits × 100 (hundredths). Within a billing
cycle the team's consumption, taken in time order, first eats the prompt-credit pool (approved seats ×
``prompt_credits_per_seat``) and then add-on ("flex") credits; once both are gone, further paid runs are
blocked (they never happen), so ``addOnCreditsUsed`` never exceeds ``addOnCreditsAvailable``. For every
user-day-model, CASCADE_DATA ``prompts_used + flex_credits_used`` = that user's promptsUsed total.
``burn_multiplier`` scales how many conversations people have, to make credits run low in tests.

Days: data is per UTC day; each row also has a minute of the day so that "today" fills up as simulated
time advances. A request window [start, end) includes every UTC day it overlaps.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
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
    epoch_ms,
    exception_handlers,
    from_epoch_ms,
    json_response,
    make_people,
    month_cycle,
    plain,
    read_json_body,
    rfc3339,
)

Schema = Literal["old", "new"]
#: What the undocumented per-person CASCADE_DATA source of /Analytics answers: every row, no row at all
#: (as for a team without individual-level analytics), or only every other person's rows.
CascadeData = Literal["complete", "none", "partial"]
Array = npt.NDArray[Any]

ALL_PERMISSIONS = frozenset({"Teams Read-Only", "Analytics Read", "Billing Read", "Billing Write"})
BASE = "/api/v1"

# (display name, credits per message in hundredths)
MODELS: tuple[tuple[str, int], ...] = (
    ("Claude Sonnet 4.5", 200),
    ("Claude Sonnet 4.5 (Thinking)", 300),
    ("GPT-5 (medium reasoning)", 100),
    ("GPT-5 (low reasoning)", 50),
    ("Gemini 2.5 Pro", 100),
    ("Claude Opus 4.1", 2000),
    ("SWE-1.5", 0),
)
_MODEL_RATE = np.array([rate for _, rate in MODELS], dtype=np.int64)
_PROFILES = np.array(
    [
        [0.45, 0.15, 0.10, 0.05, 0.05, 0.02, 0.18],
        [0.15, 0.05, 0.35, 0.20, 0.05, 0.00, 0.20],
        [0.20, 0.10, 0.10, 0.10, 0.10, 0.00, 0.40],
        [0.35, 0.20, 0.10, 0.05, 0.05, 0.10, 0.15],
    ]
)
_PROFILE_CUM = np.cumsum(_PROFILES, axis=1)
MODES = (
    "CONVERSATIONAL_PLANNER_MODE_DEFAULT",
    "CONVERSATIONAL_PLANNER_MODE_READ_ONLY",
    "CONVERSATIONAL_PLANNER_MODE_NO_TOOL",
    "UNKNOWN",
)
_MODE_P = np.array([0.70, 0.20, 0.05, 0.05])
IDE_TYPES = ("editor", "jetbrains", "cli")
_USER_DATA_IDE = ("windsurf", "jetbrains")
LANGUAGES = ("python", "typescript", "go", "java", "rust", "kotlin", "javascript", "ruby")
TOOLS = (
    "CODE_ACTION",
    "VIEW_FILE",
    "RUN_COMMAND",
    "GREP_SEARCH",
    "FIND",
    "LIST_DIRECTORY",
    "MCP_TOOL",
    "SEARCH_WEB",
)
_TOOL_P = np.array([0.30, 0.25, 0.12, 0.12, 0.06, 0.07, 0.05, 0.03])
STATUS_APPROVED = "USER_TEAM_STATUS_APPROVED"
STATUS_PENDING = "USER_TEAM_STATUS_PENDING"
_GROUPS = ("Engineering", "Platform", "Data Science", "Design")

_PERMISSION = {
    "Analytics": "Analytics Read",
    "UserPageAnalytics": "Teams Read-Only",
    "CascadeAnalytics": "Teams Read-Only",
    "UsageConfig": "Billing Write",
    "GetUsageConfig": "Billing Read",
    "GetTeamCreditBalance": "Billing Read",
}
_FAULT_MESSAGES = {
    500: "internal error",
    502: "bad gateway",
    503: "service unavailable",
    504: "gateway timeout",
}


def windsurf_error(status: int, message: str | None = None) -> Response:
    """The documented error body ``{"error": "<message>"}``."""
    return json_response({"error": message or _FAULT_MESSAGES.get(status, "error")}, status)


def _credits(hundredths: int) -> Decimal:
    return plain(Decimal(hundredths).scaleb(-2))


def _omit_zero(obj: dict[str, Any]) -> dict[str, Any]:
    """Protobuf-JSON drops zero and empty values."""
    return {k: v for k, v in obj.items() if v not in (0, "0", "", None, False, [], {})}


# ------------------------------------------------------------------------------------------ records


@dataclass(frozen=True, slots=True)
class WindsurfGroup:
    group_id: str
    name: str


@dataclass(frozen=True, slots=True)
class WindsurfMember:
    """One user of the team. ``api_key`` is the per-user hash that joins Analytics rows to emails."""

    index: int
    email: str
    name: str
    api_key: str
    status: str
    role: str
    group: WindsurfGroup
    signup_time: datetime
    disabled: bool
    ide: str
    languages: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WindsurfRun:
    """One cascade_runs row: ``prompts_used`` is the row's credits × 100, ``flex`` the add-on part."""

    day: date
    email: str
    model: str
    mode: str
    ide: str
    messages: int
    cascade_id: str
    prompts_used: int
    flex: int
    lines_suggested: int
    lines_accepted: int
    minute: int


class _Day:
    """One UTC day: Cascade run rows and autocomplete rows, each sorted by minute of the day."""

    __slots__ = (
        "ac_acc",
        "ac_bytes",
        "ac_ide",
        "ac_lang",
        "ac_lines",
        "ac_minute",
        "ac_user",
        "cid",
        "credits",
        "flex",
        "ide",
        "lines_a",
        "lines_s",
        "messages",
        "minute",
        "mode",
        "model",
        "ordinal",
        "start_ms",
        "tools",
        "user",
    )

    def __init__(self, ordinal: int) -> None:
        self.ordinal = ordinal
        self.start_ms = epoch_ms(day_start(date.fromordinal(ordinal)))
        empty_i = np.zeros(0, dtype=np.int64)
        self.user: Array = empty_i
        self.model: Array = empty_i
        self.mode: Array = empty_i
        self.ide: Array = empty_i
        self.minute: Array = empty_i
        self.cid: Array = np.zeros((0, 2), dtype=np.int64)
        self.messages: Array = empty_i
        self.credits: Array = empty_i
        self.flex: Array = empty_i
        self.lines_s: Array = empty_i
        self.lines_a: Array = empty_i
        self.tools: Array = np.zeros((0, len(TOOLS)), dtype=np.int64)
        self.ac_user: Array = empty_i
        self.ac_lang: Array = empty_i
        self.ac_ide: Array = empty_i
        self.ac_minute: Array = empty_i
        self.ac_acc: Array = empty_i
        self.ac_lines: Array = empty_i
        self.ac_bytes: Array = empty_i

    def take(self, keep: Array) -> None:
        for name in ("user", "model", "mode", "ide", "minute", "cid", "messages", "credits", "lines_s"):
            setattr(self, name, getattr(self, name)[keep])
        self.lines_a = self.lines_a[keep]
        self.tools = self.tools[keep]


# ------------------------------------------------------------------------------------------ dataset


class WindsurfDataset:
    """Ground truth; everything reflects what is visible at the clock's ``now``."""

    def __init__(
        self,
        *,
        clock: SimClock,
        team_size: int,
        days: int,
        seed: int,
        burn_multiplier: float,
        prompt_credits_per_seat: int,
        add_on_credits: int | None,
        cycle_day: int,
        late_minutes: int,
        people: Sequence[tuple[str, str]] = (),
        model_names: Mapping[str, str] | None = None,
    ) -> None:
        if team_size < 1 or days < 1:
            raise ValueError("team_size and days must be >= 1")
        self._clock = clock
        self.seed = seed
        self.burn_multiplier = burn_multiplier
        self.prompt_credits_per_seat = prompt_credits_per_seat
        self.cycle_day = cycle_day
        self.late_minutes = late_minutes
        renamed = model_names or {}
        self.model_names = tuple(renamed.get(name, name) for name, _ in MODELS)
        self.first_day = clock.today - timedelta(days=days - 1)
        self._lock = threading.RLock()
        self._raw: dict[int, _Day] = {}
        self._final: dict[int, _Day] = {}
        self._caps: dict[tuple[str, str], int] = {}
        self._build_members(team_size, people)
        self.num_seats = sum(1 for m in self.members if m.status == STATUS_APPROVED)
        pool = self.num_seats * prompt_credits_per_seat
        self.add_on_credits_available = (
            add_on_credits if add_on_credits is not None else round(pool * 0.3, -2)
        )

    def _build_members(self, team_size: int, chosen: Sequence[tuple[str, str]]) -> None:
        rng = random.Random(derive_seed("windsurf-members", self.seed))
        people = make_people(team_size, self.seed, "example.org")
        people[: len(chosen)] = list(chosen)[:team_size]
        self.groups = tuple(
            WindsurfGroup("grp_" + hashlib.sha256(f"{self.seed}:{name}".encode()).hexdigest()[:12], name)
            for name in _GROUPS[: max(1, min(len(_GROUPS), team_size // 5))]
        )
        pending = set(rng.sample(range(1, team_size), min(team_size - 1, team_size // 25)))
        disabled = rng.randrange(1, team_size) if team_size >= 20 else -1
        members = []
        activity, profile, cli, lang_w = [], [], [], []
        for i, (name, email) in enumerate(people):
            signup = day_start(self.first_day) - timedelta(
                days=rng.randint(20, 500), seconds=rng.randint(0, 86_399)
            )
            langs = tuple(rng.sample(LANGUAGES, rng.randint(1, 3)))
            members.append(
                WindsurfMember(
                    index=i,
                    email=email,
                    name=name,
                    api_key=hashlib.sha256(f"windsurf-user-key:{self.seed}:{email}".encode()).hexdigest()[
                        :36
                    ],
                    status=STATUS_PENDING if i in pending else STATUS_APPROVED,
                    role="admin" if i == 0 else "user",
                    group=self.groups[rng.randrange(len(self.groups))],
                    signup_time=signup.replace(microsecond=rng.randrange(1_000_000)),
                    disabled=i == disabled,
                    ide="jetbrains" if rng.random() < 0.25 else "editor",
                    languages=langs,
                )
            )
            heavy = rng.random() < 0.05
            activity.append(rng.lognormvariate(0.0, 0.5) * (3.5 if heavy else 1.0))
            profile.append(rng.choices(range(len(_PROFILES)), (0.4, 0.3, 0.2, 0.1))[0])
            cli.append(rng.random() < 0.3)
            lang_w.append([1.0 if lang in langs else 0.0 for lang in LANGUAGES])
        self.members: tuple[WindsurfMember, ...] = tuple(members)
        self._by_email = {m.email.lower(): m for m in members}
        self._by_key = {m.api_key: m for m in members}
        self._activity = np.array(activity)
        self._profile = np.array(profile, dtype=np.int64)
        self._cli = np.array(cli, dtype=bool)
        weights = np.array(lang_w)
        self._lang_w = weights / weights.sum(axis=1, keepdims=True)
        self._user_ide = np.array([IDE_TYPES.index(m.ide) for m in members], dtype=np.int64)
        self._active = np.array([m.status == STATUS_APPROVED and not m.disabled for m in members], dtype=bool)

    # ---- lookups

    def member(self, email: str) -> WindsurfMember:
        return self._by_email[email.lower()]

    def find_member(self, email: str) -> WindsurfMember | None:
        return self._by_email.get(email.lower())

    def member_by_api_key(self, api_key: str) -> WindsurfMember | None:
        return self._by_key.get(api_key)

    def group_by_name(self, name: str) -> WindsurfGroup | None:
        return next((g for g in self.groups if g.name == name), None)

    def group_by_id(self, group_id: str) -> WindsurfGroup | None:
        return next((g for g in self.groups if g.group_id == group_id), None)

    # ---- time and cycle

    @property
    def now(self) -> datetime:
        return self._clock.now

    @property
    def cutoff_ms(self) -> int:
        return self._clock.now_ms - self.late_minutes * 60_000

    def _cycle_dates(self, day: date | None = None) -> tuple[date, date]:
        return month_cycle(self.cycle_day, day or self._clock.today)

    @property
    def cycle_start(self) -> datetime:
        return day_start(self._cycle_dates()[0])

    @property
    def cycle_end(self) -> datetime:
        return day_start(self._cycle_dates()[1])

    @property
    def prompt_credit_pool(self) -> int:
        """Seats × prompt credits per seat, in credits."""
        return self.num_seats * self.prompt_credits_per_seat

    # ---- generation

    def _raw_day(self, ordinal: int) -> _Day:
        with self._lock:
            day = self._raw.get(ordinal)
            if day is None:
                day = self._generate(ordinal)
                self._raw[ordinal] = day
            return day

    def _generate(self, ordinal: int) -> _Day:
        day = _Day(ordinal)
        if ordinal < self.first_day.toordinal():
            return day
        n = len(self.members)
        rng = np.random.default_rng([derive_seed("windsurf-day", self.seed), ordinal])
        weekday = date.fromordinal(ordinal).weekday()
        factor = (0.15 if weekday >= 5 else 1.0) * rng.gamma(4.0, 0.25, n) * (rng.random(n) >= 0.05)
        factor = factor * self._active * self._activity
        # Cascade conversations.
        convs = rng.poisson(2.2 * self.burn_multiplier * factor)
        user = np.repeat(np.arange(n), convs)
        count = len(user)
        model = (rng.random(count)[:, None] >= _PROFILE_CUM[self._profile[user]]).sum(axis=1)
        model = np.minimum(model, len(MODELS) - 1)
        messages = 1 + rng.poisson(3.5, count)
        mode = rng.choice(len(MODES), count, p=_MODE_P)
        ide = np.where(self._cli[user] & (rng.random(count) < 0.08), 2, self._user_ide[user])
        minute = rng.integers(360, 1320, count)
        cid = rng.integers(0, 2**62, (count, 2))
        # Some conversations are split over two rows (another mode): clients must sum rows.
        split = (rng.random(count) < 0.2) & (messages >= 2)
        first_part = np.where(split, messages // 2, messages)
        rows = np.r_[np.arange(count), np.flatnonzero(split)]
        msgs = np.r_[first_part, (messages - first_part)[split]]
        modes = np.r_[mode, np.where(mode[split] == 0, 1, 0)]
        later = np.r_[minute, np.minimum(minute[split] + rng.integers(1, 90, int(split.sum())), 1439)]
        user, model, ide, cid = user[rows], model[rows], ide[rows], cid[rows]
        total = len(rows)
        writes = modes == 0
        lines_s = (msgs * rng.lognormal(np.log(10), 0.6, total) * writes).astype(np.int64)
        lines_a = (lines_s * rng.uniform(0.4, 0.9, total)).astype(np.int64)
        tools = rng.multinomial(msgs * (1 + rng.poisson(1.5, total)) * (modes != 2), _TOOL_P)
        order = np.lexsort((user, later))
        day.user, day.model, day.mode, day.ide = user[order], model[order], modes[order], ide[order]
        day.minute, day.cid, day.messages = later[order], cid[order], msgs[order]
        day.credits = (day.messages * _MODEL_RATE[day.model]).astype(np.int64)
        day.lines_s, day.lines_a, day.tools = lines_s[order], lines_a[order], tools[order]
        # Autocomplete: one row per (user, language) with acceptances.
        lam = 35.0 * factor[:, None] * self._lang_w
        acc = rng.poisson(lam)
        ac_user, ac_lang = np.nonzero(acc)
        acc_v = acc[ac_user, ac_lang]
        lines = acc_v + rng.poisson(acc_v * 0.6)
        ac_bytes = rng.poisson(lines * 38.0)
        ac_minute = rng.integers(360, 1320, len(ac_user))
        ac_order = np.lexsort((ac_user, ac_minute))
        day.ac_user, day.ac_lang = ac_user[ac_order], ac_lang[ac_order]
        day.ac_ide = np.minimum(self._user_ide[day.ac_user], 1)
        day.ac_minute, day.ac_acc = ac_minute[ac_order], acc_v[ac_order]
        day.ac_lines, day.ac_bytes = lines[ac_order], ac_bytes[ac_order]
        return day

    def _day(self, ordinal: int) -> _Day:
        """The day after the cycle's credit accounting: flex split, blocked runs removed."""
        with self._lock:
            final = self._final.get(ordinal)
            if final is not None:
                return final
            cycle_start, _ = self._cycle_dates(date.fromordinal(ordinal))
            first = max(cycle_start.toordinal(), self.first_day.toordinal())
            used = 0
            for earlier in range(first, ordinal):
                used += int(self._day(earlier).credits.sum())
            day = self._raw_day(ordinal)
            final = _Day(ordinal)
            for name in _Day.__slots__:
                setattr(final, name, getattr(day, name))
            pool = self.prompt_credit_pool * 100
            limit = pool + int(self.add_on_credits_available) * 100
            before = used + np.cumsum(final.credits) - final.credits
            keep = (before < limit) | (final.credits == 0)
            final.take(keep)
            capped = np.minimum(final.credits, np.maximum(limit - before[keep], 0))
            final.credits = np.where(final.credits > 0, capped, 0)
            after = used + np.cumsum(final.credits)
            final.flex = np.clip(after - pool, 0, final.credits)
            self._final[ordinal] = final
            return final

    def _visible(self, ordinal: int) -> tuple[_Day, int, int]:
        """The day and how many of its run rows and autocomplete rows are visible."""
        day = self._day(ordinal)
        cutoff = self.cutoff_ms
        if day.start_ms > cutoff:
            return day, 0, 0
        if day.start_ms + DAY_MS <= cutoff:
            return day, len(day.user), len(day.ac_user)
        minute = (cutoff - day.start_ms) // 60_000
        runs = int(np.searchsorted(day.minute, minute, side="right"))
        ac = int(np.searchsorted(day.ac_minute, minute, side="right"))
        return day, runs, ac

    def _days_between(self, first: date, last: date) -> Iterable[int]:
        """Ordinals of generated, at least partly visible days in [first, last]."""
        lo = max(first, self.first_day).toordinal()
        hi = min(last, from_epoch_ms(self.cutoff_ms).date()).toordinal()
        return range(lo, hi + 1)

    # ---- ground truth

    def runs(self, start_day: date, end_day: date, email: str | None = None) -> list[WindsurfRun]:
        """Visible cascade_runs rows for UTC days start_day..end_day inclusive."""
        only = self.member(email).index if email is not None else None
        out = []
        for ordinal in self._days_between(start_day, end_day):
            day, k, _ = self._visible(ordinal)
            for i in range(k):
                u = int(day.user[i])
                if only is not None and u != only:
                    continue
                out.append(
                    WindsurfRun(
                        day=date.fromordinal(ordinal),
                        email=self.members[u].email,
                        model=self.model_names[int(day.model[i])],
                        mode=MODES[int(day.mode[i])],
                        ide=IDE_TYPES[int(day.ide[i])],
                        messages=int(day.messages[i]),
                        cascade_id=_cascade_id(day.cid[i]),
                        prompts_used=int(day.credits[i]),
                        flex=int(day.flex[i]),
                        lines_suggested=int(day.lines_s[i]),
                        lines_accepted=int(day.lines_a[i]),
                        minute=int(day.minute[i]),
                    )
                )
        return out

    def credits_by_day(
        self, start_day: date, end_day: date, email: str | None = None
    ) -> dict[tuple[date, str], Decimal]:
        """Credits (not hundredths) per (UTC day, model), days inclusive; only non-zero entries."""
        only = self.member(email).index if email is not None else None
        out: dict[tuple[date, str], Decimal] = {}
        for ordinal in self._days_between(start_day, end_day):
            day, k, _ = self._visible(ordinal)
            mask = np.ones(k, dtype=bool) if only is None else day.user[:k] == only
            sums = np.bincount(day.model[:k][mask], weights=day.credits[:k][mask], minlength=len(MODELS))
            for j, value in enumerate(sums.round().astype(np.int64).tolist()):
                if value:
                    out[(date.fromordinal(ordinal), self.model_names[j])] = _credits(value)
        return out

    def _user_sums(self, first: date, last: date, which: str = "credits") -> Array:
        total = np.zeros(len(self.members), dtype=np.int64)
        for ordinal in self._days_between(first, last):
            day, k, _ = self._visible(ordinal)
            values = getattr(day, which)[:k]
            total += (
                np.bincount(day.user[:k], weights=values, minlength=len(self.members))
                .round()
                .astype(np.int64)
            )
        return total

    def credits_by_user(self, start_day: date, end_day: date) -> dict[str, Decimal]:
        """Credits per email over UTC days start_day..end_day inclusive; only non-zero entries."""
        sums = self._user_sums(start_day, end_day).tolist()
        return {m.email: _credits(v) for m, v in zip(self.members, sums, strict=True) if v}

    def _cycle_hundredths(self) -> tuple[int, int]:
        start, end = self._cycle_dates()
        total = int(self._user_sums(start, end - timedelta(days=1)).sum())
        flex = int(self._user_sums(start, end - timedelta(days=1), "flex").sum())
        return total, flex

    def credits_used_in_cycle(self) -> Decimal:
        return _credits(self._cycle_hundredths()[0])

    def prompt_credits_used_in_cycle(self) -> Decimal:
        """Credits taken from the prompt-credit pool this cycle (visible so far)."""
        total, flex = self._cycle_hundredths()
        return _credits(total - flex)

    def add_on_credits_used_in_cycle(self) -> Decimal:
        """Exact add-on (flex) credits used this cycle; the API reports it floored to whole credits."""
        return _credits(self._cycle_hundredths()[1])

    def balance(self) -> dict[str, Any]:
        """What /GetTeamCreditBalance reports (the endpoint omits zero values)."""
        return {
            "promptCreditsPerSeat": self.prompt_credits_per_seat,
            "numSeats": self.num_seats,
            "addOnCreditsAvailable": int(self.add_on_credits_available),
            "addOnCreditsUsed": self._cycle_hundredths()[1] // 100,
            "billingCycleStart": rfc3339(self.cycle_start),
            "billingCycleEnd": rfc3339(self.cycle_end),
        }

    def usage_cap(
        self, team_level: bool = False, *, group_id: str | None = None, user_email: str | None = None
    ) -> int | None:
        """The add-on credit cap set at exactly that scope (no inheritance), or None."""
        with self._lock:
            if team_level:
                return self._caps.get(("team", ""))
            if group_id is not None:
                return self._caps.get(("group", group_id))
            if user_email is not None:
                return self._caps.get(("user", user_email.lower()))
        raise ValueError("give one scope")

    def _set_cap(self, scope: tuple[str, str], value: int | None) -> None:
        with self._lock:
            if value is None:
                self._caps.pop(scope, None)
            else:
                self._caps[scope] = value

    def active_days(self, email: str, start_day: date, end_day: date) -> int:
        """Days with any visible Cascade or autocomplete activity (= activeDays)."""
        return int(self._active_matrix(start_day, end_day)[:, self.member(email).index].sum())

    def _active_matrix(self, first: date, last: date) -> Array:
        rows = []
        for ordinal in self._days_between(first, last):
            day, k, ak = self._visible(ordinal)
            active = np.zeros(len(self.members), dtype=bool)
            active[day.user[:k]] = True
            active[day.ac_user[:ak]] = True
            rows.append(active)
        return np.array(rows, dtype=bool).reshape(len(rows), len(self.members))


def _cascade_id(pair: Array) -> str:
    hi, lo = (int(x) for x in pair)
    return str(uuid.UUID(int=(hi << 64) | lo))


# ------------------------------------------------------------------------------------- query engine


class QueryError(Exception):
    """A /Analytics validation error, with the vendor's message."""


_STRING = "string"
_NUMBER = "number"
_TABLES: dict[str, dict[str, str]] = {
    "QUERY_DATA_SOURCE_USER_DATA": {
        "api_key": _STRING,
        "date": _STRING,
        "ide": _STRING,
        "language": _STRING,
        "num_acceptances": _NUMBER,
        "num_lines_accepted": _NUMBER,
        "num_bytes_accepted": _NUMBER,
        "distinct_users": _NUMBER,
        "distinct_developer_days": _NUMBER,
    },
    "QUERY_DATA_SOURCE_CASCADE_DATA": {
        "api_key": _STRING,
        "date": _STRING,
        "model": _STRING,
        "ide": _STRING,
        "prompts_used": _NUMBER,
        "flex_credits_used": _NUMBER,
        "distinct_users": _NUMBER,
        "distinct_developer_days": _NUMBER,
    },
    # Documented sources this simulator has no rows for: they validate and answer empty results.
    "QUERY_DATA_SOURCE_CHAT_DATA": {
        "api_key": _STRING,
        "model_id": _STRING,
        "date": _STRING,
        "ide": _STRING,
        "version": _STRING,
        "latest_intent_type": _STRING,
        "num_chats_received": _NUMBER,
        "chat_loc_used": _NUMBER,
        "chat_accepted": _NUMBER,
        "chat_inserted_at_cursor": _NUMBER,
        "chat_applied": _NUMBER,
    },
    "QUERY_DATA_SOURCE_COMMAND_DATA": {
        "api_key": _STRING,
        "date": _STRING,
        "timestamp": _STRING,
        "language": _STRING,
        "ide": _STRING,
        "version": _STRING,
        "command_source": _STRING,
        "provider_source": _STRING,
        "lines_added": _NUMBER,
        "lines_removed": _NUMBER,
        "bytes_added": _NUMBER,
        "bytes_removed": _NUMBER,
        "selection_lines": _NUMBER,
        "selection_bytes": _NUMBER,
        "accepted": _NUMBER,
    },
    "QUERY_DATA_SOURCE_PCW_DATA": {
        "language": _STRING,
        "ide": _STRING,
        "version": _STRING,
        "percent_code_written": _NUMBER,
        "codeium_bytes": _NUMBER,
        "user_bytes": _NUMBER,
        "total_bytes": _NUMBER,
        "codeium_bytes_by_autocomplete": _NUMBER,
        "codeium_bytes_by_command": _NUMBER,
    },
}
_FUNCTIONS = (
    "QUERY_AGGREGATION_UNSPECIFIED",
    "QUERY_AGGREGATION_COUNT",
    "QUERY_AGGREGATION_SUM",
    "QUERY_AGGREGATION_AVG",
    "QUERY_AGGREGATION_MAX",
    "QUERY_AGGREGATION_MIN",
)
_FILTERS: dict[str, Callable[[Any, Any], bool]] = {
    "QUERY_FILTER_EQUAL": lambda a, b: bool(a == b),
    "QUERY_FILTER_NOT_EQUAL": lambda a, b: bool(a != b),
    "QUERY_FILTER_GREATER_THAN": lambda a, b: bool(a > b),
    "QUERY_FILTER_LESS_THAN": lambda a, b: bool(a < b),
    "QUERY_FILTER_GE": lambda a, b: bool(a >= b),
    "QUERY_FILTER_LE": lambda a, b: bool(a <= b),
}


@dataclass(frozen=True, slots=True)
class _Selection:
    field: str
    alias: str
    function: str


def _number(text: str) -> Decimal:
    try:
        return Decimal(text)
    except ArithmeticError:
        raise QueryError(f"invalid filter value: {text}") from None


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        value = value.quantize(Decimal("0.000001")).normalize()
        return format(value, "f")
    return str(value)


class QueryEngine:
    """The small SQL-like engine behind /Analytics: filter rows, group, aggregate, stringify."""

    def __init__(self, rows: Callable[[str, tuple[date, date] | None], Iterable[dict[str, Any]]]) -> None:
        self._rows = rows

    def run(self, query: Any) -> list[dict[str, dict[str, str]]]:
        if not isinstance(query, dict):
            raise QueryError("invalid query request")
        source = query.get("data_source") or "QUERY_DATA_SOURCE_UNSPECIFIED"
        if source not in _TABLES:
            raise QueryError(f"invalid query table: {source}")
        fields = _TABLES[source]
        raw_selections = query.get("selections") or []
        raw_aggregations = query.get("aggregations") or []
        raw_filters = query.get("filters") or []
        if not raw_selections and not raw_aggregations:
            raise QueryError("at least one field or aggregation is required")
        selections = []
        for item in raw_selections:
            field = str(item.get("field", ""))
            if field not in fields:
                raise QueryError(f"invalid field: {field}")
            function = item.get("aggregation_function") or "QUERY_AGGREGATION_UNSPECIFIED"
            if function not in _FUNCTIONS:
                raise QueryError(f"invalid aggregation function: {function}")
            if fields[field] == _STRING and function not in (
                "QUERY_AGGREGATION_UNSPECIFIED",
                "QUERY_AGGREGATION_COUNT",
            ):
                raise QueryError(f"invalid aggregation function for string type field {field}")
            default = (
                field if function == "QUERY_AGGREGATION_UNSPECIFIED" else f"{function[18:].lower()}_{field}"
            )
            selections.append(_Selection(field, str(item.get("name") or default), function))
        plain = [s for s in selections if not s.field.startswith("distinct_")]
        with_function = [s for s in plain if s.function != "QUERY_AGGREGATION_UNSPECIFIED"]
        if with_function and len(with_function) != len(plain):
            raise QueryError(
                "all selection fields should have an aggregation function, or none of them should"
            )
        groups: list[tuple[str, str]] = []
        for item in raw_aggregations:
            field = str(item.get("field", ""))
            if field.startswith("distinct_"):
                raise QueryError(f"tried to aggregate on a distinct field: {field}")
            if field not in fields:
                raise QueryError(f"invalid field: {field}")
            groups.append((field, str(item.get("name") or field)))
        aliases = [s.alias for s in selections] + [alias for _, alias in groups]
        for alias in aliases:
            if aliases.count(alias) > 1:
                raise QueryError(f"duplicate field alias for selection/aggregation: {alias}")
        filters = []
        for item in raw_filters:
            name = str(item.get("name", ""))
            if name not in fields or name.startswith("distinct_"):
                raise QueryError(f"invalid filter field: {name}")
            op = item.get("filter")
            if op not in _FILTERS:
                raise QueryError(f"invalid filter: {op}")
            value: Any = str(item.get("value", ""))
            if fields[name] == _NUMBER:
                value = _number(value)
            filters.append((name, _FILTERS[op], value))
        aggregated = bool(groups) or len(plain) != len(selections) or bool(with_function)
        group_fields = {field for field, _ in groups}
        if aggregated:
            for s in plain:
                if s.function == "QUERY_AGGREGATION_UNSPECIFIED" and s.field not in group_fields:
                    raise QueryError(f"field {s.field} must be aggregated or listed in aggregations")
        rows = [
            row
            for row in self._rows(source, _date_bounds(raw_filters))
            if all(op(row[name], value) for name, op, value in filters)
        ]
        if not aggregated:
            return [{"item": {s.alias: _text(row[s.field]) for s in selections}} for row in rows]
        buckets: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for row in rows:
            buckets.setdefault(tuple(row[field] for field, _ in groups), []).append(row)
        items = []
        for key in sorted(buckets):
            members = buckets[key]
            item = {alias: _text(value) for (_, alias), value in zip(groups, key, strict=True)}
            for s in selections:
                item[s.alias] = _text(_aggregate(s, members))
            items.append({"item": item})
        return items


def _aggregate(selection: _Selection, rows: list[dict[str, Any]]) -> Any:
    if selection.field == "distinct_users":
        return len({row["api_key"] for row in rows})
    if selection.field == "distinct_developer_days":
        return len({(row["api_key"], row["date"]) for row in rows})
    values = [row[selection.field] for row in rows]
    function = selection.function
    if function == "QUERY_AGGREGATION_UNSPECIFIED":
        return values[0]
    if function == "QUERY_AGGREGATION_COUNT":
        return len(values)
    if function == "QUERY_AGGREGATION_SUM":
        return sum(values)
    if function == "QUERY_AGGREGATION_AVG":
        return Decimal(sum(values)) / len(values)
    if function == "QUERY_AGGREGATION_MAX":
        return max(values)
    return min(values)


def _date_bounds(filters: list[Any]) -> tuple[date, date] | None:
    """Day range implied by ``date`` filters, so only those days are scanned."""
    lo, hi = date.min, date.max
    for item in filters:
        if not isinstance(item, dict) or item.get("name") != "date":
            continue
        try:
            value = date.fromisoformat(str(item.get("value")))
        except ValueError:
            continue
        op = item.get("filter")
        if op in ("QUERY_FILTER_EQUAL", "QUERY_FILTER_GE"):
            lo = max(lo, value)
        if op in ("QUERY_FILTER_EQUAL", "QUERY_FILTER_LE"):
            hi = min(hi, value)
        if op == "QUERY_FILTER_GREATER_THAN":
            lo = max(lo, value + timedelta(days=1))
        if op == "QUERY_FILTER_LESS_THAN":
            hi = min(hi, value - timedelta(days=1))
    return None if (lo, hi) == (date.min, date.max) else (lo, hi)


# ------------------------------------------------------------------------------------------ server


class _BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class WindsurfSimulator:
    """Windsurf Enterprise API v1 on loopback under ``/api/v1``.

    ``app`` is the Starlette application, ``dataset`` the ground truth, ``faults`` the fault injector,
    ``stats`` the request counters.
    """

    def __init__(
        self,
        *,
        team_size: int = 25,
        days: int = 90,
        seed: int = 2,
        schema: Schema = "new",
        now: datetime | None = None,
        time_scale: float = 1.0,
        service_key: str | None = None,
        permissions: frozenset[str] = ALL_PERMISSIONS,
        requests_per_minute: int = 60,
        rate_limits_enabled: bool = True,
        auth_error_status: int = 401,
        burn_multiplier: float = 1.0,
        prompt_credits_per_seat: int = 500,
        add_on_credits: int | None = None,
        cycle_day: int = 15,
        late_minutes: int = 0,
        people: Sequence[tuple[str, str]] = (),
        model_names: Mapping[str, str] | None = None,
        cascade_data: CascadeData = "complete",
    ) -> None:
        """``people`` replaces the first generated (display name, email) pairs, ``model_names`` renames
        models of :data:`MODELS` (vendor-controlled text, e.g. to test what an export does with it), and
        ``cascade_data`` decides what the per-person CASCADE_DATA source answers (see :data:`CascadeData`).
        """
        if schema not in ("old", "new"):
            raise ValueError(f"unknown schema {schema!r}")
        self.schema: Schema = schema
        self.service_key = (
            service_key
            or "ws-svc-" + hashlib.sha256(f"windsurf-service-key:{seed}".encode()).hexdigest()[:40]
        )
        self.permissions = frozenset(permissions)
        self.rate_limits_enabled = rate_limits_enabled
        self.auth_error_status = auth_error_status
        self.clock = SimClock(now, time_scale)
        self.dataset = WindsurfDataset(
            clock=self.clock,
            team_size=team_size,
            days=days,
            seed=seed,
            burn_multiplier=burn_multiplier,
            prompt_credits_per_seat=prompt_credits_per_seat,
            add_on_credits=add_on_credits,
            cycle_day=cycle_day,
            late_minutes=late_minutes,
            people=people,
            model_names=model_names,
        )
        self.cascade_data: CascadeData = cascade_data
        self.faults = FaultInjector()
        self.stats = RequestStats()
        self.requests_per_minute = requests_per_minute
        self._limiter = FixedWindowLimiter(requests_per_minute, self.clock.wall_seconds(60.0))
        self._revoked = False
        handlers: dict[str, Callable[[dict[str, Any]], Response]] = {
            "Analytics": self._analytics,
            "UserPageAnalytics": self._user_page,
            "CascadeAnalytics": self._cascade,
            "UsageConfig": self._usage_config,
            "GetUsageConfig": self._get_usage_config,
            "GetTeamCreditBalance": self._balance,
        }
        routes = [
            Route(f"{BASE}/{name}", self._endpoint(name, h), methods=["POST"]) for name, h in handlers.items()
        ]
        self.app = Starlette(
            routes=routes,
            middleware=[
                Middleware(
                    SimulatorMiddleware, faults=self.faults, stats=self.stats, error_response=windsurf_error
                )
            ],
            exception_handlers=exception_handlers(
                lambda: windsurf_error(404, "not found"), lambda: windsurf_error(405, "method not allowed")
            ),
        )

    # ---- controls

    @property
    def now(self) -> datetime:
        return self.clock.now

    def advance(self, delta: timedelta) -> datetime:
        return self.clock.advance(delta)

    def revoke_key(self) -> None:
        """From now on the configured service key answers ``auth_error_status``."""
        self._revoked = True

    def restore_key(self) -> None:
        self._revoked = False

    def reset_rate_limits(self) -> None:
        self._limiter.reset()

    # ---- plumbing

    def _endpoint(self, name: str, handler: Callable[[dict[str, Any]], Response]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                body = await read_json_body(request)
            except BodyError:
                return windsurf_error(400, "invalid request body")
            key = body.get("service_key")
            if (
                not isinstance(key, str)
                or self._revoked
                or not hmac.compare_digest(key.encode(), self.service_key.encode())
            ):
                return windsurf_error(self.auth_error_status, "Invalid service key")
            permission = _PERMISSION[name]
            if name == "Analytics" and self.schema == "old":
                permission = "Teams Read-Only"  # the older docs' requirement
            if permission not in self.permissions:
                return windsurf_error(403, "Insufficient permissions")
            if self.rate_limits_enabled and not self._limiter.acquire(key).allowed:
                return windsurf_error(429, "Rate limit exceeded")
            try:
                return handler(body)
            except (_BadRequest, QueryError) as exc:
                status = exc.status if isinstance(exc, _BadRequest) else 400
                return windsurf_error(status, str(exc))

        return endpoint

    def _timestamp(self, body: dict[str, Any], name: str, default: datetime) -> datetime:
        value = body.get(name)
        if value is None or value == "":
            return default
        if not isinstance(value, str):
            raise _BadRequest("invalid timestamp format")
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _BadRequest("invalid timestamp format") from None
        if parsed.tzinfo is None or "T" not in value:
            raise _BadRequest("invalid timestamp format")
        return parsed.astimezone(UTC)

    def _window(self, body: dict[str, Any], default_start: datetime) -> tuple[date, date]:
        """UTC days overlapping [start_timestamp, end_timestamp)."""
        start = self._timestamp(body, "start_timestamp", default_start)
        end = self._timestamp(body, "end_timestamp", self.clock.now)
        if end <= start:
            return date.max, date.min
        last = (end - timedelta(microseconds=1)).date()
        return start.date(), last

    def _group_users(self, body: dict[str, Any]) -> set[int] | None:
        name = body.get("group_name")
        if name is None or name == "":
            return None
        group = self.dataset.group_by_name(str(name))
        if group is None:
            raise _BadRequest(f"invalid group name: {name}")
        return {m.index for m in self.dataset.members if m.group == group}

    # ---- /CascadeAnalytics

    def _cascade(self, body: dict[str, Any]) -> Response:
        ds = self.dataset
        if body.get("group_name") and body.get("emails"):
            raise _BadRequest("Cannot use both group_name and emails parameters")
        users = self._group_users(body)
        emails = body.get("emails")
        if emails:
            if not isinstance(emails, list):
                raise _BadRequest("emails must be a list of strings")
            users = {m.index for m in (ds.find_member(str(e)) for e in emails) if m is not None}
        ide_types = body.get("ide_types") or []
        for ide in ide_types:
            if ide not in IDE_TYPES:
                raise _BadRequest(f"invalid ide type: {ide}")
        queries = body.get("query_requests")
        if not isinstance(queries, list) or not queries:
            raise _BadRequest("at least one query request is required")
        kinds = []
        for query in queries:
            if not isinstance(query, dict) or len(query) != 1:
                raise _BadRequest("each query request must hold exactly one data source")
            (kind,) = query
            if kind not in ("cascade_lines", "cascade_runs", "cascade_tool_usage"):
                raise _BadRequest(f"invalid query request: {kind}")
            kinds.append(kind)
        first, last = self._window(body, day_start(ds.first_day))
        user_mask = np.ones(len(ds.members), dtype=bool)
        if users is not None:
            user_mask[:] = False
            user_mask[list(users)] = True
        ide_ok = np.array([not ide_types or ide in ide_types for ide in IDE_TYPES])
        selected: list[tuple[_Day, Array]] = []
        for ordinal in ds._days_between(first, last):
            day, k, _ = ds._visible(ordinal)
            idx = np.flatnonzero(user_mask[day.user[:k]] & ide_ok[day.ide[:k]])
            selected.append((day, idx))
        results = []
        for kind in kinds:
            if kind == "cascade_runs":
                rows = []
                for day, idx in selected:
                    stamp = rfc3339(from_epoch_ms(day.start_ms))
                    for model, mode, msgs, cid, credits in zip(
                        day.model[idx].tolist(),
                        day.mode[idx].tolist(),
                        day.messages[idx].tolist(),
                        day.cid[idx].tolist(),
                        day.credits[idx].tolist(),
                        strict=True,
                    ):
                        row = {
                            "day": stamp,
                            "model": ds.model_names[model],
                            "mode": MODES[mode],
                            "messagesSent": str(msgs),
                            "cascadeId": str(uuid.UUID(int=(cid[0] << 64) | cid[1])),
                        }
                        if credits:
                            row["promptsUsed"] = str(credits)
                        rows.append(row)
                results.append({"cascadeRuns": {"cascadeRuns": rows}})
            elif kind == "cascade_lines":
                rows = []
                for day, idx in selected:
                    # The CLI has no editor, so it produces no line suggestions.
                    idx = idx[day.ide[idx] != 2]
                    suggested, accepted = int(day.lines_s[idx].sum()), int(day.lines_a[idx].sum())
                    if suggested or accepted:
                        rows.append(
                            _omit_zero(
                                {
                                    "day": rfc3339(from_epoch_ms(day.start_ms)),
                                    "linesSuggested": str(suggested),
                                    "linesAccepted": str(accepted),
                                }
                            )
                        )
                results.append({"cascadeLines": {"cascadeLines": rows}})
            else:
                counts = np.zeros(len(TOOLS), dtype=np.int64)
                for day, idx in selected:
                    counts += day.tools[idx].sum(axis=0)
                order = sorted(range(len(TOOLS)), key=lambda j: (-int(counts[j]), TOOLS[j]))
                tools = [{"tool": TOOLS[j], "count": str(int(counts[j]))} for j in order if counts[j]]
                results.append({"cascadeToolUsage": {"cascadeToolUsage": tools}})
        return json_response({"queryResults": [_omit_empty_result(r) for r in results]})

    # ---- /UserPageAnalytics

    def _user_page(self, body: dict[str, Any]) -> Response:
        ds = self.dataset
        users = self._group_users(body)
        first, last = self._window(body, self.clock.now - timedelta(days=365))
        active = ds._active_matrix(first, last).sum(axis=0)
        credits = ds._user_sums(first, last)
        last_any, last_ac, last_chat = self._last_activity()
        rows = []
        for m in ds.members:
            if users is not None and m.index not in users:
                continue
            row: dict[str, Any] = {"name": m.name, "email": m.email, "apiKey": m.api_key}
            row["activeDays"] = int(active[m.index])
            row["lastUpdateTime"] = last_any.get(m.index, "")
            row["lastAutocompleteUsageTime"] = last_ac.get(m.index, "")
            row["lastChatUsageTime"] = last_chat.get(m.index, "")
            row["disableCodeium"] = m.disabled
            if self.schema == "new":
                row["teamStatus"] = m.status
                row["role"] = m.role
                row["signupTime"] = rfc3339(m.signup_time, micros=True)
                row["promptCreditsUsed"] = int(credits[m.index])
            rows.append(_omit_zero(row))
        payload: dict[str, Any] = {"userTableStats": rows}
        if self.schema == "new":
            payload["billingCycleStart"] = rfc3339(ds.cycle_start)
            payload["billingCycleEnd"] = rfc3339(ds.cycle_end)
        return json_response(payload)

    def _last_activity(self) -> tuple[dict[int, str], dict[int, str], dict[int, str]]:
        """Latest visible activity per user: any, autocomplete, Cascade (RFC 3339 with microseconds)."""
        ds = self.dataset
        n = len(ds.members)
        last_ac = np.full(n, -1, dtype=np.int64)
        last_chat = np.full(n, -1, dtype=np.int64)
        for ordinal in ds._days_between(ds.first_day, self.clock.today):
            day, k, ak = ds._visible(ordinal)
            base = day.start_ms // 60_000
            np.maximum.at(last_chat, day.user[:k], base + day.minute[:k])
            np.maximum.at(last_ac, day.ac_user[:ak], base + day.ac_minute[:ak])
        now_ms = self.clock.now_ms

        def stamps(minutes: Array) -> dict[int, str]:
            out = {}
            for u, minute in enumerate(minutes.tolist()):
                if minute >= 0:
                    ms = min(minute * 60_000 + (u * 7_919) % 60_000, now_ms)
                    moment = from_epoch_ms(ms) + timedelta(microseconds=(u * 104_729) % 1000)
                    out[u] = rfc3339(moment, micros=True)
            return out

        return stamps(np.maximum(last_ac, last_chat)), stamps(last_ac), stamps(last_chat)

    # ---- /Analytics

    def _analytics(self, body: dict[str, Any]) -> Response:
        queries = body.get("query_requests")
        if not isinstance(queries, list) or not queries:
            raise QueryError("at least one field or aggregation is required")
        users = self._group_users(body)
        engine = QueryEngine(lambda source, bounds: self._query_rows(source, bounds, users))
        results = [{"responseItems": engine.run(query)} for query in queries]
        return json_response({"queryResults": [_omit_empty_result(r) for r in results]})

    def _query_rows(
        self, source: str, bounds: tuple[date, date] | None, users: set[int] | None
    ) -> Iterable[dict[str, Any]]:
        """Rows of one /Analytics table: USER_DATA per (user, day, language), CASCADE_DATA per
        (user, day, model, ide)."""
        ds = self.dataset
        first, last = bounds or (ds.first_day, self.clock.today)
        if source == "QUERY_DATA_SOURCE_USER_DATA":
            for ordinal in ds._days_between(first, last):
                day, _, ak = ds._visible(ordinal)
                iso = date.fromordinal(ordinal).isoformat()
                for u, lang, ide, acc, lines, nbytes in zip(
                    day.ac_user[:ak].tolist(),
                    day.ac_lang[:ak].tolist(),
                    day.ac_ide[:ak].tolist(),
                    day.ac_acc[:ak].tolist(),
                    day.ac_lines[:ak].tolist(),
                    day.ac_bytes[:ak].tolist(),
                    strict=True,
                ):
                    if users is not None and u not in users:
                        continue
                    yield {
                        "api_key": ds.members[u].api_key,
                        "date": iso,
                        "ide": _USER_DATA_IDE[ide],
                        "language": LANGUAGES[lang],
                        "num_acceptances": acc,
                        "num_lines_accepted": lines,
                        "num_bytes_accepted": nbytes,
                    }
        elif source == "QUERY_DATA_SOURCE_CASCADE_DATA":
            if self.cascade_data == "none":
                return
            if self.cascade_data == "partial":
                every_other = {m.index for m in ds.members if m.index % 2 == 0}
                users = every_other if users is None else users & every_other
            for ordinal in ds._days_between(first, last):
                day, k, _ = ds._visible(ordinal)
                iso = date.fromordinal(ordinal).isoformat()
                sums: dict[tuple[int, int, int], list[int]] = {}
                for u, model, ide, credits, flex in zip(
                    day.user[:k].tolist(),
                    day.model[:k].tolist(),
                    day.ide[:k].tolist(),
                    day.credits[:k].tolist(),
                    day.flex[:k].tolist(),
                    strict=True,
                ):
                    if users is not None and u not in users:
                        continue
                    entry = sums.setdefault((u, model, ide), [0, 0])
                    entry[0] += credits - flex
                    entry[1] += flex
                for (u, model, ide), (prompts, flex) in sorted(sums.items()):
                    yield {
                        "api_key": ds.members[u].api_key,
                        "date": iso,
                        "model": ds.model_names[model],
                        "ide": IDE_TYPES[ide],
                        "prompts_used": prompts,
                        "flex_credits_used": flex,
                    }

    # ---- billing

    def _balance(self, body: dict[str, Any]) -> Response:
        return json_response(_omit_zero(self.dataset.balance()))

    def _scope(self, body: dict[str, Any]) -> tuple[str, str]:
        scopes = []
        if body.get("team_level") is True:
            scopes.append(("team", ""))
        if body.get("group_id") not in (None, ""):
            group_id = str(body["group_id"])
            if self.dataset.group_by_id(group_id) is None:
                scopes.append(("bad-group", group_id))
            else:
                scopes.append(("group", group_id))
        if body.get("user_email") not in (None, ""):
            scopes.append(("user", str(body["user_email"]).lower()))
        if len(scopes) != 1:
            raise _BadRequest("exactly one of team_level, group_id or user_email must be set")
        scope = scopes[0]
        if scope[0] == "bad-group":
            raise _BadRequest(f"invalid group id: {scope[1]}")
        if scope[0] == "user" and self.dataset.find_member(scope[1]) is None:
            raise _BadRequest(f"user not found: {body['user_email']}")
        return scope

    def _get_usage_config(self, body: dict[str, Any]) -> Response:
        kind, value = self._scope(body)
        cap = self.dataset._caps.get((kind, value))
        key = "add_on_credit_cap" if self.schema == "old" else "addOnCreditCap"
        return json_response({} if cap is None else {key: cap})

    def _usage_config(self, body: dict[str, Any]) -> Response:
        has_set = "set_add_on_credit_cap" in body and body["set_add_on_credit_cap"] is not None
        has_clear = body.get("clear_add_on_credit_cap") is True
        if has_set == has_clear:
            raise _BadRequest("exactly one of set_add_on_credit_cap or clear_add_on_credit_cap must be set")
        value: int | None = None
        if has_set:
            raw = body["set_add_on_credit_cap"]
            if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
                raise _BadRequest("set_add_on_credit_cap must be a non-negative integer")
            value = raw
        scope = self._scope(body)
        self.dataset._set_cap(scope, value)
        return json_response({})


def _omit_empty_result(result: dict[str, Any]) -> dict[str, Any]:
    """``{"cascadeRuns": {"cascadeRuns": []}}`` → ``{"cascadeRuns": {}}``, as protobuf-JSON would."""
    out: dict[str, Any] = {}
    for key, value in result.items():
        if isinstance(value, dict):
            out[key] = {k: v for k, v in value.items() if v != []}
        elif value != []:
            out[key] = value
    return out


__all__ = [
    "ALL_PERMISSIONS",
    "IDE_TYPES",
    "MODELS",
    "MODES",
    "TOOLS",
    "QueryEngine",
    "QueryError",
    "WindsurfDataset",
    "WindsurfGroup",
    "WindsurfMember",
    "WindsurfRun",
    "WindsurfSimulator",
    "windsurf_error",
]
