from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.errors import MissingCycleError
from bot.domain.periods import (
    MAX_PERIOD_DAYS,
    Period,
    PeriodKind,
    PeriodSpec,
    format_day_span,
    local_midnight,
    looks_like_duration,
    looks_like_period,
    parse_duration,
    parse_period,
    plan_rollups,
    previous_period,
    resolve_period,
    split_for_rollups,
    utc_day_bounds,
    utc_days,
)

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")
KATHMANDU = ZoneInfo("Asia/Kathmandu")
CHATHAM = ZoneInfo("Pacific/Chatham")
UTC_ZONE = ZoneInfo("UTC")
HOUR = timedelta(hours=1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# ------------------------------------------------------------------------------------------ parse_period


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("today", PeriodSpec.today()),
        ("yesterday", PeriodSpec.yesterday()),
        ("7d", PeriodSpec.last_days(7)),
        ("30D", PeriodSpec.last_days(30)),
        ("1d", PeriodSpec.last_days(1)),
        ("400d", PeriodSpec.last_days(400)),
        ("mtd", PeriodSpec.month_to_date()),
        ("cycle", PeriodSpec.cycle()),
        ("2026-10-01..2026-10-31", PeriodSpec.between(date(2026, 10, 1), date(2026, 10, 31))),
        ("2026-10-01..2026-10-01", PeriodSpec.between(date(2026, 10, 1), date(2026, 10, 1))),
        ("2024-2-29..2024-3-1", PeriodSpec.between(date(2024, 2, 29), date(2024, 3, 1))),
    ],
)
def test_parse_period_reads_every_form(word: str, expected: PeriodSpec) -> None:
    assert parse_period(word) == expected
    assert looks_like_period(word.lower())


@pytest.mark.parametrize(
    ("word", "reason"),
    [
        ("0d", "from 1 to 400"),
        ("401d", "from 1 to 400"),
        ("7days", "`7d`"),
        ("2026-02-30..2026-03-01", "not a day of the calendar"),
        ("2025-02-29..2025-03-01", "not a day of the calendar"),
        ("2026-03-05..2026-03-01", "must not end before it starts"),
        ("2026-10-01", "`2026-10-01..2026-10-01`"),
        ("1900-01-01..1900-01-02", "must lie between"),
        ("2026-10-01..", "a period is"),
    ],
)
def test_parse_period_explains_what_is_wrong(word: str, reason: str) -> None:
    assert looks_like_period(word)
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_period(word)


@pytest.mark.parametrize("word", ["cursor", "prod-1", "by", "user", "12", "30m"])
def test_other_words_do_not_look_like_periods(word: str) -> None:
    assert not looks_like_period(word)


def test_period_spec_refuses_inconsistent_fields() -> None:
    with pytest.raises(ValueError, match="1 to 400"):
        PeriodSpec(PeriodKind.DAYS, days=0)
    with pytest.raises(ValueError, match="only a days period"):
        PeriodSpec(PeriodKind.MTD, days=3)
    with pytest.raises(ValueError, match="first and last"):
        PeriodSpec(PeriodKind.RANGE, first_day=date(2026, 1, 1))
    with pytest.raises(ValueError, match="only a range"):
        PeriodSpec(PeriodKind.TODAY, first_day=date(2026, 1, 1))


def test_period_spec_token_is_what_is_typed() -> None:
    assert PeriodSpec.last_days(7).token == "7d"
    assert PeriodSpec.month_to_date().token == "mtd"
    assert PeriodSpec.between(date(2026, 10, 1), date(2026, 10, 31)).token == "2026-10-01..2026-10-31"


# ------------------------------------------------------------------------------------------ resolve_period

NOW = utc(2026, 11, 22, 15, 0)


def test_today_in_utc() -> None:
    period = resolve_period(PeriodSpec.today(), now=NOW, tz=UTC_ZONE)
    assert (period.start, period.end) == (utc(2026, 11, 22), utc(2026, 11, 23))
    assert (period.first_day, period.last_day, period.days) == (date(2026, 11, 22), date(2026, 11, 22), 1)
    assert period.label == "today"
    assert period.start.tzinfo is UTC


def test_yesterday_uses_the_readers_zone() -> None:
    # 03:00 UTC on the 22nd is still the 21st in New York.
    period = resolve_period(PeriodSpec.yesterday(), now=utc(2026, 11, 22, 3), tz=NEW_YORK)
    assert period.first_day == date(2026, 11, 20)
    assert period.start == utc(2026, 11, 20, 5)
    assert period.label == "yesterday"


def test_seven_days_end_today_and_include_it() -> None:
    period = resolve_period(PeriodSpec.last_days(7), now=NOW, tz=UTC_ZONE)
    assert (period.first_day, period.last_day) == (date(2026, 11, 16), date(2026, 11, 22))
    assert period.days == 7
    assert period.label == "last 7 days (Nov 16–22)"


def test_thirty_days_across_a_month() -> None:
    period = resolve_period(PeriodSpec.last_days(30), now=NOW, tz=UTC_ZONE)
    assert period.first_day == date(2026, 10, 24)
    assert period.label == "last 30 days (Oct 24–Nov 22)"


def test_one_day_label_is_singular() -> None:
    assert resolve_period(PeriodSpec.last_days(1), now=NOW, tz=UTC_ZONE).label == "last 1 day (Nov 22)"


def test_month_to_date_starts_on_the_first() -> None:
    period = resolve_period(PeriodSpec.month_to_date(), now=NOW, tz=UTC_ZONE)
    assert (period.first_day, period.last_day, period.days) == (date(2026, 11, 1), date(2026, 11, 22), 22)
    assert period.label == "Nov 1–22"


def test_month_to_date_on_the_first_is_one_day() -> None:
    period = resolve_period(PeriodSpec.month_to_date(), now=utc(2026, 12, 1, 8), tz=UTC_ZONE)
    assert period.label == "Dec 1"
    assert period.days == 1


def test_range_includes_both_days() -> None:
    spec = PeriodSpec.between(date(2026, 10, 1), date(2026, 10, 31))
    period = resolve_period(spec, now=NOW, tz=BERLIN)
    assert period.days == 31
    assert period.start == utc(2026, 9, 30, 22)  # CEST midnight
    assert period.end == utc(2026, 10, 31, 23)  # CET midnight after the switch
    assert period.label == "2026-10-01..2026-10-31"


def test_cycle_keeps_the_vendors_bounds() -> None:
    cycle = (utc(2026, 10, 24), utc(2026, 11, 24))
    period = resolve_period(PeriodSpec.cycle(), now=NOW, tz=UTC_ZONE, cycle=cycle)
    assert (period.start, period.end) == cycle
    assert (period.first_day, period.last_day) == (date(2026, 10, 24), date(2026, 11, 23))
    assert period.label == "this cycle (Oct 24–Nov 23)"
    assert period.kind is PeriodKind.CYCLE


def test_cycle_without_bounds_is_a_value_error_for_the_caller() -> None:
    with pytest.raises(MissingCycleError):
        resolve_period(PeriodSpec.cycle(), now=NOW, tz=UTC_ZONE)
    assert issubclass(MissingCycleError, ValueError)


def test_cycle_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError, match="end after"):
        resolve_period(PeriodSpec.cycle(), now=NOW, tz=UTC_ZONE, cycle=(NOW, NOW))


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        resolve_period(PeriodSpec.today(), now=datetime(2026, 1, 1), tz=UTC_ZONE)  # noqa: DTZ001


@pytest.mark.parametrize(
    ("tz", "day", "hours"),
    [
        (NEW_YORK, date(2026, 3, 8), 23),
        (NEW_YORK, date(2026, 11, 1), 25),
        (NEW_YORK, date(2026, 6, 1), 24),
        (BERLIN, date(2026, 3, 29), 23),
        (BERLIN, date(2026, 10, 25), 25),
        (CHATHAM, date(2026, 4, 5), 25),
        (CHATHAM, date(2026, 9, 27), 23),
        (KOLKATA, date(2026, 3, 8), 24),
    ],
)
def test_a_day_that_changes_clocks_has_its_real_length(tz: ZoneInfo, day: date, hours: int) -> None:
    period = resolve_period(PeriodSpec.between(day, day), now=NOW, tz=tz)
    assert period.end - period.start == timedelta(hours=hours)


def test_seven_days_across_spring_forward_are_one_hour_short() -> None:
    now = datetime(2026, 3, 8, 12, tzinfo=NEW_YORK)
    period = resolve_period(PeriodSpec.last_days(7), now=now, tz=NEW_YORK)
    assert period.start == utc(2026, 3, 2, 5)  # EST
    assert period.end == utc(2026, 3, 9, 4)  # EDT
    assert period.end - period.start == timedelta(days=7) - HOUR


@pytest.mark.parametrize(
    ("tz", "start"),
    [
        (KOLKATA, utc(2026, 11, 21, 18, 30)),
        (KATHMANDU, utc(2026, 11, 21, 18, 15)),
        (CHATHAM, utc(2026, 11, 21, 10, 15)),  # +13:45 in the southern summer
        (UTC_ZONE, utc(2026, 11, 22)),
        (NEW_YORK, utc(2026, 11, 22, 5)),
    ],
)
def test_local_midnight_in_odd_offsets(tz: ZoneInfo, start: datetime) -> None:
    now = datetime(2026, 11, 22, 12, tzinfo=tz)
    period = resolve_period(PeriodSpec.today(), now=now, tz=tz)
    assert period.start == start
    assert local_midnight(date(2026, 11, 22), tz) == start


def test_midnight_skipped_by_a_clock_change_starts_the_day_at_the_change() -> None:
    # Chile springs forward at 24:00 on the first Saturday of September: 2026-09-06 begins at 01:00.
    santiago = ZoneInfo("America/Santiago")
    start = local_midnight(date(2026, 9, 6), santiago)
    assert start.astimezone(santiago).replace(tzinfo=None) == datetime(2026, 9, 6, 1)  # noqa: DTZ001
    assert (start - timedelta(seconds=1)).astimezone(santiago).date() == date(2026, 9, 5)


# ------------------------------------------------------------------------------------------ previous_period


def test_previous_of_seven_days_is_the_seven_before() -> None:
    period = resolve_period(PeriodSpec.last_days(7), now=NOW, tz=UTC_ZONE)
    previous = previous_period(period)
    assert (previous.first_day, previous.last_day) == (date(2026, 11, 9), date(2026, 11, 15))
    assert previous.end == period.start
    assert previous.label == "previous 7 days (Nov 9–15)"


def test_previous_of_today_is_yesterday() -> None:
    previous = previous_period(resolve_period(PeriodSpec.today(), now=NOW, tz=UTC_ZONE))
    assert previous.first_day == date(2026, 11, 21)
    assert previous.label == "yesterday"
    assert previous.kind is PeriodKind.YESTERDAY


def test_previous_of_yesterday_names_the_day() -> None:
    previous = previous_period(resolve_period(PeriodSpec.yesterday(), now=NOW, tz=UTC_ZONE))
    assert previous.label == "Nov 20"


def test_previous_of_month_to_date_is_the_same_days_of_last_month() -> None:
    previous = previous_period(resolve_period(PeriodSpec.month_to_date(), now=NOW, tz=UTC_ZONE))
    assert (previous.first_day, previous.last_day) == (date(2026, 10, 1), date(2026, 10, 22))
    assert previous.label == "Oct 1–22"


@pytest.mark.parametrize(
    ("today", "first", "last"),
    [
        (date(2026, 3, 31), date(2026, 2, 1), date(2026, 2, 28)),
        (date(2024, 3, 31), date(2024, 2, 1), date(2024, 2, 29)),
        (date(2026, 1, 15), date(2025, 12, 1), date(2025, 12, 15)),
        (date(2026, 5, 31), date(2026, 4, 1), date(2026, 4, 30)),
    ],
)
def test_previous_month_to_date_is_cut_to_last_months_length(today: date, first: date, last: date) -> None:
    now = datetime(today.year, today.month, today.day, 12, tzinfo=UTC)
    previous = previous_period(resolve_period(PeriodSpec.month_to_date(), now=now, tz=UTC_ZONE))
    assert (previous.first_day, previous.last_day) == (first, last)


def test_previous_of_a_range_is_the_same_length_before() -> None:
    spec = PeriodSpec.between(date(2026, 10, 1), date(2026, 10, 31))
    previous = previous_period(resolve_period(spec, now=NOW, tz=UTC_ZONE))
    assert (previous.first_day, previous.last_day) == (date(2026, 8, 31), date(2026, 9, 30))
    assert previous.label == "2026-08-31..2026-09-30"


def test_previous_of_a_cycle_is_the_same_length_before() -> None:
    cycle = (utc(2026, 10, 24), utc(2026, 11, 24))
    previous = previous_period(resolve_period(PeriodSpec.cycle(), now=NOW, tz=UTC_ZONE, cycle=cycle))
    assert (previous.start, previous.end) == (utc(2026, 9, 23), utc(2026, 10, 24))
    assert previous.label == "previous cycle (Sep 23–Oct 23)"


# ------------------------------------------------------------------------------------------ UTC days


def test_utc_days_are_the_same_calendar_dates() -> None:
    period = resolve_period(PeriodSpec.last_days(7), now=NOW, tz=KOLKATA)
    assert utc_days(period) == (date(2026, 11, 16), date(2026, 11, 22))
    assert utc_day_bounds(period) == (utc(2026, 11, 16), utc(2026, 11, 23))


def test_utc_days_of_a_cycle_are_its_own_bounds() -> None:
    cycle = (utc(2026, 10, 24), utc(2026, 11, 24))
    period = resolve_period(PeriodSpec.cycle(), now=NOW, tz=NEW_YORK, cycle=cycle)
    assert period.first_day == date(2026, 10, 23)  # 20:00 the evening before, in New York
    assert utc_days(period) == (date(2026, 10, 24), date(2026, 11, 23))


def test_split_a_local_period_into_head_whole_days_and_tail() -> None:
    period = resolve_period(PeriodSpec.last_days(7), now=NOW, tz=KOLKATA)
    head, full, tail = split_for_rollups(period.start, period.end)
    assert head == (utc(2026, 11, 15, 18, 30), utc(2026, 11, 16))
    assert full == (date(2026, 11, 16), date(2026, 11, 21))
    assert tail == (utc(2026, 11, 22), utc(2026, 11, 22, 18, 30))


def test_split_whole_utc_days_has_no_edges() -> None:
    assert split_for_rollups(utc(2026, 11, 1), utc(2026, 11, 8)) == (
        None,
        (date(2026, 11, 1), date(2026, 11, 7)),
        None,
    )


def test_split_without_a_whole_day_is_one_piece() -> None:
    assert split_for_rollups(utc(2026, 11, 1, 22), utc(2026, 11, 2, 3)) == (
        (utc(2026, 11, 1, 22), utc(2026, 11, 2, 3)),
        None,
        None,
    )
    assert split_for_rollups(utc(2026, 11, 1, 3), utc(2026, 11, 1, 3)) == (None, None, None)


def test_split_converts_other_zones_to_utc() -> None:
    start = datetime(2026, 11, 1, 0, tzinfo=KOLKATA)
    head, _, _ = split_for_rollups(start, start + timedelta(days=3))
    assert head is not None
    assert head[0] == utc(2026, 10, 31, 18, 30)
    assert head[0].tzinfo is UTC


# ------------------------------------------------------------------------------------------ durations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("4h", timedelta(hours=4)),
        ("2d", timedelta(days=2)),
        ("90d", timedelta(days=90)),
        ("2160h", timedelta(days=90)),
        (" 4H ", timedelta(hours=4)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0m", "longer than zero"),
        ("91d", "at most 90 days"),
        ("2161h", "at most 90 days"),
        ("4x", "like `30m`"),
    ],
)
def test_parse_duration_refuses(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_duration(text)
    assert looks_like_duration("4h")
    assert not looks_like_duration("4x")


def test_format_day_span() -> None:
    assert format_day_span(date(2026, 11, 22), date(2026, 11, 22)) == "Nov 22"
    assert format_day_span(date(2026, 11, 16), date(2026, 11, 22)) == "Nov 16–22"
    assert format_day_span(date(2026, 12, 28), date(2027, 1, 3)) == "Dec 28–Jan 3"


# ------------------------------------------------------------------------------------------ properties

ZONES = [
    UTC_ZONE,
    NEW_YORK,
    BERLIN,
    KOLKATA,
    KATHMANDU,
    CHATHAM,
    ZoneInfo("America/Santiago"),
    ZoneInfo("Australia/Lord_Howe"),
    ZoneInfo("America/St_Johns"),
    ZoneInfo("Pacific/Kiritimati"),
    ZoneInfo("Pacific/Pago_Pago"),
    ZoneInfo("Asia/Tehran"),
    ZoneInfo("America/Havana"),
    ZoneInfo("Africa/Casablanca"),
]

zones = st.sampled_from(ZONES)
EARLIEST = datetime(2015, 1, 1)  # noqa: DTZ001 - hypothesis bounds are naive
LATEST = datetime(2040, 12, 31)  # noqa: DTZ001
instants = st.datetimes(min_value=EARLIEST, max_value=LATEST, timezones=st.just(UTC))
days = st.dates(min_value=date(2015, 1, 1), max_value=date(2040, 12, 31))


@st.composite
def specs(draw: st.DrawFn) -> PeriodSpec:
    kind = draw(st.sampled_from([k for k in PeriodKind if k is not PeriodKind.CYCLE]))
    if kind is PeriodKind.DAYS:
        return PeriodSpec.last_days(draw(st.integers(1, MAX_PERIOD_DAYS)))
    if kind is PeriodKind.RANGE:
        first = draw(days)
        return PeriodSpec.between(first, first + timedelta(days=draw(st.integers(0, 500))))
    if kind is PeriodKind.MONTH:
        return PeriodSpec.calendar_month(draw(st.integers(1, 12)), draw(st.none() | st.integers(2015, 2040)))
    return PeriodSpec(kind)


def assert_starts_a_local_day(moment: datetime, day: date, tz: ZoneInfo) -> None:
    assert moment.tzinfo is UTC
    assert moment.astimezone(tz).date() == day
    assert (moment - timedelta(microseconds=1)).astimezone(tz).date() == day - timedelta(days=1)


def assert_well_formed(period: Period) -> None:
    assert period.start < period.end
    assert period.days == (period.last_day - period.first_day).days + 1
    assert_starts_a_local_day(period.start, period.first_day, period.tz)
    assert_starts_a_local_day(period.end, period.last_day + timedelta(days=1), period.tz)
    hours = (period.end - period.start) / HOUR
    assert period.days * 24 - 3 <= hours <= period.days * 24 + 3


@settings(max_examples=300, deadline=None)
@given(spec=specs(), now=instants, tz=zones)
def test_resolved_periods_are_runs_of_whole_local_days(spec: PeriodSpec, now: datetime, tz: ZoneInfo) -> None:
    period = resolve_period(spec, now=now, tz=tz)
    assert_well_formed(period)
    today = now.astimezone(tz).date()
    if spec.kind is not PeriodKind.RANGE and (spec.kind is not PeriodKind.MONTH or spec.year is None):
        assert period.last_day <= today
    if spec.kind in (PeriodKind.THIS_WEEK, PeriodKind.LAST_WEEK):
        assert period.first_day.weekday() == 0
        assert spec.kind is PeriodKind.THIS_WEEK or period.days == 7
    if spec.kind is PeriodKind.DAYS:
        assert period.days == spec.days
        assert period.last_day == today


@settings(max_examples=300, deadline=None)
@given(spec=specs(), now=instants, tz=zones)
def test_previous_period_is_just_before(spec: PeriodSpec, now: datetime, tz: ZoneInfo) -> None:
    period = resolve_period(spec, now=now, tz=tz)
    previous = previous_period(period)
    assert_well_formed(previous)
    if period.kind is PeriodKind.MTD:
        assert previous.first_day.day == 1
        assert previous.last_day.day == min(period.last_day.day, previous.last_day.day)
        assert previous.first_day == (period.first_day - timedelta(days=1)).replace(day=1)
    elif period.kind is PeriodKind.THIS_WEEK:
        assert previous.first_day == period.first_day - timedelta(days=7)
        assert previous.days == period.days
    elif period.kind in (PeriodKind.LAST_MONTH, PeriodKind.MONTH):
        assert previous.end == period.start
        assert previous.first_day.day == 1
        assert (previous.last_day + timedelta(days=1)).day == 1
    else:
        assert previous.end == period.start
        assert previous.days == period.days


@settings(max_examples=200, deadline=None)
@given(start=instants, length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40)))
def test_split_for_rollups_covers_the_range_exactly(start: datetime, length: timedelta) -> None:
    end = start + length
    head, full, tail = split_for_rollups(start, end)
    pieces: list[tuple[datetime, datetime]] = []
    if head is not None:
        pieces.append(head)
    if full is not None:
        first = datetime.combine(full[0], datetime.min.time(), tzinfo=UTC)
        last = datetime.combine(full[1], datetime.min.time(), tzinfo=UTC) + timedelta(days=1)
        pieces.append((first, last))
        assert full[0] <= full[1]
    if tail is not None:
        pieces.append(tail)
    if start == end:
        assert pieces == []
        return
    assert pieces[0][0] == start
    assert pieces[-1][1] == end
    for (_, left_end), (right_start, _) in itertools.pairwise(pieces):
        assert left_end == right_start
    for piece_start, piece_end in pieces:
        assert piece_start < piece_end
    for edge in (head, tail):
        if edge is not None and full is not None:
            assert edge[1] - edge[0] < timedelta(days=1)


@settings(max_examples=300, deadline=None)
@given(
    start=instants,
    length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)),
    complements=st.booleans(),
)
def test_a_rollup_plan_counts_every_quarter_hour_of_the_range_once(
    start: datetime, length: timedelta, complements: bool
) -> None:
    start = start.astimezone(UTC).replace(minute=start.minute // 15 * 15, second=0, microsecond=0)
    end = start + timedelta(minutes=length // timedelta(minutes=15) * 15)
    plan = plan_rollups(start, end, complements=complements)
    for span_start, span_end, _ in plan.spans:
        if complements:
            assert span_end - span_start <= timedelta(hours=12)
        assert span_start.date() == (span_end - timedelta(microseconds=1)).date()  # within one UTC day
    moment = start - timedelta(days=2)
    while moment < end + timedelta(days=2):
        count = sum(sign for a, b, sign in plan.spans if a <= moment < b)
        if plan.days is not None and plan.days[0] <= moment.date() <= plan.days[1]:
            count += 1
        assert count == (1 if start <= moment < end else 0), moment
        moment += timedelta(minutes=15)


def test_a_partial_day_longer_than_half_a_day_is_its_day_less_the_rest() -> None:
    # New York's 30 days: the first local day starts at 05:00 UTC, so 5 hours are taken from it.
    plan = plan_rollups(utc(2026, 11, 3, 5), utc(2026, 12, 3, 5))
    assert plan.days == (date(2026, 11, 3), date(2026, 12, 2))
    assert plan.spans == (
        (utc(2026, 11, 3), utc(2026, 11, 3, 5), -1),
        (utc(2026, 12, 3), utc(2026, 12, 3, 5), 1),
    )
    # Without fine rows (whole-day sources) a partial day is left out, never completed from its day.
    assert plan_rollups(utc(2026, 11, 3, 5), utc(2026, 11, 5), complements=False).days == (
        date(2026, 11, 4),
        date(2026, 11, 4),
    )
