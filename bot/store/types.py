"""Column types that keep our invariants in the database: UTC-aware times and exact decimal amounts.

SQLite keeps no time zone and no exact decimals, so both are encoded here once and every backend
returns the same Python values.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

AMOUNT_SCALE = 6
_FACTOR = Decimal(10) ** AMOUNT_SCALE


def date_value(value: Any) -> Any:
    """A date column's value as read outside the ORM (aggregates, raw column selects): SQLite hands
    back ISO text, PostgreSQL a date; None (an empty aggregate) stays None."""
    return date.fromisoformat(value) if isinstance(value, str) else value


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (naive values are refused: they hide bugs)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Amount(TypeDecorator[Decimal]):
    """A Decimal stored as a scaled 64-bit integer (6 decimal places), so sums in SQL stay exact.

    Cursor reports cents with six decimals; Windsurf credits have two. 2^63 micro-units still hold
    more than nine trillion cents.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return int((Decimal(value) * _FACTOR).to_integral_value(ROUND_HALF_EVEN))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        # Division (not scaleb) gives the tidy exponent: 1500000 -> Decimal("1.5"), 10**8 -> Decimal("100").
        return Decimal(int(value)) / _FACTOR

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal
