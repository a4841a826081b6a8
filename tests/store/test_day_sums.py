"""The per-day sums a whole-day sync writes, before any SQL: the three tables must agree with each other."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from bot.domain.usage import Granularity, SpendRow, Unit, Vendor
from bot.store.usage import day_sums


def _row(
    day: int, user: str | None, model: str | None, amount: str, requests: int = 0, tokens: int = 0
) -> SpendRow:
    return SpendRow(
        vendor=Vendor.WINDSURF,
        bucket_start=datetime(2026, 11, day, tzinfo=UTC),
        granularity=Granularity.DAY,
        user_email=user,
        model=model,
        amount=Decimal(amount),
        unit=Unit.CREDITS,
        requests=Decimal(requests),
        tokens=tokens,
    )


def test_rows_of_one_key_add_up_and_each_table_sums_the_finer_one() -> None:
    rows = [
        _row(1, "a@x.io", "m1", "1.25", 2, 100),
        _row(1, "a@x.io", "m1", "0.75", 1, 20),
        _row(1, "a@x.io", "m2", "3"),
        _row(1, None, "m2", "4", 5, 3),
        _row(2, "b@x.io", None, "0.5"),
    ]
    totals, by_user, by_model = day_sums(rows)
    assert totals == {
        (date(2026, 11, 1), "a@x.io", "m1"): [Decimal("2.00"), Decimal(3), 120],
        (date(2026, 11, 1), "a@x.io", "m2"): [Decimal(3), Decimal(0), 0],
        (date(2026, 11, 1), "", "m2"): [Decimal(4), Decimal(5), 3],
        (date(2026, 11, 2), "b@x.io", ""): [Decimal("0.5"), Decimal(0), 0],
    }
    assert by_user == {
        (date(2026, 11, 1), "a@x.io"): [Decimal("5.00"), Decimal(3), 120],
        (date(2026, 11, 1), ""): [Decimal(4), Decimal(5), 3],
        (date(2026, 11, 2), "b@x.io"): [Decimal("0.5"), Decimal(0), 0],
    }
    assert by_model == {
        (date(2026, 11, 1), "m1"): [Decimal("2.00"), Decimal(3), 120],
        (date(2026, 11, 1), "m2"): [Decimal(7), Decimal(5), 3],
        (date(2026, 11, 2), ""): [Decimal("0.5"), Decimal(0), 0],
    }
    assert (
        sum(a for a, _, _ in by_user.values()) == sum(a for a, _, _ in by_model.values()) == Decimal("9.50")
    )
    assert sum(t for _, _, t in by_user.values()) == sum(t for _, _, t in by_model.values()) == 123


def test_no_rows_make_empty_tables() -> None:
    assert day_sums([]) == ({}, {}, {})
