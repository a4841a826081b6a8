"""Amounts as people read them, and as they type them.

Money is ``Decimal`` cents of US dollars and credits are ``Decimal`` credits everywhere inside the bot;
this module is where they become text ("$1,234.56", "12,345 credits", "+12.3% (+$45.00)") and where typed
dollars become cents. No floats: a float only enters through ``format_percent``, for ratios that are floats
already, and it goes through ``str`` so its shortest spelling is what is rounded.
"""

from __future__ import annotations

import re
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext

USD_CENTS = "usd_cents"
CREDITS = "credits"
REQUESTS = "requests"  # a count, not money: shown where a vendor keeps its money for the team only
"""The unit strings of ``bot.domain.usage.Unit`` (a ``StrEnum`` member compares equal to them)."""

MINUS = "−"
"""A real minus sign, for changes: easier to tell from a hyphen in a line of figures."""

NO_FIGURE = "—"

_CENT = Decimal("0.01")
_TENTH = Decimal("0.1")
_HUNDRED = Decimal(100)
_PRECISION = 60  # digits: enough for any amount to be rounded without InvalidOperation
_AMOUNT = re.compile(r"\$?([0-9]{1,3}(?:,[0-9]{3}){1,4}|[0-9]{1,15})(?:\.([0-9]{1,2}))?")


def format_usd(cents: Decimal) -> str:
    """Cents as dollars for a reader: ``$1,234.56``; negative as ``-$12.00``; half a cent rounds up."""
    dollars = _round(_finite(cents) / _HUNDRED, _CENT)
    text = f"${abs(dollars):,.2f}"
    return f"-{text}" if dollars < 0 else text


def format_credits(credits: Decimal, unit: str = "credits") -> str:
    """Credits for a reader: ``12,345 credits``, ``12.5 credits``, ``1 credit`` (at most two decimals).

    ``unit`` is the word after the number; ``credits`` becomes ``credit`` for exactly one.
    """
    rounded = _round(_finite(credits), _CENT)
    noun = "credit" if unit == "credits" and abs(rounded) == 1 else unit
    return f"{_plain_number(rounded)} {noun}"


_TOKEN_SCALES = ((10**3, "K"), (10**6, "M"), (10**9, "B"))


def format_tokens(count: int) -> str:
    """A token count for a reader: ``950 tokens``, ``9,500 tokens``, ``12.3K tokens``, ``456M tokens``.

    Counts reach billions, so from 10,000 they are scaled, with one decimal below 100 of the scale
    (halves round up; 999,960 is ``1M``, not ``1,000K``). ``1 token`` for exactly one.
    """
    if abs(count) < 10_000:
        return f"{count:,} token" + ("" if abs(count) == 1 else "s")
    text = ""
    for size, suffix in _TOKEN_SCALES:
        scaled = Decimal(count) / size
        rounded = _round(scaled, _TENTH if abs(scaled) < 100 else Decimal(1))
        text = f"{_plain_number(rounded)}{suffix} tokens"
        if abs(rounded) < 1000:
            break
    return text


def format_amount(amount: Decimal, unit: str) -> str:
    """An amount in its own unit: ``usd_cents`` as dollars, ``credits`` as credits, ``requests`` counted."""
    if unit == USD_CENTS:
        return format_usd(amount)
    if unit == CREDITS:
        return format_credits(amount)
    if unit == REQUESTS:
        return format_credits(amount, REQUESTS)
    raise ValueError(f"unknown unit {unit!r}")


def format_change(current: Decimal, previous: Decimal, unit: str) -> str:
    """How ``current`` compares with ``previous``: ``+12.3% (+$45.00)``, ``−8% (−120 credits)``.

    ``no change`` when the difference rounds to nothing, ``new`` when there was nothing before, ``—`` when
    there is nothing either time. With a negative previous figure (refunds) only the difference is shown:
    a percentage of a negative base means nothing.
    """
    current, previous = _finite(current), _finite(previous)
    if current == 0 and previous == 0:
        return NO_FIGURE
    difference = current - previous
    if _rounds_to_zero(difference, unit):
        return "no change"
    if previous == 0 and current > 0:
        return "new"
    sign = "+" if difference > 0 else MINUS
    amount = f"{sign}{format_amount(abs(difference), unit)}"
    if previous <= 0:
        return amount
    percent = format_percent(abs(difference) / previous * _HUNDRED)
    return f"{sign}{percent} ({amount})"


def format_percent(value: Decimal | float) -> str:
    """A percentage for a reader, given in percent points: ``12.3%``, ``10%`` (one decimal at most).

    A ratio from 0 to 1 (such as rate-limit headroom) is multiplied by 100 by the caller.
    """
    number = _finite(Decimal(str(value)) if isinstance(value, float) else value)
    rounded = _round(number, _TENTH)
    return f"{_plain_number(rounded)}%"


def format_runway(days: Decimal | None) -> str:
    """How long credits last, for a reader: ``~4 days``, ``~1 day``, ``<1 day``, or ``—`` when unknown.

    Whole days are rounded down: a runway is a warning, and "4 days" when 4.9 are left is the safe reading.
    """
    if days is None:
        return NO_FIGURE
    days = _finite(days)
    if days < 1:
        return "<1 day"
    whole = _round(days, Decimal(1), rounding=ROUND_FLOOR)
    return "~1 day" if whole == 1 else f"~{whole:,f} days"


def parse_amount(text: str) -> Decimal:
    """Read an amount as typed: ``5000``, ``5,000``, ``$5,000``, ``5000.50`` (at most two decimals).

    Returns the number as written (dollars stay dollars). Raises ``ValueError`` for anything else,
    including a misplaced thousands separator such as ``5,00``.
    """
    match = _AMOUNT.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not an amount")
    whole, fraction = match.group(1).replace(",", ""), match.group(2)
    return Decimal(whole) if fraction is None else Decimal(f"{whole}.{fraction}")


def _rounds_to_zero(difference: Decimal, unit: str) -> bool:
    # Compare what a reader would see: a hundredth of a cent is "no change".
    step = _CENT * _HUNDRED if unit == USD_CENTS else _CENT
    return _round(abs(difference) / step, Decimal(1)) == 0


def _plain_number(value: Decimal) -> str:
    """Thousands separators, no exponent, no trailing zeros after the point."""
    if value == value.to_integral_value():
        return f"{value:,.0f}"
    with localcontext() as context:
        context.prec = _PRECISION
        return f"{value.normalize():,f}"


def _round(value: Decimal, step: Decimal, *, rounding: str = ROUND_HALF_UP) -> Decimal:
    with localcontext() as context:
        context.prec = _PRECISION
        rounded = value.quantize(step, rounding=rounding)
    return abs(rounded) if rounded == 0 else rounded  # never "-0.00"


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError(f"{value} is not an amount")
    return value
