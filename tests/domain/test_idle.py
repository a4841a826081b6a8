"""Which seats are idle: the vendor's last use, the history's, and a history too short to say."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.domain.idle import Seat, idle_seats

TODAY = date(2026, 11, 20)


def _seat(
    email: str, source: str = "cursor", vendor: date | None = None, history: date | None = None
) -> Seat:
    return Seat(email, None, source, source, vendor_last_use=vendor, history_last_use=history)


def test_a_seat_used_on_the_windows_first_day_is_not_idle_and_the_day_before_is() -> None:
    seats = [
        _seat("first@x.io", history=date(2026, 10, 22)),
        _seat("before@x.io", history=date(2026, 10, 21)),
    ]
    found = idle_seats(
        seats,
        today=TODAY,
        days=30,
        history_start={"cursor": date(2026, 9, 1)},
        vendor_reports_use={},
        monthly_cents={"cursor": Decimal(4000)},
    )
    assert [(s.email, s.idle_days, s.monthly_cents) for s in found.seats] == [
        ("before@x.io", 30, Decimal(4000))
    ]
    assert (found.monthly_cents, found.unpriced, found.unknown) == (Decimal(4000), 0, 0)


def test_the_later_of_the_vendors_and_the_historys_last_use_counts() -> None:
    seat = _seat("a@x.io", "copilot", vendor=date(2026, 11, 1), history=date(2026, 9, 3))
    assert seat.last_use == date(2026, 11, 1)
    found = idle_seats(
        [seat], today=TODAY, days=30, history_start={}, vendor_reports_use={"copilot": True}, monthly_cents={}
    )
    assert found.seats == ()


def test_no_use_seen_is_idle_only_where_the_vendor_reports_use_or_the_history_covers_the_window() -> None:
    seats = [
        _seat("never@x.io", "copilot"),
        _seat("short@x.io", "cursor"),
        _seat("long@x.io", "windsurf"),
    ]
    found = idle_seats(
        seats,
        today=TODAY,
        days=30,
        history_start={"cursor": date(2026, 11, 1), "windsurf": date(2026, 10, 22)},
        vendor_reports_use={"copilot": True},
        monthly_cents={"copilot": Decimal(1900), "cursor": Decimal(4000)},
    )
    assert [(s.email, s.last_use, s.idle_days) for s in found.seats] == [
        ("never@x.io", None, None),
        ("long@x.io", None, None),
    ]
    assert (found.monthly_cents, found.unpriced, found.unknown) == (Decimal(1900), 1, 1)


def test_idle_seats_are_sorted_by_money_then_by_how_long() -> None:
    seats = [
        _seat("cheap-old@x.io", "copilot", vendor=date(2026, 1, 1)),
        _seat("dear-new@x.io", "cursor", history=date(2026, 10, 1)),
        _seat("dear-old@x.io", "cursor", history=date(2026, 6, 1)),
        _seat("dear-never@x.io", "cursor"),
    ]
    found = idle_seats(
        seats,
        today=TODAY,
        days=30,
        history_start={"cursor": date(2026, 1, 1)},
        vendor_reports_use={"copilot": True},
        monthly_cents={"copilot": Decimal(1900), "cursor": Decimal(4000)},
    )
    assert [s.email for s in found.seats] == [
        "dear-never@x.io",
        "dear-old@x.io",
        "dear-new@x.io",
        "cheap-old@x.io",
    ]
    assert found.monthly_cents == Decimal(3 * 4000 + 1900)


@pytest.mark.parametrize("days", [0, 366])
def test_the_window_is_from_1_to_365_days(days: int) -> None:
    with pytest.raises(ValueError, match="1 to 365"):
        idle_seats([], today=TODAY, days=days, history_start={}, vendor_reports_use={}, monthly_cents={})
