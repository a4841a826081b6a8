"""The alert state machine: when to post, remind, stay quiet, and say it is over.

One ``AlertState`` exists per subscription + metric + threshold + billing cycle (the key is the store's
business). Each check computes whether the condition holds (``crossed``, with hysteresis so a reading at
the line does not flap) and feeds it to ``step_alert``, which returns the next state and what to post::

    ok ──breached──▶ firing ──breached, remind_every since the last post──▶ firing (REMIND)
     ▲   (FIRE)        │
     └──recovered──────┘ (RESOLVE, only if FIRE was posted)

Snoozed and muted alerts still change state but post nothing, except the recovery. A breach that begins
during a snooze is posted (FIRE) when the snooze ends, if it still holds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal

Direction = Literal["above", "below"]

# Hysteresis of the readings: a firing alert stays firing a little past the line that fired it, so a
# figure hovering at the line posts one crossing and one recovery, not one of each every check.
DEFAULT_CREDIT_PERCENT = Decimal(20)
"""A credit-low alert with no threshold of its own fires at this share of the credits left (or when the
credits run out before the cycle ends)."""
CREDIT_PERCENT_MARGIN = Decimal(2)
"""Points above a percent threshold (credits left, or a tracked figure's share of its peak) a credit-low
alert must climb back past to resolve."""
CREDIT_AMOUNT_MARGIN = Decimal("1.05")
"""A credit-low alert on an amount resolves only above that amount times this (5% over it)."""
BUDGET_LEVEL_MARGIN = 2
"""Points below a budget level (50, 80, 100% of the budget) the spend must fall back under to resolve it."""
BUDGET_FORECAST_MARGIN = Decimal("0.98")
"""A "forecast to be exceeded" budget alert resolves only once the forecast falls under this share of the
budget (2% below it)."""
HEADROOM_MARGIN = 5
"""Points above its threshold a rate-limit window's headroom must climb back past to resolve."""


class AlertStatus(StrEnum):
    """Whether the condition holds, as far as the alert is concerned."""

    OK = "ok"
    FIRING = "firing"


class AlertAction(StrEnum):
    """What the caller must post after a step."""

    NONE = "none"
    FIRE = "fire"
    REMIND = "remind"
    RESOLVE = "resolve"


@dataclass(frozen=True, slots=True)
class AlertState:
    """Everything the next step needs to know about one alert.

    ``notified`` says whether a firing message was posted in the current episode: only then is a
    recovery posted, and only then is a reminder (rather than a first message) due.
    ``last_notified_at`` is when the last message of any kind was posted for it.
    """

    status: AlertStatus = AlertStatus.OK
    fired_at: datetime | None = None
    last_notified_at: datetime | None = None
    resolved_at: datetime | None = None
    snoozed_until: datetime | None = None
    muted_until_resolved: bool = False
    notified: bool = False

    def is_snoozed(self, now: datetime) -> bool:
        """Whether a snooze is in force at ``now``."""
        return self.snoozed_until is not None and now < self.snoozed_until

    def is_quiet(self, now: datetime) -> bool:
        """Whether firing messages and reminders are held back at ``now`` (snoozed or muted)."""
        return self.is_snoozed(now) or self.muted_until_resolved


@dataclass(frozen=True, slots=True)
class Episode:
    """One alert of a replay (``backtest``) from its first post to its resolution. Unresolved, it either
    ``still_firing`` at the replay's end or stopped being measured when its billing cycle ended."""

    title: str
    metric: str
    threshold: str
    cycle: str
    fired_on: date
    reminders: int = 0
    resolved_on: date | None = None
    still_firing: bool = False

    @property
    def posts(self) -> int:
        return 1 + self.reminders + (self.resolved_on is not None)


def step_alert(
    state: AlertState, *, breached: bool, now: datetime, remind_every: timedelta
) -> tuple[AlertState, AlertAction]:
    """Advance one alert by one check: the new state, and what to post (if anything).

    - ok and breached: firing, and FIRE, unless snoozed or muted (then FIRE waits for the snooze to end);
    - firing and still breached: REMIND when ``remind_every`` has passed since the last post, never while
      snoozed or muted; a FIRE held back by a snooze goes out now if the snooze is over;
    - firing and recovered: ok, and RESOLVE if a firing message was posted (snoozed or muted alike);
      the mute ends with the episode, a snooze runs to its end;
    - ok and not breached: nothing.
    """
    if remind_every <= timedelta(0):
        raise ValueError("remind_every must be positive")
    state = _without_finished_snooze(state, now)
    if state.status is AlertStatus.OK:
        if not breached:
            return state, AlertAction.NONE
        firing = replace(state, status=AlertStatus.FIRING, fired_at=now, resolved_at=None, notified=False)
        if firing.is_quiet(now):
            return firing, AlertAction.NONE
        return _posted(firing, now), AlertAction.FIRE
    if not breached:
        resolved = replace(
            state, status=AlertStatus.OK, resolved_at=now, muted_until_resolved=False, notified=False
        )
        if state.notified:
            return replace(resolved, last_notified_at=now), AlertAction.RESOLVE
        return resolved, AlertAction.NONE
    if state.is_quiet(now):
        return state, AlertAction.NONE
    if not state.notified:
        return _posted(state, now), AlertAction.FIRE
    if state.last_notified_at is None or now - state.last_notified_at >= remind_every:
        return _posted(state, now), AlertAction.REMIND
    return state, AlertAction.NONE


def snooze(state: AlertState, until: datetime) -> AlertState:
    """Hold back firing messages and reminders until ``until`` (the "Snooze 24h" button).

    A later snooze replaces an earlier one, so snoozing again for less shortens it.
    """
    return replace(state, snoozed_until=until)


def mute_until_resolved(state: AlertState) -> AlertState:
    """Hold back reminders until the condition clears (the "Mute until resolved" button).

    The recovery is still posted. On an alert that is not firing there is nothing to mute and the state
    is returned unchanged, so a late click cannot silence the next, unrelated episode.
    """
    if state.status is not AlertStatus.FIRING:
        return state
    return replace(state, muted_until_resolved=True)


def crossed(
    value: Decimal,
    threshold: Decimal,
    *,
    direction: Direction,
    firing: bool,
    hysteresis: Decimal = Decimal(0),
) -> bool:
    """Whether ``value`` is at or beyond ``threshold``, with hysteresis once the alert is firing.

    ``above`` means the condition holds at or over the line (a budget reached), ``below`` at or under it
    (credits or headroom running low). Once firing, it clears only when the value is beyond the line by
    more than ``hysteresis`` in the good direction, so a reading hovering at the line does not flap.
    """
    if hysteresis < 0:
        raise ValueError("hysteresis cannot be negative")
    margin = hysteresis if firing else Decimal(0)
    if direction == "above":
        return value >= threshold - margin
    if direction == "below":
        return value <= threshold + margin
    raise ValueError(f"direction is 'above' or 'below', not {direction!r}")


def _posted(state: AlertState, now: datetime) -> AlertState:
    return replace(state, notified=True, last_notified_at=now)


def _without_finished_snooze(state: AlertState, now: datetime) -> AlertState:
    if state.snoozed_until is not None and now >= state.snoozed_until:
        return replace(state, snoozed_until=None)
    return state
