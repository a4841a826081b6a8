"""Readings from figures: what each credit-low, budget and rate-limit alert measures, given its figures.

Pure functions of the figures (no store, no clock), so the thresholds, their hysteresis
(``bot.domain.alerts``) and each reading's key are unit-tested on hand-made values; ``AlertService``
gathers the figures and steps the readings' state machines, and ``backtest`` replays them on history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.domain.alerts import (
    BUDGET_FORECAST_MARGIN,
    BUDGET_LEVEL_MARGIN,
    CREDIT_AMOUNT_MARGIN,
    CREDIT_PERCENT_MARGIN,
    DEFAULT_CREDIT_PERCENT,
    HEADROOM_MARGIN,
)
from bot.domain.commands import SourceFilter
from bot.domain.forecast import budget_levels, forecast_cycle
from bot.domain.money import format_amount
from bot.domain.usage import Unit
from bot.domain.vendors import traits
from bot.messages.alerts import (
    budget_detail,
    credit_pool_detail,
    headroom_detail,
    near_limit_detail,
    throttled_detail,
    tracked_detail,
)
from bot.messages.answers import CreditView, LimitWatch, TrackedView, WindowView
from bot.store.models import Connection


@dataclass(frozen=True)
class Reading:
    """One condition of one subscription, as measured now.

    ``entering`` says whether it holds for an alert that is not firing; ``staying`` whether it still holds
    for one that is (the hysteresis that keeps a reading at the line from flapping).
    """

    metric: str
    threshold: str
    cycle: str
    entering: bool
    staying: bool
    title: str
    detail: str
    value: str | None = None
    rising: bool = False  # breached when ``value`` grew since the last check (429s met), not by a threshold


@dataclass(frozen=True)
class CreditThreshold:
    """A credit-low subscription's line: a percent left, an amount left, or neither (the default)."""

    percent: Decimal | None
    amount: Decimal | None

    @classmethod
    def of(cls, params: dict[str, Any]) -> CreditThreshold:
        percent = Decimal(params["below_percent"]) if params.get("below_percent") else None
        amount = Decimal(params["below_amount"]) if params.get("below_amount") else None
        return cls(percent, amount)


def credit_pool_reading(name: str, label: str, view: CreditView, line: CreditThreshold) -> Reading:
    """A credit pool's reading: low at the line, or by default at 20% left or when it runs out before the
    cycle ends. ``name`` is the connection's, ``label`` how the alert names it."""
    left = view.percent_left if view.percent_left is not None else Decimal(100)
    cycle = f"cycle:{view.cycle_end:%Y-%m-%d}" if view.cycle_end else "cycle:-"
    runs_short = (
        view.runs_out_at is not None and view.cycle_end is not None and view.runs_out_at < view.cycle_end
    )
    if line.percent is not None:
        threshold = f"pct:{line.percent}"
        entering, staying = left <= line.percent, left <= line.percent + CREDIT_PERCENT_MARGIN
    elif line.amount is not None:
        threshold = f"abs:{line.amount}"
        entering = view.remaining <= line.amount
        staying = view.remaining <= line.amount * CREDIT_AMOUNT_MARGIN
    else:
        threshold = "default"
        entering = runs_short or left <= DEFAULT_CREDIT_PERCENT
        staying = runs_short or left <= DEFAULT_CREDIT_PERCENT + CREDIT_PERCENT_MARGIN
    title = f"{label}: credits running low"
    detail = credit_pool_detail(view, left)
    return Reading(f"credits:{name}", threshold, cycle, entering, staying, title, detail, str(view.remaining))


def spend_limits_reading(
    name: str, label: str, watch: LimitWatch, cycle_span: tuple[datetime, datetime] | None, share: Decimal
) -> Reading:
    """People at ``share`` percent or more of their own spend limit: breached while there is anyone."""
    cycle = f"cycle:{cycle_span[0]:%Y-%m-%d}" if cycle_span else "cycle:-"
    near = watch.count > 0
    title = f"{label}: people near their spend limit"
    detail = near_limit_detail(watch, share)
    return Reading(f"limits:{name}", "90", cycle, near, near, title, detail, str(watch.count))


def tracked_reading(
    name: str, label: str, figure: TrackedView, cycle: str, line: CreditThreshold, peak: Decimal | None
) -> Reading:
    """A tracked figure's reading: at or under an amount, or under a percent of this month's ``peak``
    (needed only for a percent line)."""
    if line.amount is not None:
        threshold, entering = f"abs:{line.amount}", figure.value <= line.amount
        staying = figure.value <= line.amount * CREDIT_AMOUNT_MARGIN
    else:
        assert line.percent is not None and peak is not None
        of_peak = figure.value / peak * 100 if peak > 0 else Decimal(100)
        threshold = f"pct:{line.percent}"
        entering, staying = of_peak <= line.percent, of_peak <= line.percent + CREDIT_PERCENT_MARGIN
    title = f"{label}: tracked figure low"
    return Reading(
        f"tracked:{name}",
        threshold,
        cycle,
        entering,
        staying,
        title,
        tracked_detail(figure),
        str(figure.value),
    )


@dataclass(frozen=True)
class BudgetFigures:
    """A budget and the spend it watches this cycle: so far and forecast, over the sources' cycles."""

    budget: Decimal
    unit: str
    what: str  # the sources it sums ("all tools", or the token of one)
    spent: Decimal
    projected: Decimal
    cycles: Sequence[tuple[datetime, datetime]]  # at least one
    now: datetime


@dataclass(frozen=True)
class CycleSoFar:
    """One source's billing cycle as a budget sees it at some instant: its bounds, what was spent in it
    so far and the spend of the whole days before (oldest first), already in the budget's unit."""

    span: tuple[datetime, datetime]
    spent: Decimal
    recent: Sequence[Decimal]


def budget_sources(
    source: SourceFilter | None, connections: Sequence[Connection], credit_price: Decimal | None
) -> list[Connection]:
    """The connections a budget sums: its source's, or every one whose spend has a price."""
    if source is None:
        return [row for row in connections if traits(row.vendor).unit is not Unit.CREDITS or credit_price]
    if source.vendor is not None:
        return [row for row in connections if row.vendor == source.vendor]
    return [row for row in connections if row.name == source.connection]


def budget_factor(connection: Connection, unit: str, credit_price: Decimal | None) -> Decimal:
    """What one of ``connection``'s amounts is worth in a budget's ``unit``: credits are priced into
    cents for a dollar budget."""
    if unit == "usd_cents" and traits(connection.vendor).unit is Unit.CREDITS:
        return (credit_price or Decimal(0)) * 100
    return Decimal(1)


def budget_figures(
    budget: Decimal, unit: str, what: str, parts: Sequence[CycleSoFar], now: datetime
) -> BudgetFigures | None:
    """The budget's figures at ``now`` from its sources' cycles (None without any): the spend so far and
    each cycle's forecast at the burn of its recent days, summed."""
    if not parts:
        return None
    spent = sum((part.spent for part in parts), Decimal(0))
    projected = sum(
        (
            forecast_cycle(
                part.spent,
                cycle_start=part.span[0],
                cycle_end=part.span[1],
                now=now,
                recent_daily=part.recent,
            ).projected_total
            for part in parts
        ),
        Decimal(0),
    )
    return BudgetFigures(budget, unit, what, spent, projected, [part.span for part in parts], now)


def budget_readings(figures: BudgetFigures, levels: Sequence[int]) -> list[Reading]:
    """One reading per budget level reached, and one for the forecast exceeding the budget before the
    spend does; one cycle's key when the sources share one, else the month's."""
    budget, unit, what, spent, projected = (
        figures.budget,
        figures.unit,
        figures.what,
        figures.spent,
        figures.projected,
    )
    cycles = figures.cycles
    cycle_key = f"cycle:{cycles[0][0]:%Y-%m-%d}" if len(cycles) == 1 else f"month:{figures.now:%Y-%m}"
    reading = budget_levels(spent, projected, budget, levels)
    percent = spent / budget * 100
    detail = budget_detail(spent, budget, unit, percent, cycles[0] if len(cycles) == 1 else None, projected)
    named = f"Budget {format_amount(budget, unit)} ({what})"
    found = [
        Reading(
            f"budget:{what}",
            str(level),
            cycle_key,
            percent >= level,
            percent >= level - BUDGET_LEVEL_MARGIN,
            f"{named}: {level}% reached",
            detail,
            str(spent),
        )
        for level in levels
    ]
    over = projected > budget and percent < 100
    found.append(
        Reading(
            f"budget:{what}",
            "forecast",
            cycle_key,
            over and reading.forecast_exceeds,
            projected > budget * BUDGET_FORECAST_MARGIN and percent < 100,
            f"{named}: forecast to be exceeded",
            detail,
            str(projected),
        )
    )
    return found


def rate_limit_readings(
    name: str,
    label: str,
    windows: Sequence[WindowView],
    watched: dict[str, str],
    below: Decimal,
    cycle: str,
) -> list[Reading]:
    """A connection's rate-limit readings: headroom under ``below`` percent in each ``watched`` window
    (scope: its readable name) that says what is left, then the 429s met (breached when they grew)."""
    found: list[Reading] = []
    for window in windows:
        if window.scope in watched and window.percent_left is not None:
            left = window.percent_left
            found.append(
                Reading(
                    f"ratelimit:{name}:{window.scope}",
                    f"{below}%",
                    cycle,
                    left <= below,
                    left <= below + HEADROOM_MARGIN,
                    f"{label}: rate-limit headroom low",
                    headroom_detail(window, watched[window.scope], left),
                    str(left),
                )
            )
    throttled = sum(window.rate_limited_total for window in windows)
    title = f"{label}: the vendor throttled us"
    found.append(
        Reading(
            f"throttled:{name}",
            "any",
            cycle,
            False,
            False,
            title,
            throttled_detail(throttled),
            str(throttled),
            rising=True,
        )
    )
    return found
