"""The usual of a person's days (median + 1.4826 × MAD) and what counts as a spike."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from bot.domain.spikes import BASELINE_DAYS, Spike, spikes_on, usual

D = Decimal
DAY = date(2026, 11, 19)


def test_usual_is_the_median_plus_the_scaled_median_absolute_deviation() -> None:
    assert usual([D(1), D(2), D(3), D(4), D(100)]) == D(3) + D("1.4826") * D(1)
    assert usual([D(10), D(14)] * 14) == D(12) + D("1.4826") * D(2)
    assert usual([D(0)] * 28) == 0
    assert usual([]) == 0


def _series(history: list[Decimal], today: Decimal) -> dict[date, Decimal]:
    days = {DAY - timedelta(days=back): value for back, value in enumerate(history, start=1)}
    return {**days, DAY: today}


def test_a_spike_needs_the_factor_and_the_minimum_and_uses_only_the_baseline_window() -> None:
    older = {DAY - timedelta(days=BASELINE_DAYS + 1): D(10**9)}  # outside the window: ignored
    series = {
        ("a@x.io", "cursor", "cursor"): {**_series([D(1000)] * 28, D(3000)), **older},  # exactly 3×
        ("b@x.io", "cursor", "cursor"): _series([D(1000)] * 28, D(2999)),
        ("c@x.io", "cursor", "cursor"): _series([D(0)] * 28, D(1999)),  # under $20
        ("d@x.io", "cursor", "cursor"): {DAY: D(2000)},  # no history at all: zero usual
    }
    found = spikes_on(DAY, series)
    assert [(s.email, s.cents, s.usual_cents) for s in found] == [  # the same excess: by email
        ("a@x.io", D(3000), D(1000)),
        ("d@x.io", D(2000), D(0)),
    ]
    assert found[0].times == 3 and found[1].times is None
    assert spikes_on(DAY, series, factor=D(2), minimum_cents=D(1000)) == [
        Spike("a@x.io", "cursor", "cursor", DAY, D(3000), D(1000)),
        Spike("d@x.io", "cursor", "cursor", DAY, D(2000), D(0)),
        Spike("b@x.io", "cursor", "cursor", DAY, D(2999), D(1000)),
        Spike("c@x.io", "cursor", "cursor", DAY, D(1999), D(0)),
    ]


def test_a_replay_fires_on_each_spike_day_and_resolves_the_next_through_the_alert_machine() -> None:
    from bot.domain.spikes import replay

    first = DAY - timedelta(days=9)
    days = {first - timedelta(days=back): D(3000) for back in range(1, BASELINE_DAYS + 1)}
    days |= {first + timedelta(days=n): D(3000) for n in range(10)}
    days[first + timedelta(days=2)] = D(9000)  # exactly 3 times the usual: a spike
    days[first + timedelta(days=3)] = D(9000)  # its usual is still $30: a spike again
    posts = replay(first, DAY, {("a@x.io", "cursor", "cursor"): days})
    assert [(post.action, post.day) for post in posts] == [
        ("fire", first + timedelta(days=2)),
        ("resolve", first + timedelta(days=3)),
        ("fire", first + timedelta(days=3)),
        ("resolve", first + timedelta(days=4)),
    ]
