"""Reading vendor JSON defensively: exact numbers, both spellings, missing zeros, named failures.

Vendors change their payloads over time (see ``shared/reference``). These helpers encode the rules every
parser follows:

- JSON numbers with a fraction are parsed as ``Decimal`` (``2450.125487`` stays exact);
- a number may arrive as a JSON number or as a string (Windsurf sends 64-bit counters as strings);
- a missing or null number is zero (Windsurf and protobuf-JSON omit zero fields);
- anything else unexpected raises :class:`~bot.vendors.errors.SchemaError` naming the field, never
  including the value (a value may be a secret, such as a Windsurf user's API key).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.vendors.errors import SchemaError

__all__ = [
    "EPOCH",
    "ZERO",
    "as_date",
    "as_datetime",
    "as_decimal",
    "as_int",
    "as_list",
    "as_object",
    "as_str",
    "decimal_field",
    "epoch_ms_to_datetime",
    "int_field",
    "loads",
    "optional_bool",
    "optional_decimal",
    "optional_str",
    "schema_context",
]

ZERO = Decimal(0)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def loads(content: str | bytes) -> Any:
    """Parse JSON with every fractional number as an exact ``Decimal``."""
    return json.loads(content, parse_float=Decimal)


def _type_name(value: object) -> str:
    return "nothing (missing or null)" if value is None else type(value).__name__


def as_object(value: object, field: str) -> Mapping[str, Any]:
    """``value`` as a JSON object, else a SchemaError naming ``field``."""
    if not isinstance(value, Mapping):
        raise SchemaError(f"expected an object, got {_type_name(value)}", field=field)
    return value


def as_list(value: object, field: str) -> list[Any]:
    """``value`` as a JSON array, else a SchemaError naming ``field``."""
    if not isinstance(value, list):
        raise SchemaError(f"expected an array, got {_type_name(value)}", field=field)
    return value


def as_decimal(value: object, field: str) -> Decimal:
    """A JSON number or numeric string as a finite ``Decimal``."""
    if isinstance(value, bool):
        raise SchemaError("expected a number, got a boolean", field=field)
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(str(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise SchemaError("expected a numeric string", field=field) from None
    else:
        raise SchemaError(f"expected a number, got {_type_name(value)}", field=field)
    if not result.is_finite():
        raise SchemaError("expected a finite number", field=field)
    return result


def as_int(value: object, field: str) -> int:
    """A JSON integer (or integral numeric string) as ``int``."""
    number = as_decimal(value, field)
    if number != number.to_integral_value():
        raise SchemaError("expected a whole number", field=field)
    return int(number)


def as_str(value: object, field: str) -> str:
    """A JSON string, else a SchemaError naming ``field``."""
    if not isinstance(value, str):
        raise SchemaError(f"expected a string, got {_type_name(value)}", field=field)
    return value


def decimal_field(obj: Mapping[str, Any], key: str, field: str, default: Decimal = ZERO) -> Decimal:
    """``obj[key]`` as a Decimal; missing or null is ``default`` (vendors omit zeros)."""
    value = obj.get(key)
    return default if value is None else as_decimal(value, field)


def optional_decimal(obj: Mapping[str, Any], key: str, field: str) -> Decimal | None:
    """``obj[key]`` as a Decimal, or None when missing or null (where absence means something)."""
    value = obj.get(key)
    return None if value is None else as_decimal(value, field)


def int_field(obj: Mapping[str, Any], key: str, field: str, default: int = 0) -> int:
    """``obj[key]`` as an int; missing or null is ``default``."""
    value = obj.get(key)
    return default if value is None else as_int(value, field)


def optional_str(obj: Mapping[str, Any], key: str, field: str) -> str | None:
    """``obj[key]`` as a string, or None when missing or null."""
    value = obj.get(key)
    return None if value is None else as_str(value, field)


def optional_bool(obj: Mapping[str, Any], key: str, field: str) -> bool | None:
    """``obj[key]`` as a boolean, or None when missing or null."""
    value = obj.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise SchemaError(f"expected a boolean, got {_type_name(value)}", field=field)


def epoch_ms_to_datetime(value: object, field: str) -> datetime:
    """Epoch milliseconds (a number, or a string as Cursor event timestamps are) as aware UTC."""
    millis = as_int(value, field)
    try:
        return EPOCH + timedelta(milliseconds=millis)
    except OverflowError:
        raise SchemaError("epoch milliseconds out of range", field=field) from None


def as_datetime(value: object, field: str) -> datetime:
    """An RFC 3339 / ISO 8601 string (``Z`` or an offset; any fraction) as aware UTC."""
    text = as_str(value, field).strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise SchemaError("expected an RFC 3339 timestamp", field=field) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def optional_moment(obj: Mapping[str, Any], key: str, field: str) -> datetime | None:
    """``obj[key]`` as aware UTC, or None when missing, null or empty (vendors send "" for never)."""
    value = obj.get(key)
    return None if value is None or value == "" else as_datetime(value, field)


def as_date(value: object, field: str) -> date:
    """A ``YYYY-MM-DD`` string, or an RFC 3339 timestamp (its UTC day), as a date."""
    text = as_str(value, field).strip()
    if len(text) == 10:
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise SchemaError("expected a YYYY-MM-DD date", field=field) from None
    return as_datetime(text, field).date()


@contextlib.contextmanager
def schema_context(vendor: str, endpoint: str) -> Iterator[None]:
    """Fill in the vendor and endpoint of a SchemaError raised by a parser inside the block."""
    try:
        yield
    except SchemaError as error:
        if error.vendor and error.endpoint:
            raise
        raise SchemaError(
            error.message,
            field=error.field,
            vendor=error.vendor or vendor,
            endpoint=error.endpoint or endpoint,
            status=error.status,
            code=error.code,
        ) from None
