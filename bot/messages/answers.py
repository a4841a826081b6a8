"""What the read commands answer, as plain values: the Slack layer and the console render these.

Amounts carry their unit (``usd_cents`` or ``credits``); times are aware UTC and are converted to the
reader's zone only when rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from bot.domain.alerts import Episode
from bot.domain.change import Explanation
from bot.domain.commands import SubscribeSpike
from bot.domain.idle import IdleSeats
from bot.domain.overlap import ToolUse
from bot.domain.spikes import ReplayedPost
from bot.domain.usage import CreditPool

USD = "usd_cents"
CREDITS = "credits"


@dataclass(frozen=True)
class Freshness:
    """How recent one source's data is, and what went wrong fetching newer data."""

    connection: str
    vendor: str
    as_of: datetime | None
    problem: str | None = None
    overdue_after: timedelta | None = None
    """Set when newer data is overdue: the interval it is refreshed at (a sync that overran it, waiting
    on a throttling or hanging vendor, would otherwise leave old figures looking current)."""


@dataclass(frozen=True)
class SourceTotal:
    """One connection's total for the period and the previous equal period, in its own unit."""

    connection: str
    vendor: str
    unit: str
    amount: Decimal
    previous: Decimal
    requests: Decimal
    utc_days: bool = False  # Windsurf reports whole UTC days
    tokens: int = 0
    usd_cents: Decimal | None = None  # the amount in dollars when it can be counted in them
    previous_usd_cents: Decimal | None = None


#: The rows of a breakdown an answer shows; the rest are counted.
BREAKDOWN_ROWS = 25


class BreakdownRow(NamedTuple):
    """One row of a breakdown; a named tuple, as a breakdown by person holds thousands."""

    label: str
    amount: Decimal
    unit: str
    requests: Decimal = Decimal(0)
    previous: Decimal | None = None
    tokens: int = 0


@dataclass(frozen=True)
class Breakdown:
    """Rows of a breakdown by user, model or day, largest first (days in order).

    ``rows`` may hold only the first :data:`BREAKDOWN_ROWS` (those shown) of a large breakdown; then
    ``size`` says how many there are and ``total`` what they all come to.
    """

    by: str
    rows: tuple[BreakdownRow, ...]
    note: str | None = None
    size: int | None = None
    total: Decimal | None = None

    @property
    def count(self) -> int:
        return len(self.rows) if self.size is None else self.size

    @property
    def amount(self) -> Decimal:
        return sum((row.amount for row in self.rows), Decimal(0)) if self.total is None else self.total


@dataclass(frozen=True)
class SpendAnswer:
    period_label: str
    previous_label: str
    tz: ZoneInfo
    sources: tuple[SourceTotal, ...]
    total_usd_cents: Decimal | None
    previous_total_usd_cents: Decimal | None
    left_out: tuple[str, ...]
    breakdowns: tuple[Breakdown, ...]
    freshness: tuple[Freshness, ...]
    notes: tuple[str, ...] = ()
    why: Explanation | None = None
    """The dollar change against the previous period, split by cause (``domain.change``)."""


@dataclass(frozen=True)
class PersonTotal:
    email: str
    name: str | None
    amount: Decimal
    unit: str
    previous: Decimal = Decimal(0)


@dataclass(frozen=True)
class Ranking:
    """People ranked by spend within one unit (dollars, or credits when no price is set)."""

    unit: str
    sources: tuple[str, ...]
    people: tuple[PersonTotal, ...]
    total_people: int


@dataclass(frozen=True)
class TopAnswer:
    period_label: str
    tz: ZoneInfo
    n: int
    rankings: tuple[Ranking, ...]
    freshness: tuple[Freshness, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PersonOnTools:
    """One person on two or more tools: each tool's figure (main dollar tool first), the dollars at stake."""

    email: str
    name: str | None
    tools: tuple[ToolUse, ...]
    at_stake_cents: Decimal


@dataclass(frozen=True)
class PeopleAnswer:
    period_label: str
    tz: ZoneInfo
    people: tuple[PersonOnTools, ...]
    total_people: int
    at_stake_cents: Decimal
    freshness: tuple[Freshness, ...]


@dataclass(frozen=True)
class IdleAnswer:
    """The seats unused for ``days`` days up to the reader's ``today``, of the seat-based ``sources``."""

    days: int
    today: date
    tz: ZoneInfo
    found: IdleSeats
    sources: tuple[str, ...]
    freshness: tuple[Freshness, ...]


@dataclass(frozen=True)
class BacktestAnswer:
    """What a spike rule would have posted over the UTC days ``first..last``, oldest first."""

    rule: SubscribeSpike
    first: date
    last: date
    posts: tuple[ReplayedPost, ...]
    tz: ZoneInfo
    freshness: tuple[Freshness, ...]


@dataclass(frozen=True)
class AlertBacktestAnswer:
    """What a budget or credit-low rule would have posted over the UTC days ``first..last``.

    ``rule`` reads as the subscription would be listed; ``replayed`` names the sources whose history was
    replayed and ``left_out`` the others, each with why; ``remind_hours`` is the live reminder cadence.
    """

    rule: str
    first: date
    last: date
    episodes: tuple[Episode, ...]
    replayed: tuple[str, ...]
    left_out: tuple[tuple[str, str], ...]
    remind_hours: float
    note: str
    tz: ZoneInfo
    freshness: tuple[Freshness, ...]


@dataclass(frozen=True)
class PersonSource:
    """One person's figures on one connection."""

    connection: str
    vendor: str
    unit: str
    amount: Decimal
    previous: Decimal
    cycle_total: Decimal | None = None
    limit: Decimal | None = None
    utc_days: bool = False
    requests: Decimal = Decimal(0)
    previous_requests: Decimal = Decimal(0)
    tokens: int = 0


@dataclass(frozen=True)
class UserAnswer:
    email: str
    name: str | None
    period_label: str
    tz: ZoneInfo
    sources: tuple[PersonSource, ...]
    models: tuple[BreakdownRow, ...]
    freshness: tuple[Freshness, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CreditView:
    """A credit source: its pools, what is left, the runway at the recent burn, and the cycle."""

    connection: str
    vendor: str
    unit: str
    pools: tuple[CreditPool, ...]
    remaining: Decimal
    size: Decimal
    burn_per_day: Decimal
    days_left: Decimal | None
    runs_out_at: datetime | None
    top_up_by: date | None
    cycle_end: datetime | None
    observed_at: datetime | None

    @property
    def percent_left(self) -> Decimal | None:
        return None if self.size <= 0 else self.remaining / self.size * 100


@dataclass(frozen=True)
class NearLimit:
    email: str
    name: str | None
    spent_cents: Decimal
    limit_cents: Decimal

    @property
    def percent(self) -> Decimal:
        return self.spent_cents / self.limit_cents * 100 if self.limit_cents > 0 else Decimal(100)


@dataclass(frozen=True)
class LimitWatch:
    """People at or above a share of their own spend limit (names only for those who may see them)."""

    connection: str
    threshold_percent: Decimal
    people: tuple[NearLimit, ...]
    count: int
    names_hidden: bool
    with_limits: int
    vendor: str = "cursor"


@dataclass(frozen=True)
class TrackedView:
    connection: str
    field: str
    value: Decimal
    observed_at: datetime
    previous: Decimal | None = None


@dataclass(frozen=True)
class CreditsAnswer:
    tz: ZoneInfo
    credits: tuple[CreditView, ...]
    limits: tuple[LimitWatch, ...]
    tracked: tuple[TrackedView, ...]
    freshness: tuple[Freshness, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class WindowView:
    """One rate-limit window of a connection: what the vendor said, or our own count, and what we met."""

    scope: str
    limit: int | None
    remaining: int | None
    reset_at: datetime | None
    window_seconds: int | None
    rate_limited_total: int
    waited_seconds_total: float
    observed_at: datetime

    @property
    def percent_left(self) -> Decimal | None:
        if self.limit is None or self.remaining is None or self.limit <= 0:
            return None
        return Decimal(self.remaining) / Decimal(self.limit) * 100


@dataclass(frozen=True)
class LimitsAnswer:
    tz: ZoneInfo
    connections: tuple[tuple[str, str, tuple[WindowView, ...]], ...]  # (name, vendor, windows)


@dataclass(frozen=True)
class StatusCard:
    """One connection at a glance."""

    connection: str
    vendor: str
    origin: str
    status: str
    status_detail: str | None
    unit: str
    cycle_spent: Decimal | None
    cycle_start: datetime | None
    cycle_end: datetime | None
    credit: CreditView | None
    near_limit: int | None
    tracked: TrackedView | None
    windows: tuple[WindowView, ...]
    freshness: Freshness
    errors: tuple[str, ...] = field(default_factory=tuple)
    people_unavailable: bool = False
    """Part of the cycle's spend is only known as team totals (per-person figures did not add up)."""


@dataclass(frozen=True)
class StatusAnswer:
    tz: ZoneInfo
    cards: tuple[StatusCard, ...]
    notes: tuple[str, ...] = ()
