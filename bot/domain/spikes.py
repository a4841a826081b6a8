"""Spikes: a person's day far above their own usual, judged robustly so one busy week does not hide it.

A person's usual is the median of their previous ``BASELINE_DAYS`` days (days without use count as
zero) plus 1.4826 × the median absolute deviation (MAD; the factor makes it a standard deviation for
normal data): a robust "high end of normal" that a single past outlier cannot move. A day is a spike
when it is at least ``factor`` times that and at least ``minimum`` (so cents never alert, and someone
whose usual is zero needs a real amount to spike).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from statistics import median

from bot.domain.alerts import AlertAction, AlertState, step_alert

BASELINE_DAYS = 28
DEFAULT_FACTOR = Decimal(3)
DEFAULT_MINIMUM_CENTS = Decimal(2000)
MAD_SCALE = Decimal("1.4826")


@dataclass(frozen=True, slots=True)
class Spike:
    """One person's day on one source far above their usual (amounts in cents)."""

    email: str
    source: str
    vendor: str
    day: date
    cents: Decimal
    usual_cents: Decimal

    @property
    def times(self) -> Decimal | None:
        """How many times their usual the day is (None when their usual is zero)."""
        return None if self.usual_cents == 0 else self.cents / self.usual_cents


def usual(history: Sequence[Decimal]) -> Decimal:
    """The high end of normal of daily amounts: median + 1.4826 × MAD."""
    if not history:
        return Decimal(0)
    middle = Decimal(median(history))
    spread = Decimal(median([abs(value - middle) for value in history]))
    return middle + MAD_SCALE * spread


def spikes_on(
    day: date,
    series: Mapping[tuple[str, str, str], Mapping[date, Decimal]],
    *,
    factor: Decimal = DEFAULT_FACTOR,
    minimum_cents: Decimal = DEFAULT_MINIMUM_CENTS,
) -> list[Spike]:
    """The spikes of ``day``: ``series`` maps (email, source, vendor) to cents per day, which must hold
    ``day`` and the ``BASELINE_DAYS`` before it (a missing day is a day without use). Largest excess
    over the usual first."""
    found: list[Spike] = []
    for (email, source, vendor), days in series.items():
        cents = days.get(day, Decimal(0))
        if cents < minimum_cents:
            continue
        history = [days.get(day - timedelta(days=back), Decimal(0)) for back in range(1, BASELINE_DAYS + 1)]
        normal = usual(history)
        if cents >= factor * normal:
            found.append(Spike(email, source, vendor, day, cents, normal))
    found.sort(key=lambda spike: (-(spike.cents - spike.usual_cents), spike.email, spike.source))
    return found


@dataclass(frozen=True, slots=True)
class ReplayedPost:
    """A post a spike subscription would have made: FIRE on the spike's day, RESOLVE on the next."""

    spike: Spike
    action: AlertAction
    day: date


def replay(
    first: date,
    last: date,
    series: Mapping[tuple[str, str, str], Mapping[date, Decimal]],
    *,
    factor: Decimal = DEFAULT_FACTOR,
    minimum_cents: Decimal = DEFAULT_MINIMUM_CENTS,
) -> list[ReplayedPost]:
    """What ``subscribe spike`` would have posted over the UTC days ``first..last``, through the alert
    state machine the live alerts use (one state per person and day, checked once that day and once the
    next), oldest first. ``series`` must hold the ``BASELINE_DAYS`` before ``first``."""
    posts: list[ReplayedPost] = []
    day = first
    remind_every = timedelta(days=1)
    while day <= last:
        for spike in spikes_on(day, series, factor=factor, minimum_cents=minimum_cents):
            noon = datetime.combine(day, time(12), tzinfo=UTC)
            state, action = step_alert(AlertState(), breached=True, now=noon, remind_every=remind_every)
            if action is AlertAction.FIRE:
                posts.append(ReplayedPost(spike, action, day))
            _, action = step_alert(state, breached=False, now=noon + remind_every, remind_every=remind_every)
            if action is AlertAction.RESOLVE:
                posts.append(ReplayedPost(spike, action, day + timedelta(days=1)))
        day += timedelta(days=1)
    return posts
