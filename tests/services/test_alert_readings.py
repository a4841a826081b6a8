"""Alert readings built from hand-made figures: thresholds, their hysteresis, keys, titles and details."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bot.domain.alerts import CREDIT_AMOUNT_MARGIN, CREDIT_PERCENT_MARGIN, DEFAULT_CREDIT_PERCENT
from bot.messages.answers import CreditView, LimitWatch, NearLimit, TrackedView, WindowView
from bot.services.alert_readings import (
    BudgetFigures,
    CreditThreshold,
    budget_readings,
    credit_pool_reading,
    rate_limit_readings,
    spend_limits_reading,
    tracked_reading,
)

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CYCLE_END = datetime(2026, 12, 1, tzinfo=UTC)
NO_LINE = CreditThreshold(None, None)


def pool(remaining: str, size: str = "10000", **values: object) -> CreditView:
    fields: dict[str, object] = {
        "connection": "windsurf",
        "vendor": "windsurf",
        "unit": "credits",
        "pools": (),
        "remaining": Decimal(remaining),
        "size": Decimal(size),
        "burn_per_day": Decimal(300),
        "days_left": Decimal(4),
        "runs_out_at": None,
        "top_up_by": None,
        "cycle_end": CYCLE_END,
        "observed_at": NOW,
    }
    fields.update(values)
    return CreditView(**fields)  # type: ignore[arg-type]


def test_the_threshold_of_a_credit_alert_is_read_from_its_params() -> None:
    assert CreditThreshold.of({"below_percent": "15"}) == CreditThreshold(Decimal(15), None)
    assert CreditThreshold.of({"below_amount": "500", "below_percent": ""}) == CreditThreshold(
        None, Decimal(500)
    )
    assert CreditThreshold.of({}) == NO_LINE


def test_a_credit_pool_reading_names_its_key_and_says_what_is_left() -> None:
    reading = credit_pool_reading("windsurf", "Windsurf", pool("1200", top_up_by=date(2026, 11, 23)), NO_LINE)
    assert (reading.metric, reading.threshold, reading.cycle) == (
        "credits:windsurf",
        "default",
        "cycle:2026-12-01",
    )
    assert reading.title == "Windsurf: credits running low"
    assert reading.detail == (
        "1,200 credits left of 10,000 credits (12%); ~4 days at the current burn (300 credits/day)"
        ", cycle resets on Dec 1. Top up by *Nov 23*."
    )
    assert (reading.entering, reading.staying, reading.value) == (True, True, "1200")


@pytest.mark.parametrize(
    ("left", "entering", "staying"),
    [
        (DEFAULT_CREDIT_PERCENT, True, True),
        (DEFAULT_CREDIT_PERCENT + 1, False, True),
        (Decimal(23), False, False),
    ],
)
def test_the_default_line_resolves_only_its_margin_above_twenty_percent(
    left: Decimal, entering: bool, staying: bool
) -> None:
    reading = credit_pool_reading("w", "W", pool(str(left * 100)), NO_LINE)
    assert (reading.entering, reading.staying) == (entering, staying)
    assert CREDIT_PERCENT_MARGIN == 2


def test_running_out_before_the_cycle_ends_is_low_whatever_is_left() -> None:
    view = pool("9000", runs_out_at=datetime(2026, 11, 25, tzinfo=UTC))
    reading = credit_pool_reading("w", "W", view, NO_LINE)
    assert (reading.entering, reading.staying) == (True, True)


def test_a_percent_and_an_amount_line_have_their_own_margins() -> None:
    by_percent = credit_pool_reading("w", "W", pool("1100"), CreditThreshold(Decimal(10), None))
    assert (by_percent.threshold, by_percent.entering, by_percent.staying) == ("pct:10", False, True)
    by_amount = credit_pool_reading("w", "W", pool("520"), CreditThreshold(None, Decimal(500)))
    assert (by_amount.threshold, by_amount.entering, by_amount.staying) == ("abs:500", False, True)
    assert Decimal(520) <= Decimal(500) * CREDIT_AMOUNT_MARGIN < Decimal(530)


def test_people_near_their_limit_are_named_then_counted() -> None:
    people = tuple(
        NearLimit(f"p{n}@x.io", "A<b" if n == 0 else None, Decimal(950), Decimal(1000)) for n in range(12)
    )
    watch = LimitWatch("cursor", Decimal(90), people, 12, False, 20)
    reading = spend_limits_reading(
        "cursor", "Cursor", watch, (datetime(2026, 11, 3, tzinfo=UTC), CYCLE_END), Decimal(90)
    )
    assert (reading.metric, reading.threshold, reading.cycle, reading.value) == (
        "limits:cursor",
        "90",
        "cycle:2026-11-03",
        "12",
    )
    assert reading.detail.startswith(
        "12 at 90% or more of their spend limit: A&lt;b (95% of $10.00), p1@x.io (95%"
    )
    assert reading.detail.endswith("p9@x.io (95% of $10.00) and 2 more")
    nobody = spend_limits_reading(
        "cursor", "Cursor", LimitWatch("cursor", Decimal(90), (), 0, False, 20), None, Decimal(90)
    )
    assert (nobody.cycle, nobody.entering, nobody.staying, nobody.detail) == (
        "cycle:-",
        False,
        False,
        "0 at 90% or more of their spend limit: ",
    )


def test_a_tracked_figure_is_low_under_an_amount_or_a_share_of_its_peak() -> None:
    figure = TrackedView("rest", "balance_usd", Decimal(300), NOW)
    by_amount = tracked_reading(
        "rest", "REST", figure, "month:2026-11", CreditThreshold(None, Decimal(300)), None
    )
    assert (by_amount.metric, by_amount.threshold, by_amount.entering, by_amount.staying) == (
        "tracked:rest",
        "abs:300",
        True,
        True,
    )
    assert (by_amount.title, by_amount.detail, by_amount.value) == (
        "REST: tracked figure low",
        "`balance_usd` is 300",
        "300",
    )
    of_peak = tracked_reading(
        "rest", "REST", figure, "month:2026-11", CreditThreshold(Decimal(25), None), Decimal(1000)
    )
    assert (of_peak.threshold, of_peak.entering, of_peak.staying) == ("pct:25", False, False)
    no_peak = tracked_reading(
        "rest", "REST", figure, "month:2026-11", CreditThreshold(Decimal(25), None), Decimal(0)
    )
    assert (no_peak.entering, no_peak.staying) == (False, False)  # no peak: 100% of it


def budget(spent: str, projected: str, cycles: int = 1) -> BudgetFigures:
    span = (datetime(2026, 11, 1, tzinfo=UTC), CYCLE_END)
    return BudgetFigures(
        Decimal(50000), "usd_cents", "all tools", Decimal(spent), Decimal(projected), [span] * cycles, NOW
    )


def test_a_budget_reads_each_level_and_the_forecast() -> None:
    found = budget_readings(budget("40000", "52000"), (50, 80, 100))
    assert [(r.threshold, r.entering, r.staying) for r in found] == [
        ("50", True, True),
        ("80", True, True),
        ("100", False, False),
        ("forecast", True, True),
    ]
    assert {r.cycle for r in found} == {"cycle:2026-11-01"}
    assert found[1].title == "Budget $500.00 (all tools): 80% reached"
    assert found[3].title == "Budget $500.00 (all tools): forecast to be exceeded"
    assert (
        found[0].detail
        == "$400.00 of $500.00 (80%) this cycle (Nov 1 – Dec 1); forecast $520.00 at the cycle end"
    )
    assert (found[0].value, found[3].value) == ("40000", "52000")


def test_a_budget_level_and_its_forecast_resolve_only_past_their_margins() -> None:
    found = budget_readings(budget("39500", "49500", cycles=2), (80,))
    assert [(r.threshold, r.entering, r.staying) for r in found] == [
        ("80", False, True),
        ("forecast", False, True),
    ]
    assert {r.cycle for r in found} == {"month:2026-11"}
    assert "this cycle (this month)" in found[0].detail


def test_rate_limit_readings_watch_named_windows_and_count_429s() -> None:
    def window(scope: str, remaining: int | None, limited: int) -> WindowView:
        return WindowView(
            scope, 1000 if remaining is not None else None, remaining, None, 60, limited, 0.0, NOW
        )

    windows = (window("api", 120, 2), window("other", 10, 1), window("admin", None, 0))
    found = rate_limit_readings(
        "cursor", "Cursor", windows, {"api": "the API", "admin": "admin"}, Decimal(10), "month:2026-11"
    )
    headroom, throttled = found
    assert (headroom.metric, headroom.threshold, headroom.entering, headroom.staying) == (
        "ratelimit:cursor:api",
        "10%",
        False,
        True,
    )
    assert headroom.detail == "120 of 1,000 requests left in the API (12%)"
    assert (throttled.metric, throttled.value, throttled.rising) == ("throttled:cursor", "3", True)
    assert throttled.detail.startswith("HTTP 429 met since the last check (3 since the bot started); ")
