"""Burn rate, runway, cycle forecast and budget levels: one set of sums for ``credits``, digests, alerts.

Amounts are in the unit of their source (``Decimal`` cents or credits); nothing here cares which. Days are
``Decimal`` so that "2.5 days left" survives until it is rendered. Instants are aware UTC datetimes.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum

DEFAULT_BUDGET_LEVELS = (50, 80, 100)
"""Percentages of a budget that each raise an alert once per cycle."""

NEAR_LIMIT_PERCENT = Decimal(90)
"""A person at this share of their own spend limit is "near their limit" (``credits``, digests, alerts)."""

BURN_WINDOW_DAYS = 7
"""Runway divides what is left by the average daily burn of the last 7 days (design: credits left)."""

MIN_RECENT_DAYS = 3
"""Fewer whole days of recent history than this, and the forecast uses the cycle-to-date average."""

MAX_RUNWAY = timedelta(days=36_525)
"""Beyond a century a run-out date means nothing (and would overflow ``datetime``): it is left out."""

_SECONDS_PER_DAY = Decimal(86_400)
_HUNDRED = Decimal(100)


def daily_burn(daily_amounts: Sequence[Decimal], *, days: int = BURN_WINDOW_DAYS) -> Decimal:
    """The average spend per day over the last ``days`` whole days (oldest first in ``daily_amounts``).

    Days missing from the sequence count as zero, so a connection made three days ago is not credited with
    a week of spending: the caller passes whole days only (not today, which is still running).
    """
    if days < 1:
        raise ValueError("the burn is averaged over at least one day")
    recent = list(daily_amounts)[-days:]
    return sum(recent, Decimal(0)) / days


@dataclass(frozen=True, slots=True)
class Runway:
    """How long what is left lasts at the current burn.

    ``days_left`` is None when nothing is being spent. ``runs_out_at`` is None then too, and when it is more
    than a century away. ``ends_before_cycle`` says whether it runs out before the cycle resets (which only
    matters then); ``top_up_by`` is the last local day to top up on, set only when it does.
    """

    remaining: Decimal
    burn_per_day: Decimal
    days_left: Decimal | None
    runs_out_at: datetime | None
    ends_before_cycle: bool
    top_up_by: date | None


def runway(
    remaining: Decimal,
    burn_per_day: Decimal,
    *,
    now: datetime,
    cycle_end: datetime | None,
    tz: tzinfo = UTC,
) -> Runway:
    """Divide what is left by the daily burn, and place the run-out against the cycle's end.

    ``top_up_by`` is the day before the run-out day in ``tz`` (the reader's zone), but never before today:
    if it runs out tomorrow, today is the day to top up.
    """
    _require_aware(now)
    if burn_per_day <= 0:
        return Runway(remaining, burn_per_day, None, None, ends_before_cycle=False, top_up_by=None)
    days_left = max(remaining, Decimal(0)) / burn_per_day
    runs_out_at = _after_days(now, days_left)
    ends_before_cycle = runs_out_at is not None and cycle_end is not None and runs_out_at < cycle_end
    top_up_by = None
    if ends_before_cycle and runs_out_at is not None:
        today = now.astimezone(tz).date()
        top_up_by = max(runs_out_at.astimezone(tz).date() - timedelta(days=1), today)
    return Runway(remaining, burn_per_day, days_left, runs_out_at, ends_before_cycle, top_up_by)


class BurnBasis(StrEnum):
    """Where a forecast's daily burn came from."""

    RECENT = "recent"
    CYCLE_AVERAGE = "cycle_average"


@dataclass(frozen=True, slots=True)
class CycleForecast:
    """Where the cycle is heading: spent so far, the burn used, and the projected total at the cycle end."""

    spent_to_date: Decimal
    projected_total: Decimal
    burn_per_day: Decimal
    basis: BurnBasis
    days_remaining: Decimal
    as_of: datetime
    cycle_start: datetime
    cycle_end: datetime


def forecast_cycle(
    spent_to_date: Decimal,
    *,
    cycle_start: datetime,
    cycle_end: datetime,
    now: datetime,
    recent_daily: Sequence[Decimal],
) -> CycleForecast:
    """Project the cycle's total: what is spent plus the daily burn times the days left in the cycle.

    The burn is the average of the recent whole days (``recent_daily``, oldest first, at most the last 7);
    with fewer than 3 of them it is the cycle-to-date average instead (at least one day elapsed, so an
    hour-old cycle does not multiply its first hour by 24).
    """
    for moment in (cycle_start, cycle_end, now):
        _require_aware(moment)
    if cycle_start >= cycle_end:
        raise ValueError("a billing cycle must end after it starts")
    days_remaining = max(_days_between(now, cycle_end), Decimal(0))
    if len(recent_daily) >= MIN_RECENT_DAYS:
        burn = daily_burn(recent_daily, days=min(len(recent_daily), BURN_WINDOW_DAYS))
        basis = BurnBasis.RECENT
    else:
        elapsed_days = max(_days_between(cycle_start, now), Decimal(1))
        burn = spent_to_date / elapsed_days
        basis = BurnBasis.CYCLE_AVERAGE
    projected = spent_to_date + max(burn, Decimal(0)) * days_remaining
    return CycleForecast(
        spent_to_date=spent_to_date,
        projected_total=projected,
        burn_per_day=burn,
        basis=basis,
        days_remaining=days_remaining,
        as_of=now,
        cycle_start=cycle_start,
        cycle_end=cycle_end,
    )


@dataclass(frozen=True, slots=True)
class BudgetReading:
    """A budget for the cycle against what is spent and what is forecast.

    ``crossed`` lists the levels (percentages of the budget) that the spend has reached, lowest first.
    ``forecast_crosses_at`` is when the forecast reaches the budget, set only when it is forecast to and
    has not yet.
    """

    budget: Decimal
    spent: Decimal
    projected: Decimal
    percent_used: Decimal
    crossed: tuple[int, ...]
    forecast_exceeds: bool
    forecast_crosses_at: datetime | None


def budget_levels(
    spent: Decimal,
    projected: Decimal,
    budget: Decimal,
    levels: Sequence[int] = DEFAULT_BUDGET_LEVELS,
    *,
    forecast: CycleForecast | None = None,
) -> BudgetReading:
    """Which levels of a budget the spend has reached, and whether (and when) the forecast exceeds it.

    A level is reached at exactly its share of the budget (spending the whole budget crosses 100%). The
    crossing instant needs the burn behind the forecast, so it is given only with ``forecast``.
    """
    if budget <= 0:
        raise ValueError("a budget must be more than zero")
    crossed = tuple(level for level in sorted(set(levels)) if spent * _HUNDRED >= budget * level)
    forecast_exceeds = projected > budget
    crosses_at = None
    if forecast is not None and forecast_exceeds and spent < budget and forecast.burn_per_day > 0:
        crosses_at = _after_days(forecast.as_of, (budget - spent) / forecast.burn_per_day)
    return BudgetReading(
        budget=budget,
        spent=spent,
        projected=projected,
        percent_used=spent * _HUNDRED / budget,
        crossed=crossed,
        forecast_exceeds=forecast_exceeds,
        forecast_crosses_at=crosses_at,
    )


def _after_days(start: datetime, days: Decimal) -> datetime | None:
    seconds = days * _SECONDS_PER_DAY
    if seconds > Decimal(MAX_RUNWAY.total_seconds()):
        return None
    return (start + timedelta(seconds=int(seconds))).astimezone(UTC)


def _days_between(start: datetime, end: datetime) -> Decimal:
    elapsed = end - start
    microseconds = (elapsed.days * 86_400 + elapsed.seconds) * 10**6 + elapsed.microseconds
    return Decimal(microseconds) / (_SECONDS_PER_DAY * 10**6)


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("times must be timezone-aware")


def cycle_at(current: tuple[datetime, datetime], at: datetime) -> tuple[datetime, datetime]:
    """The billing cycle holding ``at``, counted in whole months from ``current`` (start, exclusive end).

    Vendors tell us only their current cycle; an earlier one starts the same day of the month at the same
    time (the month's last day when it is shorter), and ends where the next one starts.
    """
    start, end = current
    if start <= at < end:
        return current
    months = (at.year - start.year) * 12 + at.month - start.month
    while _months_after(start, months) > at:
        months -= 1
    while _months_after(start, months + 1) <= at:
        months += 1
    return _months_after(start, months), _months_after(start, months + 1)


def _months_after(instant: datetime, months: int) -> datetime:
    index = instant.year * 12 + instant.month - 1 + months
    year, month = divmod(index, 12)
    day = min(instant.day, calendar.monthrange(year, month + 1)[1])
    return instant.replace(year=year, month=month + 1, day=day)
