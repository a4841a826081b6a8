"""The replay behind ``backtest``: readings of past days stepped through the live alerts' state machine."""

from __future__ import annotations

from datetime import date, timedelta

from bot.domain.alerts import Episode
from bot.services.alert_readings import Reading
from bot.services.alert_replay import replay_readings

DAY1 = date(2026, 11, 1)


def _reading(entering: bool, staying: bool | None = None, cycle: str = "c1") -> Reading:
    held = entering if staying is None else staying
    return Reading("budget:all", "80", cycle, entering, held, "Budget: 80% reached", "detail")


def _days(*readings: list[Reading]) -> list[tuple[date, list[Reading]]]:
    return [(DAY1 + timedelta(days=index), list(day)) for index, day in enumerate(readings)]


def test_an_alert_fires_reminds_each_remind_interval_and_resolves_on_the_first_quiet_day() -> None:
    days = _days(
        [_reading(False)], [_reading(True)], [_reading(True)], [_reading(False, True)], [_reading(False)]
    )
    (episode,) = replay_readings(days, timedelta(hours=24))
    # Fired on day 2, reminded on days 3 and 4 (still within its hysteresis), resolved on day 5.
    assert episode == Episode(
        "Budget: 80% reached", "budget:all", "80", "c1", DAY1 + timedelta(days=1), 2, DAY1 + timedelta(days=4)
    )
    assert episode.posts == 4


def test_reminders_every_six_hours_are_four_a_day() -> None:
    (episode,) = replay_readings(_days([_reading(True)], [_reading(True)]), timedelta(hours=6))
    assert episode.reminders == 7 and episode.still_firing  # 3 more on day 1, 4 on day 2


def test_a_cycle_that_ends_leaves_its_alert_unresolved_and_the_next_cycle_fires_anew() -> None:
    days = _days([_reading(True, cycle="c1")], [_reading(True, cycle="c2")])
    first, second = replay_readings(days, timedelta(hours=24))
    assert (first.cycle, first.resolved_on, first.still_firing) == ("c1", None, False)
    assert (second.cycle, second.fired_on, second.still_firing) == ("c2", DAY1 + timedelta(days=1), True)


def test_nothing_breached_posts_nothing() -> None:
    assert replay_readings(_days([_reading(False)], []), timedelta(hours=24)) == []
