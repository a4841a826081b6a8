"""When digests are due, in the subscriber's local time, with the design's rules for clock changes.

A digest is due at a local wall time (09:00 by default) on chosen weekdays. Where that wall time does not
exist (the hour skipped in spring) it goes at the first valid minute after the gap; where it happens twice
(the hour repeated in autumn) it goes at the first occurrence. Due times are aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAILY: frozenset[int] = frozenset(range(7))
"""Every day (weekday numbers: 0 is Monday)."""

WEEKLY: frozenset[int] = frozenset({0})
"""``weekly`` is Mondays."""

DEFAULT_DIGEST_TIME = time(9, 0)

_ONE_DAY = timedelta(days=1)
_ONE_MINUTE = timedelta(minutes=1)
_LONGEST_GAP_MINUTES = 2 * 24 * 60  # a skipped calendar day (Samoa, 2011) is the longest gap on record


def digest_due_on(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant a digest due at local ``at`` on local ``day`` goes out.

    Normally ``at`` on ``day`` in ``tz``; in a repeated hour its first occurrence; in a skipped hour the
    first valid minute after the gap (02:30 on a spring-forward night in New York goes at 03:00 EDT).
    """
    wall = datetime.combine(day, at.replace(tzinfo=None, fold=0))
    first = wall.replace(tzinfo=tz).astimezone(UTC)  # fold=0 is the first occurrence
    if _wall_time(first, tz) == wall:
        return first
    return _first_minute_after_gap(wall, tz)


def next_digest_at(*, weekdays: frozenset[int], at: time, tz: ZoneInfo, after: datetime) -> datetime:
    """The first due time strictly after ``after``, on one of ``weekdays`` (0 is Monday), in UTC."""
    _check_weekdays(weekdays)
    _require_aware(after)
    today = after.astimezone(tz).date()
    # From yesterday: a due time pushed forward by a gap may land in today.
    for offset in range(-1, 8):
        day = today + timedelta(days=offset)
        if day.weekday() in weekdays:
            due = digest_due_on(day, at, tz)
            if due > after:
                return due
    raise AssertionError("every weekday recurs within a week")  # pragma: no cover


def previous_digest_at(
    *, weekdays: frozenset[int], at: time, tz: ZoneInfo, at_or_before: datetime
) -> datetime:
    """The last due time at or before ``at_or_before``, in UTC: the one a restart may have missed."""
    _check_weekdays(weekdays)
    _require_aware(at_or_before)
    today = at_or_before.astimezone(tz).date()
    for offset in range(1, -8, -1):
        day = today + timedelta(days=offset)
        if day.weekday() in weekdays:
            due = digest_due_on(day, at, tz)
            if due <= at_or_before:
                return due
    raise AssertionError("every weekday recurs within a week")  # pragma: no cover


def local_day_ended(due_local_date: date, now: datetime, tz: ZoneInfo) -> bool:
    """Whether the local day a digest was for is over at ``now`` (a late digest is sent only if not)."""
    _require_aware(now)
    return now.astimezone(tz).date() > due_local_date


def _first_minute_after_gap(wall: datetime, tz: ZoneInfo) -> datetime:
    # In a gap, fold=1 reads the wall time with the offset after the change, which lands before the change;
    # step forward a minute at a time until the local clock has jumped past the wall time.
    moment = wall.replace(tzinfo=tz, fold=1).astimezone(UTC).replace(second=0, microsecond=0)
    for _ in range(_LONGEST_GAP_MINUTES):
        if _wall_time(moment, tz) >= wall:
            return moment
        moment += _ONE_MINUTE
    raise AssertionError(f"no end found for the gap at {wall} in {tz}")  # pragma: no cover


def _wall_time(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None, fold=0)


def _check_weekdays(weekdays: frozenset[int]) -> None:
    if not weekdays or not weekdays <= DAILY:
        raise ValueError("weekdays must be a non-empty set of numbers from 0 (Monday) to 6 (Sunday)")


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("times must be timezone-aware")
