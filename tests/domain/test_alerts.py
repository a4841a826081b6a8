from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.alerts import (
    AlertAction,
    AlertState,
    AlertStatus,
    crossed,
    mute_until_resolved,
    snooze,
    step_alert,
)

D = Decimal
T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)
REMIND = timedelta(hours=24)
HOUR = timedelta(hours=1)


def step(state: AlertState, breached: bool, at: datetime) -> tuple[AlertState, AlertAction]:
    return step_alert(state, breached=breached, now=at, remind_every=REMIND)


# ------------------------------------------------------------------------------------------ examples


def test_ok_and_not_breached_does_nothing() -> None:
    state, action = step(AlertState(), False, T0)
    assert (state, action) == (AlertState(), AlertAction.NONE)


def test_a_breach_fires_once() -> None:
    state, action = step(AlertState(), True, T0)
    assert action is AlertAction.FIRE
    assert state.status is AlertStatus.FIRING
    assert (state.fired_at, state.last_notified_at, state.notified) == (T0, T0, True)
    state, action = step(state, True, T0 + HOUR)
    assert action is AlertAction.NONE


def test_reminds_at_most_every_remind_interval() -> None:
    state, _ = step(AlertState(), True, T0)
    state, action = step(state, True, T0 + REMIND - timedelta(seconds=1))
    assert action is AlertAction.NONE
    state, action = step(state, True, T0 + REMIND)
    assert action is AlertAction.REMIND
    assert state.last_notified_at == T0 + REMIND
    _, action = step(state, True, T0 + REMIND + HOUR)
    assert action is AlertAction.NONE


def test_recovery_resolves_and_a_new_breach_fires_again() -> None:
    state, _ = step(AlertState(), True, T0)
    state, action = step(state, False, T0 + HOUR)
    assert action is AlertAction.RESOLVE
    assert (state.status, state.resolved_at, state.notified) == (AlertStatus.OK, T0 + HOUR, False)
    state, action = step(state, True, T0 + 2 * HOUR)
    assert action is AlertAction.FIRE
    assert state.fired_at == T0 + 2 * HOUR
    assert state.resolved_at is None


def test_a_breach_during_a_snooze_fires_when_the_snooze_ends() -> None:
    state = snooze(AlertState(), T0 + 4 * HOUR)
    state, action = step(state, True, T0)
    assert action is AlertAction.NONE
    assert state.status is AlertStatus.FIRING
    assert state.notified is False
    state, action = step(state, True, T0 + 3 * HOUR)
    assert action is AlertAction.NONE
    state, action = step(state, True, T0 + 4 * HOUR)
    assert action is AlertAction.FIRE
    assert state.snoozed_until is None


def test_a_breach_that_clears_during_a_snooze_is_never_posted() -> None:
    state = snooze(AlertState(), T0 + 4 * HOUR)
    state, _ = step(state, True, T0)
    state, action = step(state, False, T0 + HOUR)
    assert action is AlertAction.NONE
    assert state.status is AlertStatus.OK


def test_snooze_holds_reminders_but_not_the_recovery() -> None:
    state, _ = step(AlertState(), True, T0)
    state = snooze(state, T0 + 48 * HOUR)
    state, action = step(state, True, T0 + 30 * HOUR)
    assert action is AlertAction.NONE
    state, action = step(state, False, T0 + 31 * HOUR)
    assert action is AlertAction.RESOLVE
    assert state.snoozed_until == T0 + 48 * HOUR  # the snooze runs to its end


def test_a_reminder_is_due_as_soon_as_a_snooze_ends() -> None:
    state, _ = step(AlertState(), True, T0)
    state = snooze(state, T0 + 48 * HOUR)
    _, action = step(state, True, T0 + 48 * HOUR)
    assert action is AlertAction.REMIND


def test_mute_until_resolved_holds_reminders_and_ends_with_the_episode() -> None:
    state, _ = step(AlertState(), True, T0)
    state = mute_until_resolved(state)
    state, action = step(state, True, T0 + 10 * REMIND)
    assert action is AlertAction.NONE
    state, action = step(state, False, T0 + 11 * REMIND)
    assert action is AlertAction.RESOLVE
    assert state.muted_until_resolved is False
    _, action = step(state, True, T0 + 12 * REMIND)
    assert action is AlertAction.FIRE


def test_muting_an_alert_that_is_not_firing_changes_nothing() -> None:
    assert mute_until_resolved(AlertState()) == AlertState()


def test_a_muted_ok_state_fires_silently_and_resolves_silently() -> None:
    state = AlertState(muted_until_resolved=True)
    state, action = step(state, True, T0)
    assert action is AlertAction.NONE
    state, action = step(state, False, T0 + HOUR)
    assert action is AlertAction.NONE
    assert state.muted_until_resolved is False


def test_remind_every_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        step_alert(AlertState(), breached=True, now=T0, remind_every=timedelta(0))


def test_state_helpers() -> None:
    state = snooze(AlertState(), T0 + HOUR)
    assert state.is_snoozed(T0)
    assert not state.is_snoozed(T0 + HOUR)
    assert state.is_quiet(T0)
    assert AlertState(muted_until_resolved=True).is_quiet(T0)


# ------------------------------------------------------------------------------------------ crossed


def test_crossed_above_at_the_line() -> None:
    assert crossed(D(100), D(100), direction="above", firing=False)
    assert not crossed(D("99.9"), D(100), direction="above", firing=False)


def test_crossed_below_at_the_line() -> None:
    assert crossed(D(10), D(10), direction="below", firing=False)
    assert not crossed(D("10.1"), D(10), direction="below", firing=False)


def test_hysteresis_keeps_a_firing_alert_until_clearly_recovered() -> None:
    h = D(2)
    assert crossed(D(9), D(10), direction="below", firing=False, hysteresis=h)
    assert not crossed(D(11), D(10), direction="below", firing=False, hysteresis=h)
    assert crossed(D(11), D(10), direction="below", firing=True, hysteresis=h)
    assert crossed(D(12), D(10), direction="below", firing=True, hysteresis=h)
    assert not crossed(D("12.01"), D(10), direction="below", firing=True, hysteresis=h)
    assert crossed(D(98), D(100), direction="above", firing=True, hysteresis=h)
    assert not crossed(D("97.99"), D(100), direction="above", firing=True, hysteresis=h)


def test_crossed_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="negative"):
        crossed(D(1), D(1), direction="above", firing=False, hysteresis=D(-1))
    with pytest.raises(ValueError, match="direction"):
        crossed(D(1), D(1), direction="sideways", firing=False)  # type: ignore[arg-type]


@settings(max_examples=200)
@given(
    readings=st.lists(st.decimals(min_value=7, max_value=13, places=1), min_size=1, max_size=40),
    direction=st.sampled_from(["above", "below"]),
)
def test_a_reading_hovering_within_the_band_does_not_flap(readings: list[Decimal], direction: str) -> None:
    threshold, band = D(10), D(3)
    firing = True
    for reading in readings:  # every reading is within threshold ± band
        firing = crossed(
            reading,
            threshold,
            direction="above" if direction == "above" else "below",
            firing=firing,
            hysteresis=band,
        )
        assert firing


# ------------------------------------------------------------------------------------------ properties


@dataclass(frozen=True)
class Check:
    advance: timedelta
    breached: bool
    press: str | None  # a button pressed before the check: "snooze" or "mute"
    snooze_for: timedelta


checks = st.builds(
    Check,
    advance=st.integers(min_value=0, max_value=36 * 60).map(lambda minutes: timedelta(minutes=minutes)),
    breached=st.booleans(),
    press=st.sampled_from([None, None, None, "snooze", "mute"]),
    snooze_for=st.integers(min_value=1, max_value=72).map(lambda hours: timedelta(hours=hours)),
)


@settings(max_examples=400, deadline=None)
@given(sequence=st.lists(checks, min_size=1, max_size=60))
def test_alert_invariants_hold_for_any_sequence_of_checks(sequence: list[Check]) -> None:
    state, now = AlertState(), T0
    last_post: datetime | None = None  # the last FIRE or REMIND
    episode_posted = False  # a FIRE is out without its RESOLVE
    for check in sequence:
        now += check.advance
        if check.press == "snooze":
            state = snooze(state, now + check.snooze_for)
        elif check.press == "mute":
            state = mute_until_resolved(state)
        quiet = state.is_quiet(now)
        state, action = step(state, check.breached, now)

        if action is AlertAction.FIRE:
            assert not episode_posted, "two FIREs without a RESOLVE between them"
            assert not quiet, "FIRE while snoozed or muted"
            episode_posted, last_post = True, now
        elif action is AlertAction.REMIND:
            assert episode_posted, "REMIND outside an episode"
            assert not quiet, "REMIND while snoozed or muted"
            assert last_post is not None
            assert now - last_post >= REMIND, "REMIND too soon"
            last_post = now
        elif action is AlertAction.RESOLVE:
            assert episode_posted, "RESOLVE without a FIRE"
            assert not check.breached
            episode_posted = False

        if check.breached:
            assert state.status is AlertStatus.FIRING
            if not quiet:
                assert state.notified, "a breach that is not held back must have been posted"
        else:
            assert state.status is AlertStatus.OK
            assert not episode_posted, "a recovery must close a posted episode"
            assert not state.muted_until_resolved

    state, action = step(state, False, now + HOUR)
    assert (action is AlertAction.RESOLVE) == episode_posted
    assert state.status is AlertStatus.OK
