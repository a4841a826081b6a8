from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.schedule import (
    DAILY,
    DEFAULT_DIGEST_TIME,
    WEEKLY,
    digest_due_on,
    local_day_ended,
    next_digest_at,
    previous_digest_at,
)

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")
MINUTE = timedelta(minutes=1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_daily_at_nine_new_york() -> None:
    due = next_digest_at(weekdays=DAILY, at=DEFAULT_DIGEST_TIME, tz=NEW_YORK, after=utc(2026, 11, 20, 12))
    assert due == utc(2026, 11, 20, 14)  # 09:00 EST
    again = next_digest_at(weekdays=DAILY, at=DEFAULT_DIGEST_TIME, tz=NEW_YORK, after=due)
    assert again == utc(2026, 11, 21, 14)


def test_weekly_is_mondays() -> None:
    # 2026-11-20 is a Friday.
    due = next_digest_at(weekdays=WEEKLY, at=time(8, 30), tz=BERLIN, after=utc(2026, 11, 20, 12))
    assert due == utc(2026, 11, 23, 7, 30)
    assert due.astimezone(BERLIN).weekday() == 0


def test_chosen_weekdays() -> None:
    after = utc(2026, 11, 18, 12)  # Wednesday, after 09:00 UTC
    due = next_digest_at(weekdays=frozenset({0, 2, 4}), at=time(9), tz=ZoneInfo("UTC"), after=after)
    assert due == utc(2026, 11, 20, 9)


def test_odd_offsets() -> None:
    due = next_digest_at(weekdays=DAILY, at=time(9), tz=KOLKATA, after=utc(2026, 11, 20))
    assert due == utc(2026, 11, 20, 3, 30)


# ------------------------------------------------------------------------------------------ DST edges


@pytest.mark.parametrize(
    ("tz", "day", "at", "due"),
    [
        # Spring forward: 02:00-03:00 does not exist; the first valid minute after the gap is 03:00.
        (NEW_YORK, date(2026, 3, 8), time(2, 30), utc(2026, 3, 8, 7)),
        (NEW_YORK, date(2026, 3, 8), time(2, 0), utc(2026, 3, 8, 7)),
        (NEW_YORK, date(2026, 3, 8), time(2, 59), utc(2026, 3, 8, 7)),
        (NEW_YORK, date(2026, 3, 8), time(3, 0), utc(2026, 3, 8, 7)),
        (NEW_YORK, date(2026, 3, 8), time(1, 59), utc(2026, 3, 8, 6, 59)),
        (NEW_YORK, date(2026, 3, 8), time(9), utc(2026, 3, 8, 13)),
        (BERLIN, date(2026, 3, 29), time(2, 15), utc(2026, 3, 29, 1)),
        (BERLIN, date(2026, 3, 29), time(9), utc(2026, 3, 29, 7)),
        # Fall back: 01:00-02:00 (New York), 02:00-03:00 (Berlin) happen twice; the first one counts.
        (NEW_YORK, date(2026, 11, 1), time(1, 30), utc(2026, 11, 1, 5, 30)),
        (NEW_YORK, date(2026, 11, 1), time(1, 0), utc(2026, 11, 1, 5)),
        (NEW_YORK, date(2026, 11, 1), time(2, 0), utc(2026, 11, 1, 7)),
        (NEW_YORK, date(2026, 11, 1), time(9), utc(2026, 11, 1, 14)),
        (BERLIN, date(2026, 10, 25), time(2, 30), utc(2026, 10, 25, 0, 30)),
        (BERLIN, date(2026, 10, 25), time(9), utc(2026, 10, 25, 8)),
    ],
)
def test_due_times_around_clock_changes(tz: ZoneInfo, day: date, at: time, due: datetime) -> None:
    assert digest_due_on(day, at, tz) == due
    assert next_digest_at(weekdays=DAILY, at=at, tz=tz, after=due - MINUTE) == due
    assert due.astimezone(tz).date() == day


def test_a_repeated_hour_posts_once() -> None:
    first = utc(2026, 11, 1, 5, 30)  # 01:30 EDT
    # The second 01:30 (EST, 06:30 UTC) is not another due time: the next is tomorrow.
    assert next_digest_at(weekdays=DAILY, at=time(1, 30), tz=NEW_YORK, after=first) == utc(2026, 11, 2, 6, 30)


def test_a_gap_day_after_the_due_time_moves_to_tomorrow() -> None:
    after = utc(2026, 3, 8, 7)  # 03:00 EDT, the moment the gap's digest went
    assert next_digest_at(weekdays=DAILY, at=time(2, 30), tz=NEW_YORK, after=after) == utc(2026, 3, 9, 6, 30)


def test_previous_digest_is_the_one_a_restart_may_have_missed() -> None:
    now = utc(2026, 11, 20, 16)  # 11:00 EST
    missed = previous_digest_at(weekdays=DAILY, at=time(9), tz=NEW_YORK, at_or_before=now)
    assert missed == utc(2026, 11, 20, 14)
    assert previous_digest_at(weekdays=DAILY, at=time(9), tz=NEW_YORK, at_or_before=missed) == missed
    weekly = previous_digest_at(weekdays=WEEKLY, at=time(9), tz=NEW_YORK, at_or_before=now)
    assert weekly == utc(2026, 11, 16, 14)


def test_a_missed_digest_may_go_late_only_on_its_own_local_day() -> None:
    day = date(2026, 11, 20)
    assert not local_day_ended(day, utc(2026, 11, 21, 4, 59), NEW_YORK)  # 23:59 EST on the 20th
    assert local_day_ended(day, utc(2026, 11, 21, 5), NEW_YORK)
    assert local_day_ended(day, utc(2026, 11, 20, 18, 30), KOLKATA)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        next_digest_at(weekdays=frozenset(), at=time(9), tz=NEW_YORK, after=utc(2026, 1, 1))
    with pytest.raises(ValueError, match="non-empty"):
        next_digest_at(weekdays=frozenset({7}), at=time(9), tz=NEW_YORK, after=utc(2026, 1, 1))
    with pytest.raises(ValueError, match="aware"):
        next_digest_at(weekdays=DAILY, at=time(9), tz=NEW_YORK, after=datetime(2026, 1, 1))  # noqa: DTZ001


# ------------------------------------------------------------------------------------------ properties

EARLIEST = datetime(2016, 1, 1)  # noqa: DTZ001 - hypothesis bounds are naive
LATEST = datetime(2040, 1, 1)  # noqa: DTZ001
ZONES = [
    ZoneInfo(name)
    for name in (
        "UTC",
        "America/New_York",
        "Europe/Berlin",
        "Asia/Kolkata",
        "Asia/Kathmandu",
        "Pacific/Chatham",
        "America/Santiago",
        "Australia/Lord_Howe",
        "America/Havana",
    )
]


@settings(max_examples=300, deadline=None)
@given(
    weekdays=st.frozensets(st.integers(0, 6), min_size=1),
    at=st.times(),
    tz=st.sampled_from(ZONES),
    after=st.datetimes(min_value=EARLIEST, max_value=LATEST, timezones=st.just(UTC)),
)
def test_next_digest_is_the_first_due_time_after(
    weekdays: frozenset[int], at: time, tz: ZoneInfo, after: datetime
) -> None:
    due = next_digest_at(weekdays=weekdays, at=at, tz=tz, after=after)
    assert due > after
    assert due.tzinfo is UTC
    local = due.astimezone(tz)
    assert due.astimezone(tz).weekday() in weekdays
    wall = local.replace(tzinfo=None)
    intended = datetime.combine(local.date(), at)
    assert wall >= intended  # on time, or moved forward out of a gap
    assert wall - intended <= timedelta(hours=1)
    # Nothing was due in between.
    assert (
        previous_digest_at(weekdays=weekdays, at=at, tz=tz, at_or_before=due - timedelta(microseconds=1))
        <= after
    )
    assert previous_digest_at(weekdays=weekdays, at=at, tz=tz, at_or_before=due) == due
