from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.forecast import (
    BurnBasis,
    budget_levels,
    cycle_at,
    daily_burn,
    forecast_cycle,
    runway,
)

D = Decimal
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
CYCLE_START = datetime(2026, 10, 24, tzinfo=UTC)
CYCLE_END = datetime(2026, 11, 24, tzinfo=UTC)


# ------------------------------------------------------------------------------------------ daily_burn


def test_daily_burn_averages_the_last_seven_days() -> None:
    amounts = [D(1000)] + [D(70)] * 7  # the old day is out of the window
    assert daily_burn(amounts) == D(70)


def test_daily_burn_counts_missing_days_as_zero() -> None:
    assert daily_burn([D(70), D(70)]) == D(20)
    assert daily_burn([]) == D(0)


def test_daily_burn_over_another_window() -> None:
    assert daily_burn([D(1), D(2), D(3)], days=2) == D("2.5")
    with pytest.raises(ValueError, match="at least one day"):
        daily_burn([D(1)], days=0)


# ------------------------------------------------------------------------------------------ runway


def test_runway_divides_what_is_left_by_the_burn() -> None:
    run = runway(D(400), D(100), now=NOW, cycle_end=CYCLE_END)
    assert run.days_left == D(4)
    assert run.runs_out_at == NOW + timedelta(days=4)
    assert run.ends_before_cycle is False  # Nov 24 12:00 is after the reset at Nov 24 00:00
    assert run.top_up_by is None


def test_runway_that_ends_before_the_cycle_says_when_to_top_up() -> None:
    run = runway(D(250), D(100), now=NOW, cycle_end=CYCLE_END)
    assert run.days_left == D("2.5")
    assert run.runs_out_at == datetime(2026, 11, 23, 0, tzinfo=UTC)
    assert run.ends_before_cycle is True
    assert run.top_up_by == date(2026, 11, 22)


def test_top_up_by_is_a_local_day_and_never_before_today() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    run = runway(D(10), D(100), now=NOW, cycle_end=CYCLE_END, tz=tokyo)
    assert run.ends_before_cycle is True
    assert run.top_up_by == date(2026, 11, 20)  # today in Tokyo (21:00), not the day before


def test_runway_without_burn_is_unknown() -> None:
    run = runway(D(400), D(0), now=NOW, cycle_end=CYCLE_END)
    assert (run.days_left, run.runs_out_at, run.ends_before_cycle, run.top_up_by) == (None, None, False, None)


def test_runway_with_nothing_left_is_zero() -> None:
    run = runway(D(-5), D(10), now=NOW, cycle_end=CYCLE_END)
    assert run.days_left == D(0)
    assert run.runs_out_at == NOW
    assert run.top_up_by == NOW.date()


def test_runway_without_a_cycle_end_cannot_end_before_it() -> None:
    run = runway(D(10), D(10), now=NOW, cycle_end=None)
    assert run.ends_before_cycle is False
    assert run.runs_out_at == NOW + timedelta(days=1)


def test_a_runway_of_centuries_has_no_date() -> None:
    run = runway(D(10) ** 12, D("0.0001"), now=NOW, cycle_end=CYCLE_END)
    assert run.days_left is not None
    assert run.runs_out_at is None
    assert run.ends_before_cycle is False


# ------------------------------------------------------------------------------------------ forecast_cycle


def test_forecast_projects_the_recent_burn_to_the_cycle_end() -> None:
    forecast = forecast_cycle(
        D(2000), cycle_start=CYCLE_START, cycle_end=CYCLE_END, now=NOW, recent_daily=[D(100)] * 7
    )
    assert forecast.basis is BurnBasis.RECENT
    assert forecast.burn_per_day == D(100)
    assert forecast.days_remaining == D("3.5")
    assert forecast.projected_total == D(2350)


def test_forecast_with_little_history_uses_the_cycle_average() -> None:
    forecast = forecast_cycle(
        D(2000), cycle_start=CYCLE_START, cycle_end=CYCLE_END, now=NOW, recent_daily=[D(1)]
    )
    assert forecast.basis is BurnBasis.CYCLE_AVERAGE
    assert forecast.burn_per_day == D(2000) / D("27.5")
    assert forecast.projected_total == D(2000) + D(2000) / D("27.5") * D("3.5")


def test_forecast_with_a_few_days_averages_only_those() -> None:
    forecast = forecast_cycle(
        D(0), cycle_start=CYCLE_START, cycle_end=CYCLE_END, now=NOW, recent_daily=[D(30), D(60), D(90)]
    )
    assert forecast.burn_per_day == D(60)


def test_forecast_in_the_first_hour_does_not_multiply_the_hour() -> None:
    now = CYCLE_START + timedelta(hours=1)
    forecast = forecast_cycle(D(50), cycle_start=CYCLE_START, cycle_end=CYCLE_END, now=now, recent_daily=[])
    assert forecast.burn_per_day == D(50)  # over one day, not over one hour


def test_forecast_after_the_cycle_is_what_was_spent() -> None:
    now = CYCLE_END + timedelta(hours=5)
    forecast = forecast_cycle(
        D(50), cycle_start=CYCLE_START, cycle_end=CYCLE_END, now=now, recent_daily=[D(9)] * 7
    )
    assert forecast.days_remaining == 0
    assert forecast.projected_total == D(50)


def test_forecast_refuses_an_empty_cycle() -> None:
    with pytest.raises(ValueError, match="end after"):
        forecast_cycle(D(1), cycle_start=CYCLE_END, cycle_end=CYCLE_END, now=NOW, recent_daily=[])


# ------------------------------------------------------------------------------------------ budget_levels


def test_levels_crossed_and_forecast() -> None:
    reading = budget_levels(D(3000), D(5500), D(5000))
    assert reading.crossed == (50,)
    assert reading.forecast_exceeds is True
    assert reading.percent_used == D(60)
    assert reading.forecast_crosses_at is None  # no forecast given: no burn to date it with


def test_a_level_is_crossed_at_exactly_its_share() -> None:
    assert budget_levels(D(5000), D(5000), D(5000)).crossed == (50, 80, 100)
    assert budget_levels(D(3999), D(3999), D(5000)).crossed == (50,)
    assert budget_levels(D(0), D(0), D(5000)).crossed == ()
    assert budget_levels(D(5000), D(5000), D(5000)).forecast_exceeds is False


def test_custom_levels_are_sorted_and_unique() -> None:
    assert budget_levels(D(95), D(95), D(100), levels=(90, 25, 90)).crossed == (25, 90)


def test_the_date_the_forecast_crosses_the_budget() -> None:
    forecast = forecast_cycle(
        D(4000), cycle_start=CYCLE_START, cycle_end=CYCLE_END, now=NOW, recent_daily=[D(400)] * 7
    )
    reading = budget_levels(D(4000), forecast.projected_total, D(5000), forecast=forecast)
    assert reading.forecast_exceeds is True
    assert reading.forecast_crosses_at == NOW + timedelta(days=2, hours=12)


def test_no_crossing_date_once_crossed() -> None:
    forecast = forecast_cycle(
        D(6000), cycle_start=CYCLE_START, cycle_end=CYCLE_END, now=NOW, recent_daily=[D(400)] * 7
    )
    reading = budget_levels(D(6000), forecast.projected_total, D(5000), forecast=forecast)
    assert reading.forecast_crosses_at is None
    assert reading.crossed[-1] == 100


def test_budget_must_be_positive() -> None:
    with pytest.raises(ValueError, match="more than zero"):
        budget_levels(D(1), D(1), D(0))


@settings(max_examples=200)
@given(
    spent=st.decimals(min_value=0, max_value=10**7, places=2),
    burn=st.decimals(min_value=0, max_value=10**5, places=2),
    hours_in=st.integers(min_value=0, max_value=31 * 24),
)
def test_forecast_never_below_what_is_spent(spent: Decimal, burn: Decimal, hours_in: int) -> None:
    now = CYCLE_START + timedelta(hours=hours_in)
    forecast = forecast_cycle(
        spent, cycle_start=CYCLE_START, cycle_end=CYCLE_END, now=now, recent_daily=[burn] * 7
    )
    assert forecast.projected_total >= spent
    assert forecast.days_remaining >= 0
    run = runway(spent, burn, now=now, cycle_end=CYCLE_END)
    if run.top_up_by is not None:
        assert run.ends_before_cycle
        assert run.runs_out_at is not None
        assert run.top_up_by < run.runs_out_at.date() or run.top_up_by == now.date()


def test_cycle_at_counts_whole_months_from_the_current_cycle() -> None:
    current = (datetime(2026, 11, 15, 14, tzinfo=UTC), datetime(2026, 12, 15, 14, tzinfo=UTC))
    assert cycle_at(current, datetime(2026, 11, 30, tzinfo=UTC)) == current
    assert cycle_at(current, datetime(2026, 11, 15, 13, 59, tzinfo=UTC)) == (
        datetime(2026, 10, 15, 14, tzinfo=UTC),
        datetime(2026, 11, 15, 14, tzinfo=UTC),
    )
    assert cycle_at(current, datetime(2026, 9, 1, tzinfo=UTC)) == (
        datetime(2026, 8, 15, 14, tzinfo=UTC),
        datetime(2026, 9, 15, 14, tzinfo=UTC),
    )
    # A cycle on the 31st starts on a shorter month's last day, and the next one on the 31st again.
    on_31st = (datetime(2026, 3, 31, tzinfo=UTC), datetime(2026, 4, 30, tzinfo=UTC))
    assert cycle_at(on_31st, datetime(2026, 3, 1, tzinfo=UTC)) == (
        datetime(2026, 2, 28, tzinfo=UTC),
        datetime(2026, 3, 31, tzinfo=UTC),
    )
    assert cycle_at(on_31st, datetime(2025, 12, 31, tzinfo=UTC)) == (
        datetime(2025, 12, 31, tzinfo=UTC),
        datetime(2026, 1, 31, tzinfo=UTC),
    )
