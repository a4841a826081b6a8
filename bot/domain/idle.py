"""Idle seats: people who hold a paid seat and have not used the tool for a number of days.

A seat's last use is the later of what the vendor says (Copilot's ``last_activity_at``, Windsurf's
last-use times) and the last day the stored history holds any usage of the person. Where neither says
anything, the seat is idle only if the history reaches back over the whole window: otherwise "no use
seen" may only mean "no history yet", and the seat is counted as unknown, never as idle.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

DEFAULT_IDLE_DAYS = 30
MAX_IDLE_DAYS = 365


@dataclass(frozen=True, slots=True)
class Seat:
    """One seat of one source, with everything known about its last use."""

    email: str
    name: str | None
    source: str
    vendor: str
    vendor_last_use: date | None
    history_last_use: date | None

    @property
    def last_use(self) -> date | None:
        return max(filter(None, (self.vendor_last_use, self.history_last_use)), default=None)


@dataclass(frozen=True, slots=True)
class IdleSeat:
    """A seat unused for ``idle_days`` at least (None: never used as far as the vendor and history know)."""

    email: str
    name: str | None
    source: str
    vendor: str
    last_use: date | None
    idle_days: int | None
    monthly_cents: Decimal | None


@dataclass(frozen=True, slots=True)
class IdleSeats:
    """The idle seats, most money first, and what could not be judged."""

    seats: tuple[IdleSeat, ...]
    monthly_cents: Decimal
    """What the priced idle seats cost a month together."""
    unpriced: int
    """Idle seats of sources without a seat price."""
    unknown: int
    """Seats with no use seen whose source's history is shorter than the window."""


def _most_money_first(seat: IdleSeat) -> tuple[Decimal, int, str, str]:
    """Dearest first, then the longest unused (never used before all), then by email and source."""
    return (
        -(seat.monthly_cents or Decimal(0)),
        -(seat.idle_days if seat.idle_days is not None else 10**6),
        seat.email,
        seat.source,
    )


def idle_seats(
    seats: Iterable[Seat],
    *,
    today: date,
    days: int,
    history_start: dict[str, date | None],
    vendor_reports_use: dict[str, bool],
    monthly_cents: dict[str, Decimal | None],
) -> IdleSeats:
    """The seats with no use on ``today`` or the ``days - 1`` days before it.

    ``history_start`` is each source's first day of stored usage (None: none); ``vendor_reports_use``
    says whether a source's vendor reports last use itself (then a seat it has never seen used is idle
    whatever the history); ``monthly_cents`` is each source's seat price (None: not set).
    """
    if not 1 <= days <= MAX_IDLE_DAYS:
        raise ValueError(f"days must be from 1 to {MAX_IDLE_DAYS}")
    cutoff = date.fromordinal(today.toordinal() - days + 1)
    found: list[IdleSeat] = []
    unknown = 0
    for seat in seats:
        last = seat.last_use
        if last is not None and last >= cutoff:
            continue
        if last is None and not vendor_reports_use.get(seat.source, False):
            start = history_start.get(seat.source)
            if start is None or start > cutoff:
                unknown += 1
                continue
        idle_days = None if last is None else (today - last).days
        found.append(
            IdleSeat(
                seat.email,
                seat.name,
                seat.source,
                seat.vendor,
                last,
                idle_days,
                monthly_cents.get(seat.source),
            )
        )
    found.sort(key=_most_money_first)
    priced = [seat.monthly_cents for seat in found if seat.monthly_cents is not None]
    return IdleSeats(
        seats=tuple(found),
        monthly_cents=sum(priced, Decimal(0)),
        unpriced=len(found) - len(priced),
        unknown=unknown,
    )
