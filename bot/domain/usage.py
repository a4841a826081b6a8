"""The normalised usage model: what every connector returns, the store keeps and services read.

It lives in the domain, not beside the connectors, so the store and the services can speak of spend
without importing a vendor client; the connectors in ``bot.vendors`` build these values at their edge.

Units are converted once, at the connector edge, and never again:

- money is ``Decimal`` **cents** of US dollars (Cursor reports fractional cents; its limits arrive in whole
  dollars and its connector converts them to cents);
- credits are ``Decimal`` **credits** (Windsurf reports some of them in hundredths; its connector divides
  them);
- times are timezone-aware UTC ``datetime`` values.

These are plain frozen dataclasses with slots: a backfill creates millions of them, so they must be
cheap to build and small in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum


class Vendor(StrEnum):
    CURSOR = "cursor"
    WINDSURF = "windsurf"
    REST = "rest"
    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    COPILOT = "copilot"


class Unit(StrEnum):
    """The unit of an amount: US cents, or vendor credits."""

    USD_CENTS = "usd_cents"
    CREDITS = "credits"


class Granularity(StrEnum):
    """How wide a spend row's bucket is.

    Cursor events carry timestamps, so they are bucketed by quarter hour (every real time zone's offset is
    a multiple of 15 minutes, so any local day is an exact union of buckets). Windsurf reports whole UTC
    days.
    """

    QUARTER_HOUR = "15m"
    DAY = "1d"

    @property
    def width(self) -> timedelta:
        return timedelta(minutes=15) if self is Granularity.QUARTER_HOUR else timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Member:
    """One person on a vendor team."""

    email: str
    name: str | None = None
    role: str | None = None
    active: bool = True
    vendor_user_id: str | None = None
    last_active_at: datetime | None = None
    """When the vendor last saw the person use the tool (Copilot, Windsurf); None when it does not say."""


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """One priced request (Cursor ``filtered-usage-events``), already in our units."""

    timestamp: datetime
    user_email: str
    model: str
    cents: Decimal
    requests: Decimal
    priced: bool = True
    chargeable: bool | None = None
    kind: str | None = None
    tokens: int = 0


@dataclass(frozen=True, slots=True)
class SpendRow:
    """Spend of one person (or the whole team when ``user_email`` is None) on one model in one bucket.

    ``amount`` is in ``unit``: cents for ``USD_CENTS``, credits for ``CREDITS``. ``requests`` counts
    requests, messages or request units as the vendor reports them. ``tokens`` counts every token
    processed (input, cached or not, and output) where the vendor reports them, 0 elsewhere: a count
    in its own unit, never turned into money.
    """

    vendor: Vendor
    bucket_start: datetime
    granularity: Granularity
    user_email: str | None
    model: str | None
    amount: Decimal
    unit: Unit
    requests: Decimal = Decimal(0)
    tokens: int = 0

    @property
    def day(self) -> date:
        """The UTC day the bucket falls in."""
        return self.bucket_start.date()


CountCells = dict[tuple[date, str | None, str], tuple[Decimal, int]]
"""(requests, tokens) per (UTC day, person or None for the team, model)."""


def add_counts(
    cells: CountCells, key: tuple[date, str | None, str], requests: Decimal = Decimal(0), tokens: int = 0
) -> None:
    """Add ``requests`` and ``tokens`` to the cell ``key`` (a new cell when there is none)."""
    seen_requests, seen_tokens = cells.get(key, (Decimal(0), 0))
    cells[key] = (seen_requests + requests, seen_tokens + tokens)


def count_rows(vendor: Vendor, cells: CountCells) -> list[SpendRow]:
    """Whole-UTC-day rows that carry counts and no money (``amount`` 0), ordered by day, person, model.

    For vendors whose money is the organisation's only: their people's requests, sessions and tokens.
    """
    return [
        SpendRow(
            vendor=vendor,
            bucket_start=datetime(day.year, day.month, day.day, tzinfo=UTC),
            granularity=Granularity.DAY,
            user_email=email,
            model=model,
            amount=Decimal(0),
            unit=Unit.USD_CENTS,
            requests=requests,
            tokens=tokens,
        )
        for (day, email, model), (requests, tokens) in sorted(
            cells.items(), key=lambda item: (item[0][0], item[0][1] or "", item[0][2])
        )
        if requests or tokens
    ]


@dataclass(frozen=True, slots=True)
class CycleSpend:
    """One person's spend in the current billing cycle, with their own limit.

    ``total_cents`` is everything spent this cycle (Cursor ``overallSpendCents``; when a vendor response
    predates that field it falls back to ``spendCents`` and ``total_is_fallback`` is True).
    ``on_demand_cents`` is the part beyond the included usage, when the vendor says so.
    ``limit_cents`` is the limit actually enforced on the person, None when they have none.
    """

    user_email: str
    name: str | None
    total_cents: Decimal
    on_demand_cents: Decimal | None
    limit_cents: Decimal | None
    total_is_fallback: bool = False
    premium_requests: int = 0


@dataclass(frozen=True, slots=True)
class CycleSpendReport:
    """The whole team's cycle-to-date spend: the cycle bounds and one row per member."""

    cycle_start: datetime | None
    cycle_end: datetime | None
    rows: tuple[CycleSpend, ...]
    unit: Unit = Unit.USD_CENTS


@dataclass(frozen=True, slots=True)
class CreditPool:
    """One pool of credits for the current cycle (for example Windsurf's prompt pool and add-on pool)."""

    name: str
    size: Decimal
    used: Decimal

    @property
    def remaining(self) -> Decimal:
        return max(self.size - self.used, Decimal(0))


@dataclass(frozen=True, slots=True)
class CreditBalance:
    """The credit pools of the current billing cycle, as observed at ``observed_at``."""

    cycle_start: datetime | None
    cycle_end: datetime | None
    pools: tuple[CreditPool, ...]
    unit: Unit
    observed_at: datetime

    @property
    def size(self) -> Decimal:
        return sum((pool.size for pool in self.pools), Decimal(0))

    @property
    def used(self) -> Decimal:
        return sum((pool.used for pool in self.pools), Decimal(0))

    @property
    def remaining(self) -> Decimal:
        return sum((pool.remaining for pool in self.pools), Decimal(0))


@dataclass(frozen=True, slots=True)
class RateLimitStatus:
    """What a vendor (or our own count against a declared plan quota) says about a rate-limit window.

    ``scope`` names the window: an endpoint class (``admin``, ``usage_events``...), or for REST APIs
    ``headers`` (what the ``X-RateLimit-*`` headers said), ``minute`` and ``day`` (our count against the
    declared plan quotas).
    """

    scope: str
    limit: int | None
    remaining: int | None
    reset_at: datetime | None
    window: timedelta | None
    observed_at: datetime

    @property
    def headroom(self) -> float | None:
        """Fraction of the window still available (0..1), None when unknown."""
        if self.limit is None or self.remaining is None or self.limit <= 0:
            return None
        return max(0.0, min(1.0, self.remaining / self.limit))


@dataclass(frozen=True, slots=True)
class TrackedFigure:
    """A number read from a JSON field of a REST endpoint that the operator asked us to track."""

    path: str
    field: str
    value: Decimal
    observed_at: datetime


# Added with the connectors: activity figures that carry no money, each from one vendor endpoint.


@dataclass(frozen=True, slots=True)
class DailyActivity:
    """One person's activity on one UTC day (Cursor ``daily-usage-data``): counts, never money.

    The ``*_requests`` counters are raw event counts, not billable request units.
    """

    day: date
    user_email: str
    active: bool
    agent_requests: int = 0
    chat_requests: int = 0
    composer_requests: int = 0
    cmdk_usages: int = 0
    bugbot_usages: int = 0
    tabs_accepted: int = 0
    lines_added: int = 0
    accepted_lines_added: int = 0
    included_requests: int = 0
    usage_based_requests: int = 0
    api_key_requests: int = 0
    most_used_model: str | None = None


@dataclass(frozen=True, slots=True)
class ActiveUsers:
    """Daily active users on one UTC day (Cursor Analytics ``/analytics/team/dau``)."""

    day: date
    active_users: int
    cli_active_users: int = 0
    cloud_agent_active_users: int = 0
    bugbot_active_users: int = 0


@dataclass(frozen=True, slots=True)
class ModelMessages:
    """Messages sent to one model on one UTC day, team-wide or for ``user_email`` (Cursor Analytics).

    These are message counts, not money.
    """

    day: date
    model: str
    messages: int
    users: int
    user_email: str | None = None


@dataclass(frozen=True, slots=True)
class DailyLines:
    """Lines an agent suggested and the team accepted on one UTC day (Windsurf ``cascade_lines``)."""

    day: date
    lines_suggested: int
    lines_accepted: int
