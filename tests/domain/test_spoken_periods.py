"""Periods as people say them: weeks (Monday to Sunday), calendar months, `last 14d`, in their zone."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.periods import (
    PeriodKind,
    PeriodSpec,
    looks_like_period,
    parse_period,
    previous_period,
    resolve_period,
)

NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
KOLKATA = ZoneInfo("Asia/Kolkata")
UTC_ZONE = ZoneInfo("UTC")


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("this week", PeriodSpec.this_week()),
        ("Last   Week", PeriodSpec.last_week()),
        ("this month", PeriodSpec.month_to_date()),
        ("last month", PeriodSpec.last_month()),
        ("last 14d", PeriodSpec.last_days(14)),
        ("november", PeriodSpec.calendar_month(11)),
        ("Nov", PeriodSpec.calendar_month(11)),
        ("sept", PeriodSpec.calendar_month(9)),
        ("2026-11", PeriodSpec.calendar_month(11, 2026)),
        ("2026-3", PeriodSpec.calendar_month(3, 2026)),
    ],
)
def test_spoken_forms_parse(words: str, expected: PeriodSpec) -> None:
    assert parse_period(words) == expected
    assert looks_like_period(words.split()[0].lower())
    assert parse_period(expected.token) == expected  # what is shown can be typed back


@pytest.mark.parametrize(
    ("words", "reason"),
    [
        ("last", "`last` takes `week`, `month` or a number of days like `14d` after it"),
        ("last cursor", "`last` takes `week`, `month`"),
        ("this 7d", "`this` takes `week` or `month` after it"),
        ("week", "write `this week` or `last week`"),
        ("month", "write `this month` or `last month`"),
        ("last november", "name a month alone, `november` (its latest one), or with its year, `YYYY-11`"),
        ("2026-13", "2026-13 is not a month"),
        ("1900-01", "a month must lie between"),
        ("last 0d", "from 1 to 400"),
    ],
)
def test_spoken_forms_explain_what_is_wrong(words: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_period(words)


def test_a_month_spec_refuses_a_month_out_of_range() -> None:
    with pytest.raises(ValueError, match="1 to 12"):
        PeriodSpec(PeriodKind.MONTH, month=13)
    with pytest.raises(ValueError, match="only a month period"):
        PeriodSpec(PeriodKind.LAST_WEEK, month=1)


def test_last_week_is_monday_to_sunday_across_the_fall_back() -> None:
    # Tuesday Nov 3 2026; New York fell back on Sunday Nov 1, so last week is 169 hours long.
    period = resolve_period(PeriodSpec.last_week(), now=datetime(2026, 11, 3, 12, tzinfo=UTC), tz=NEW_YORK)
    assert (period.first_day, period.last_day) == (date(2026, 10, 26), date(2026, 11, 1))
    assert period.start == datetime(2026, 10, 26, 4, tzinfo=UTC)  # midnight EDT
    assert period.end == datetime(2026, 11, 2, 5, tzinfo=UTC)  # midnight EST
    assert period.end - period.start == timedelta(hours=169)
    assert period.label == "last week (Oct 26–Nov 1)"
    before = previous_period(period)
    assert (before.first_day, before.last_day) == (date(2026, 10, 19), date(2026, 10, 25))
    assert before.end - before.start == timedelta(hours=168)
    assert before.label == "the week before (Oct 19–25)"


def test_the_week_is_the_readers_own_where_utc_has_already_moved_on() -> None:
    now = datetime(2026, 11, 30, 3, tzinfo=UTC)  # Monday in UTC, still Sunday evening in Los Angeles
    la = resolve_period(PeriodSpec.this_week(), now=now, tz=LOS_ANGELES)
    assert (la.first_day, la.last_day) == (date(2026, 11, 23), date(2026, 11, 29))
    assert la.start == datetime(2026, 11, 23, 8, tzinfo=UTC)
    utc = resolve_period(PeriodSpec.this_week(), now=now, tz=UTC_ZONE)
    assert (utc.first_day, utc.last_day) == (date(2026, 11, 30), date(2026, 11, 30))
    kolkata = resolve_period(PeriodSpec.last_week(), now=now, tz=KOLKATA)
    assert kolkata.start == datetime(2026, 11, 22, 18, 30, tzinfo=UTC)  # Monday Nov 23, 00:00 IST
    before = previous_period(la)
    assert (before.first_day, before.last_day) == (date(2026, 11, 16), date(2026, 11, 22))
    assert before.label == "the same days last week (Nov 16–22)"


def test_this_week_on_a_wednesday_is_compared_with_the_same_three_days() -> None:
    period = resolve_period(PeriodSpec.this_week(), now=datetime(2026, 12, 2, 16, tzinfo=UTC), tz=UTC_ZONE)
    assert (period.first_day, period.last_day) == (date(2026, 11, 30), date(2026, 12, 2))
    assert period.label == "this week (Nov 30–Dec 2)"
    before = previous_period(period)
    assert (before.first_day, before.last_day) == (date(2026, 11, 23), date(2026, 11, 25))


def test_last_month_and_a_named_month_are_whole_calendar_months() -> None:
    now = datetime(2027, 1, 10, 12, tzinfo=UTC)
    last = resolve_period(PeriodSpec.last_month(), now=now, tz=NEW_YORK)
    assert (last.first_day, last.last_day) == (date(2026, 12, 1), date(2026, 12, 31))
    assert last.label == "last month (December 2026)"
    before = previous_period(last)
    assert (before.first_day, before.last_day, before.label) == (
        date(2026, 11, 1),
        date(2026, 11, 30),
        "November 2026",
    )
    leap = resolve_period(PeriodSpec.calendar_month(2, 2028), now=now, tz=UTC_ZONE)
    assert (leap.first_day, leap.last_day, leap.label) == (
        date(2028, 2, 1),
        date(2028, 2, 29),
        "February 2028",
    )


def test_a_month_name_is_its_latest_one_and_the_month_under_way_is_to_date() -> None:
    now = datetime(2026, 11, 22, 15, tzinfo=UTC)
    december = resolve_period(PeriodSpec.calendar_month(12), now=now, tz=UTC_ZONE)
    assert (december.first_day, december.last_day) == (date(2025, 12, 1), date(2025, 12, 31))
    october = resolve_period(PeriodSpec.calendar_month(10), now=now, tz=UTC_ZONE)
    assert october.label == "October 2026"
    november = resolve_period(PeriodSpec.calendar_month(11), now=now, tz=UTC_ZONE)
    assert (november.first_day, november.last_day, november.kind) == (
        date(2026, 11, 1),
        date(2026, 11, 22),
        PeriodKind.MTD,
    )
    assert november.label == "November 2026 to date"
    before = previous_period(november)  # the same days of last month, as for mtd
    assert (before.first_day, before.last_day) == (date(2026, 10, 1), date(2026, 10, 22))
    # On the 1st in New York, while UTC is already on the 2nd, "this month" is one local day.
    first = resolve_period(PeriodSpec.month_to_date(), now=datetime(2026, 12, 2, 3, tzinfo=UTC), tz=NEW_YORK)
    assert (first.first_day, first.last_day) == (date(2026, 12, 1), date(2026, 12, 1))
