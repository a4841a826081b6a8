"""Periods: what a person asked for (``PeriodSpec``) and the exact UTC bounds it means (``Period``).

A period is a run of whole local days in the asking person's time zone. Its bounds are the local
midnights converted to UTC with ``zoneinfo``, so a day that changes clocks is 23 or 25 hours long, and a
zone at +5:45 starts its days at 18:15 UTC. ``end`` is always exclusive: the local midnight after the last
day. The one exception is ``cycle``, which is a connection's own billing cycle and keeps the vendor's bounds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.errors import MissingCycleError

MAX_PERIOD_DAYS = 400
"""The longest ``Nd`` period: the default history kept (``SPENDBOT_RETENTION_DAYS``)."""

EARLIEST_DAY = date(1970, 1, 1)
LATEST_DAY = date(2199, 12, 31)
"""Range days outside these are refused: typing mistakes, and far enough from the ends of ``date`` that
converting them (or the period before them) to UTC can never overflow."""

PERIOD_FORMS = (
    "a period is `today`, `yesterday`, `7d` (or `last 7d`), `this week`, `last week`, "
    "`mtd` (or `this month`), `last month`, a month (`november`, `2026-11`), `cycle` "
    "or `YYYY-MM-DD..YYYY-MM-DD`"
)

MAX_DURATION = timedelta(days=90)
"""The longest snooze."""

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
#: Month words people type: full names, three-letter abbreviations and "sept".
MONTH_WORDS: dict[str, int] = {
    **{name.lower(): index for index, name in enumerate(_MONTH_NAMES, start=1)},
    **{name.lower(): index for index, name in enumerate(_MONTHS, start=1)},
    "sept": 9,
}
#: Words that start a two-word period (``last week``, ``this month``, ``last 14d``).
PERIOD_LEADS = frozenset({"last", "this"})
_ONE_DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)

_DAYS_TOKEN = re.compile(r"([0-9]{1,6})d")
_DAYS_MISSPELT = re.compile(r"([0-9]{1,6})(?:days?|dys?|da)")
_RANGE_TOKEN = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})\.\.([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_DATE_LIKE = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}")
_MONTH_TOKEN = re.compile(r"([0-9]{4})-([0-9]{1,2})")
_DURATION_TOKEN = re.compile(r"([0-9]{1,6})([mhd])")
_DURATION_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}


class PeriodKind(StrEnum):
    """The forms a period can be asked in."""

    TODAY = "today"
    YESTERDAY = "yesterday"
    DAYS = "days"
    MTD = "mtd"
    CYCLE = "cycle"
    RANGE = "range"
    THIS_WEEK = "this week"
    LAST_WEEK = "last week"
    LAST_MONTH = "last month"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class PeriodSpec:
    """A period as asked, before it is resolved against a clock, a time zone and a billing cycle.

    ``days`` is set only for ``DAYS`` (``7d``), ``first_day``/``last_day`` only for ``RANGE``, ``month`` (and
    ``year`` when it was typed: ``2026-11``; a month name means its latest one up to today) only for
    ``MONTH``. Build one with the class methods; the constructor refuses inconsistent fields with
    ``ValueError``.
    """

    kind: PeriodKind
    days: int | None = None
    first_day: date | None = None
    last_day: date | None = None
    month: int | None = None
    year: int | None = None

    def __post_init__(self) -> None:
        if self.kind is PeriodKind.MONTH:
            if self.month is None or not 1 <= self.month <= 12:
                raise ValueError(f"a month period needs a month from 1 to 12, not {self.month}")
            if self.year is not None and not EARLIEST_DAY.year <= self.year <= LATEST_DAY.year:
                raise ValueError(f"a month must lie between {EARLIEST_DAY.year} and {LATEST_DAY.year}")
        elif self.month is not None or self.year is not None:
            raise ValueError(f"only a month period has a month, not {self.kind}")
        if self.kind is PeriodKind.DAYS:
            if self.days is None or not 1 <= self.days <= MAX_PERIOD_DAYS:
                raise ValueError(f"a days period needs 1 to {MAX_PERIOD_DAYS} days, not {self.days}")
        elif self.days is not None:
            raise ValueError(f"only a days period has a number of days, not {self.kind}")
        if self.kind is PeriodKind.RANGE:
            if self.first_day is None or self.last_day is None:
                raise ValueError("a range needs its first and last day")
            if self.first_day > self.last_day:
                raise ValueError("a range must not end before it starts")
            if self.first_day < EARLIEST_DAY or self.last_day > LATEST_DAY:
                raise ValueError(f"a range must lie between {EARLIEST_DAY} and {LATEST_DAY}")
        elif self.first_day is not None or self.last_day is not None:
            raise ValueError(f"only a range has days, not {self.kind}")

    @classmethod
    def today(cls) -> PeriodSpec:
        """Today, in the asker's time zone."""
        return cls(PeriodKind.TODAY)

    @classmethod
    def yesterday(cls) -> PeriodSpec:
        """Yesterday, in the asker's time zone."""
        return cls(PeriodKind.YESTERDAY)

    @classmethod
    def last_days(cls, days: int) -> PeriodSpec:
        """``days`` calendar days ending today, today included (``7d``)."""
        return cls(PeriodKind.DAYS, days=days)

    @classmethod
    def month_to_date(cls) -> PeriodSpec:
        """The 1st of this month to today (the default period)."""
        return cls(PeriodKind.MTD)

    @classmethod
    def cycle(cls) -> PeriodSpec:
        """Each connection's own billing cycle."""
        return cls(PeriodKind.CYCLE)

    @classmethod
    def between(cls, first_day: date, last_day: date) -> PeriodSpec:
        """From ``first_day`` to ``last_day``, both included."""
        return cls(PeriodKind.RANGE, first_day=first_day, last_day=last_day)

    @classmethod
    def this_week(cls) -> PeriodSpec:
        """Monday of this week to today, in the asker's time zone."""
        return cls(PeriodKind.THIS_WEEK)

    @classmethod
    def last_week(cls) -> PeriodSpec:
        """Last week, Monday to Sunday."""
        return cls(PeriodKind.LAST_WEEK)

    @classmethod
    def last_month(cls) -> PeriodSpec:
        """Last calendar month, whole."""
        return cls(PeriodKind.LAST_MONTH)

    @classmethod
    def calendar_month(cls, month: int, year: int | None = None) -> PeriodSpec:
        """A calendar month: of ``year``, or without one the latest such month up to today."""
        return cls(PeriodKind.MONTH, month=month, year=year)

    @property
    def token(self) -> str:
        """The period as typed: ``7d``, ``mtd``, ``last week``, ``2026-11``, ``2026-10-01..2026-10-31``."""
        if self.kind is PeriodKind.DAYS:
            return f"{self.days}d"
        if self.kind is PeriodKind.RANGE:
            return f"{self.first_day}..{self.last_day}"
        if self.kind is PeriodKind.MONTH:
            assert self.month is not None
            name = _MONTH_NAMES[self.month - 1].lower()
            return name if self.year is None else f"{self.year:04d}-{self.month:02d}"
        return self.kind.value


DEFAULT_PERIOD = PeriodSpec.month_to_date()


@dataclass(frozen=True, slots=True)
class Period:
    """A resolved period: UTC bounds, the local days they cover, and how to name it.

    ``start`` and ``end`` are aware UTC datetimes, ``end`` exclusive. ``first_day`` and ``last_day`` are local
    dates in ``tz``, both included. ``label`` is what a reader sees ("last 7 days (Nov 16–22)").
    """

    start: datetime
    end: datetime
    first_day: date
    last_day: date
    tz: ZoneInfo
    kind: PeriodKind
    label: str

    @property
    def days(self) -> int:
        """How many local days the period covers."""
        return (self.last_day - self.first_day).days + 1


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant at which ``day`` begins in ``tz``.

    Where midnight itself is skipped by a clock change, the day begins at the change, which is what
    ``zoneinfo`` gives for the earlier offset; where midnight happens twice, the first one counts.
    """
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def resolve_period(
    spec: PeriodSpec,
    *,
    now: datetime,
    tz: ZoneInfo,
    cycle: tuple[datetime, datetime] | None = None,
) -> Period:
    """Turn what was asked into exact UTC bounds, for a person in ``tz`` at ``now``.

    ``cycle`` is the billing cycle (start, exclusive end) of the connection being asked about; it is needed
    only for ``cycle`` and ``MissingCycleError`` (a ``ValueError``) is raised when it is missing there.
    """
    _require_aware(now, "now")
    today = now.astimezone(tz).date()
    if spec.kind is PeriodKind.TODAY:
        return _local_period(today, today, tz, spec.kind, "today")
    if spec.kind is PeriodKind.YESTERDAY:
        yesterday = today - _ONE_DAY
        return _local_period(yesterday, yesterday, tz, spec.kind, "yesterday")
    if spec.kind is PeriodKind.DAYS:
        assert spec.days is not None
        first = today - timedelta(days=spec.days - 1)
        label = f"last {_count_days(spec.days)} ({format_day_span(first, today)})"
        return _local_period(first, today, tz, spec.kind, label)
    if spec.kind is PeriodKind.MTD:
        first = today.replace(day=1)
        return _local_period(first, today, tz, spec.kind, format_day_span(first, today))
    if spec.kind is PeriodKind.RANGE:
        assert spec.first_day is not None
        assert spec.last_day is not None
        return _local_period(spec.first_day, spec.last_day, tz, spec.kind, spec.token)
    if spec.kind in _CALENDAR_KINDS:
        return _calendar_period(spec, today, tz)
    if cycle is None:
        raise MissingCycleError("the cycle period needs the connection's billing cycle")
    return _cycle_period(cycle, tz, "this cycle")


_CALENDAR_KINDS = frozenset(
    {PeriodKind.THIS_WEEK, PeriodKind.LAST_WEEK, PeriodKind.LAST_MONTH, PeriodKind.MONTH}
)


def _calendar_period(spec: PeriodSpec, today: date, tz: ZoneInfo) -> Period:
    """A week (Monday to Sunday) or a calendar month, as people name them, around ``today``."""
    if spec.kind is PeriodKind.THIS_WEEK:
        monday = today - timedelta(days=today.weekday())
        return _local_period(monday, today, tz, spec.kind, f"this week ({format_day_span(monday, today)})")
    if spec.kind is PeriodKind.LAST_WEEK:
        monday = today - timedelta(days=today.weekday() + 7)
        sunday = monday + timedelta(days=6)
        return _local_period(monday, sunday, tz, spec.kind, f"last week ({format_day_span(monday, sunday)})")
    if spec.kind is PeriodKind.LAST_MONTH:
        first = (today.replace(day=1) - _ONE_DAY).replace(day=1)
        return _month_period(first, tz, spec.kind, f"last month ({_month_name(first)})")
    assert spec.month is not None
    year = spec.year if spec.year is not None else today.year - (spec.month > today.month)
    first = date(year, spec.month, 1)
    if first == today.replace(day=1):  # the month under way: to date, compared as mtd is
        return _local_period(first, today, tz, PeriodKind.MTD, f"{_month_name(first)} to date")
    return _month_period(first, tz, spec.kind, _month_name(first))


def previous_period(period: Period) -> Period:
    """The period a figure is compared with: the same number of days just before.

    For ``mtd`` it is the same days of last month (the 1st to the same day of the month, cut to last
    month's length), so Nov 1–22 is compared with Oct 1–22. For a cycle it is the same length of time just
    before the cycle started.
    """
    tz = period.tz
    if period.kind is PeriodKind.MTD:
        last_month_end = period.first_day - _ONE_DAY
        first = last_month_end.replace(day=1)
        last = first.replace(day=min(period.last_day.day, last_month_end.day))
        return _local_period(first, last, tz, PeriodKind.MTD, format_day_span(first, last))
    if period.kind is PeriodKind.CYCLE:
        length = period.end - period.start
        return _cycle_period((period.start - length, period.start), tz, "previous cycle")
    if period.kind in (PeriodKind.LAST_MONTH, PeriodKind.MONTH):
        first = (period.first_day - _ONE_DAY).replace(day=1)
        return _month_period(first, tz, PeriodKind.MONTH, _month_name(first))
    if period.kind is PeriodKind.THIS_WEEK:
        first, last = period.first_day - timedelta(days=7), period.last_day - timedelta(days=7)
        label = f"the same days last week ({format_day_span(first, last)})"
        return _local_period(first, last, tz, PeriodKind.RANGE, label)
    first = period.first_day - timedelta(days=period.days)
    last = period.first_day - _ONE_DAY
    if period.kind is PeriodKind.TODAY:
        return _local_period(first, last, tz, PeriodKind.YESTERDAY, "yesterday")
    if period.kind is PeriodKind.DAYS:
        label = f"previous {_count_days(period.days)} ({format_day_span(first, last)})"
    elif period.kind is PeriodKind.LAST_WEEK:
        label = f"the week before ({format_day_span(first, last)})"
    elif period.kind is PeriodKind.RANGE:
        label = f"{first}..{last}"
    else:
        label = format_day_span(first, last)
    return _local_period(first, last, tz, PeriodKind.RANGE, label)


def utc_days(period: Period) -> tuple[date, date]:
    """The UTC days (first, last, both included) to ask of a source that only reports whole UTC days.

    Windsurf reports by UTC day, so a local period is answered with the same calendar dates taken as UTC
    days, and the answer says so. A cycle's dates are its own bounds read in UTC.
    """
    if period.kind is PeriodKind.CYCLE:
        return period.start.astimezone(UTC).date(), (period.end - _TICK).astimezone(UTC).date()
    return period.first_day, period.last_day


def utc_day_bounds(period: Period) -> tuple[datetime, datetime]:
    """The UTC instants bounding ``utc_days(period)``: midnight UTC of its first day and after its last."""
    first, last = utc_days(period)
    return _utc_midnight(first), _utc_midnight(last + _ONE_DAY)


def split_for_rollups(
    start: datetime, end: datetime
) -> tuple[tuple[datetime, datetime] | None, tuple[date, date] | None, tuple[datetime, datetime] | None]:
    """Split the UTC range [start, end) into a partial head, whole UTC days, and a partial tail.

    The store keeps quarter-hour rows and whole-UTC-day rollups: the whole days (first, last, both included)
    are answered from rollups, the head and the tail from the fine rows. The pieces, in order, cover exactly
    [start, end). A range holding no whole UTC day comes back as one head. An empty range gives three Nones.
    """
    _require_aware(start, "start")
    _require_aware(end, "end")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if start >= end:
        return None, None, None
    first_midnight = _utc_midnight_at_or_after(start)
    last_midnight = _utc_midnight_at_or_before(end)
    if first_midnight >= last_midnight:
        return (start, end), None, None
    head = (start, first_midnight) if start < first_midnight else None
    full_days = (first_midnight.date(), (last_midnight - _ONE_DAY).date())
    tail = (last_midnight, end) if last_midnight < end else None
    return head, full_days, tail


#: A partial day longer than this is read as its whole day less the rest of it, the smaller side.
HALF_DAY = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class RollupPlan:
    """How the store sums a range: the whole UTC days ``days`` (first, last, both included) from day
    rollups, plus or minus the quarter-hour ``spans`` (start, end, sign +1 or -1)."""

    days: tuple[date, date] | None
    spans: tuple[tuple[datetime, datetime, int], ...]


def plan_rollups(start: datetime, end: datetime, *, complements: bool = True) -> RollupPlan:
    """The cheapest exact way to sum ``[start, end)``: whole days from rollups, partial days from buckets.

    A partial day longer than half a day is its whole day less its complement (``complements``), so no
    edge reads more than twelve hours of fine rows; a day still running reads its day row and an empty
    complement after now. Sources without fine rows ask without complements: their partial days are
    left out, as the fine rows they do not have would leave them.
    """
    head, days, tail = split_for_rollups(start, end)
    first, last = days if days is not None else (None, None)
    spans: list[tuple[datetime, datetime, int]] = []
    for piece in (head, tail):
        if piece is None:
            continue
        for part_start, part_end in _within_days(*piece):
            day = part_start.date()
            if not complements or part_end - part_start <= HALF_DAY:
                spans.append((part_start, part_end, 1))
                continue
            first = day if first is None else min(first, day)
            last = day if last is None else max(last, day)
            midnight = _utc_midnight(day)
            rest = ((midnight, part_start), (part_end, midnight + _ONE_DAY))
            spans += [(a, b, -1) for a, b in rest if a < b]
    return RollupPlan(None if first is None or last is None else (first, last), tuple(spans))


def _within_days(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` (no whole UTC day inside) cut at the UTC midnight it may cross."""
    midnight = _utc_midnight_at_or_after(start)
    if start < midnight < end:
        return [(start, midnight), (midnight, end)]
    return [(start, end)]


def looks_like_period(word: str) -> bool:
    """Whether a (lowercased) word is written like a period, right or wrong, so it can be judged as one.

    ``last`` and ``this`` start a two-word period; the grammar reads the word after them with them.
    """
    return (
        word in {"today", "yesterday", "mtd", "cycle", "week", "month"}
        or word in PERIOD_LEADS
        or word in MONTH_WORDS
        or _MONTH_TOKEN.fullmatch(word) is not None
        or _DAYS_TOKEN.fullmatch(word) is not None
        or _DAYS_MISSPELT.fullmatch(word) is not None
        or ".." in word
        or _DATE_LIKE.fullmatch(word) is not None
    )


def parse_period(word: str) -> PeriodSpec:
    """Read a period: ``today``, ``yesterday``, ``7d``, ``mtd``, ``cycle``, ``2026-10-01..2026-10-31``, a
    month (``november``, ``nov``, ``2026-11``), or two words: ``this week``, ``last week``, ``this month``,
    ``last month``, ``last 14d``.

    Raises ``ValueError`` with a sentence a person can act on when the words are not a valid period.
    """
    word = " ".join(word.strip().lower().split())
    simple = {
        "today": PeriodSpec.today,
        "yesterday": PeriodSpec.yesterday,
        "mtd": PeriodSpec.month_to_date,
        "cycle": PeriodSpec.cycle,
        "this week": PeriodSpec.this_week,
        "last week": PeriodSpec.last_week,
        "this month": PeriodSpec.month_to_date,
        "last month": PeriodSpec.last_month,
    }
    if word in simple:
        return simple[word]()
    if (spoken := _spoken_period(word)) is not None:
        return spoken
    if match := _DAYS_TOKEN.fullmatch(word):
        days = int(match.group(1))
        if not 1 <= days <= MAX_PERIOD_DAYS:
            raise ValueError(f"a number of days must be from 1 to {MAX_PERIOD_DAYS}")
        return PeriodSpec.last_days(days)
    if match := _DAYS_MISSPELT.fullmatch(word):
        raise ValueError(f"write a number of days as `{match.group(1)}d`")
    if match := _RANGE_TOKEN.fullmatch(word):
        first = _calendar_date(*match.group(1, 2, 3))
        last = _calendar_date(*match.group(4, 5, 6))
        if first > last:
            raise ValueError("a range must not end before it starts")
        if first < EARLIEST_DAY or last > LATEST_DAY:
            raise ValueError(f"a range must lie between {EARLIEST_DAY} and {LATEST_DAY}")
        return PeriodSpec.between(first, last)
    if _DATE_LIKE.fullmatch(word):
        raise ValueError(f"a single day is written as a range, like `{word}..{word}`")
    raise ValueError(PERIOD_FORMS)


def _spoken_period(word: str) -> PeriodSpec | None:
    """``last``/``this`` + a word, a month name or ``YYYY-MM``; None for any other form."""
    lead, _, rest = word.partition(" ")
    if lead in PERIOD_LEADS:
        if lead == "last" and _DAYS_TOKEN.fullmatch(rest):
            return parse_period(rest)
        if rest in MONTH_WORDS:
            month = MONTH_WORDS[rest]
            raise ValueError(
                f"name a month alone, `{rest}` (its latest one), or with its year, `YYYY-{month:02d}`"
            )
        after = "`week`, `month` or a number of days like `14d`" if lead == "last" else "`week` or `month`"
        raise ValueError(f"`{lead}` takes {after} after it")
    if word in ("week", "month"):
        raise ValueError(f"write `this {word}` or `last {word}`")
    if word in MONTH_WORDS:
        return PeriodSpec.calendar_month(MONTH_WORDS[word])
    if match := _MONTH_TOKEN.fullmatch(word):
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise ValueError(f"{word} is not a month: months are 01 to 12")
        if not EARLIEST_DAY.year <= year <= LATEST_DAY.year:
            raise ValueError(f"a month must lie between {EARLIEST_DAY.year} and {LATEST_DAY.year}")
        return PeriodSpec.calendar_month(month, year)
    return None


def looks_like_duration(word: str) -> bool:
    """Whether a (lowercased) word is written like a duration (``30m``, ``4h``, ``2d``)."""
    return _DURATION_TOKEN.fullmatch(word) is not None


def parse_duration(text: str, *, maximum: timedelta = MAX_DURATION) -> timedelta:
    """Read a duration such as ``30m``, ``4h`` or ``2d``: positive, and at most ``maximum`` (90 days).

    Raises ``ValueError`` with a sentence a person can act on.
    """
    match = _DURATION_TOKEN.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError("a duration is a whole number of minutes, hours or days, like `30m`, `4h` or `2d`")
    amount = int(match.group(1))
    if amount == 0:
        raise ValueError("a duration must be longer than zero")
    unit = _DURATION_UNITS[match.group(2)]
    if amount * unit > maximum:
        raise ValueError(f"a duration can be at most {maximum.days} days")
    return amount * unit


def format_day_span(first: date, last: date) -> str:
    """Name a run of days briefly: "Nov 22", "Nov 16–22", "Oct 24–Nov 23" (no year: periods are recent)."""
    if first == last:
        return _short_day(first)
    if (first.year, first.month) == (last.year, last.month):
        return f"{_short_day(first)}–{last.day}"
    return f"{_short_day(first)}–{_short_day(last)}"


def _month_name(first: date) -> str:
    return f"{_MONTH_NAMES[first.month - 1]} {first.year}"


def _month_period(first: date, tz: ZoneInfo, kind: PeriodKind, label: str) -> Period:
    """The whole calendar month that starts on ``first``."""
    last = (first + timedelta(days=32)).replace(day=1) - _ONE_DAY
    return _local_period(first, last, tz, kind, label)


def format_date(day: date) -> str:
    """One day with its year, for lists that reach back past this year: "Nov 2, 2026"."""
    return f"{_short_day(day)}, {day.year}"


def _count_days(days: int) -> str:
    return "1 day" if days == 1 else f"{days} days"


def _short_day(day: date) -> str:
    # Our own month names: strftime("%b") follows the process locale.
    return f"{_MONTHS[day.month - 1]} {day.day}"


def _local_period(first: date, last: date, tz: ZoneInfo, kind: PeriodKind, label: str) -> Period:
    return Period(
        start=local_midnight(first, tz),
        end=local_midnight(last + _ONE_DAY, tz),
        first_day=first,
        last_day=last,
        tz=tz,
        kind=kind,
        label=label,
    )


def _cycle_period(cycle: tuple[datetime, datetime], tz: ZoneInfo, name: str) -> Period:
    start, end = cycle
    _require_aware(start, "cycle start")
    _require_aware(end, "cycle end")
    if start >= end:
        raise ValueError("a billing cycle must end after it starts")
    first = start.astimezone(tz).date()
    last = (end - _TICK).astimezone(tz).date()
    return Period(
        start=start.astimezone(UTC),
        end=end.astimezone(UTC),
        first_day=first,
        last_day=last,
        tz=tz,
        kind=PeriodKind.CYCLE,
        label=f"{name} ({format_day_span(first, last)})",
    )


def _calendar_date(year: str, month: str, day: str) -> date:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise ValueError(f"{year}-{month}-{day} is not a day of the calendar") from None


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _utc_midnight_at_or_before(moment: datetime) -> datetime:
    return _utc_midnight(moment.date())


def _utc_midnight_at_or_after(moment: datetime) -> datetime:
    midnight = _utc_midnight_at_or_before(moment)
    return midnight if midnight == moment else midnight + _ONE_DAY


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
