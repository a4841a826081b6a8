from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.money import (
    MINUS,
    format_amount,
    format_change,
    format_credits,
    format_percent,
    format_runway,
    format_tokens,
    format_usd,
    parse_amount,
)

D = Decimal


@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (D("123456"), "$1,234.56"),
        (D("0"), "$0.00"),
        (D("5"), "$0.05"),
        (D("0.5"), "$0.01"),  # half a cent rounds up
        (D("0.49"), "$0.00"),
        (D("1234.5"), "$12.35"),
        (D("-1200"), "-$12.00"),
        (D("-0.4"), "$0.00"),  # never "-$0.00"
        (D("100000000000"), "$1,000,000,000.00"),
        (D("1E+30"), "$10,000,000,000,000,000,000,000,000,000.00"),
    ],
)
def test_format_usd(cents: Decimal, text: str) -> None:
    assert format_usd(cents) == text


@pytest.mark.parametrize(
    ("credits", "text"),
    [
        (D("12345"), "12,345 credits"),
        (D("12.5"), "12.5 credits"),
        (D("12.50"), "12.5 credits"),
        (D("12.345"), "12.35 credits"),
        (D("1"), "1 credit"),
        (D("0"), "0 credits"),
        (D("1E+3"), "1,000 credits"),
        (D("-20"), "-20 credits"),
    ],
)
def test_format_credits(credits: Decimal, text: str) -> None:
    assert format_credits(credits) == text


def test_format_credits_with_another_unit() -> None:
    assert format_credits(D("1"), unit="units") == "1 units"
    assert format_credits(D("2500"), unit="calls") == "2,500 calls"


def test_format_amount_dispatches_on_the_unit() -> None:
    assert format_amount(D("4500"), "usd_cents") == "$45.00"
    assert format_amount(D("4500"), "credits") == "4,500 credits"
    with pytest.raises(ValueError, match="unknown unit"):
        format_amount(D("1"), "euros")


def test_non_finite_amounts_are_refused() -> None:
    with pytest.raises(ValueError, match="not an amount"):
        format_usd(D("NaN"))
    with pytest.raises(ValueError, match="not an amount"):
        format_credits(D("Infinity"))


@pytest.mark.parametrize(
    ("current", "previous", "unit", "text"),
    [
        (D("11230"), D("10000"), "usd_cents", "+12.3% (+$12.30)"),
        (D("14500"), D("10000"), "usd_cents", "+45% (+$45.00)"),
        (D("9000"), D("10000"), "usd_cents", f"{MINUS}10% ({MINUS}$10.00)"),
        (D("90"), D("100"), "credits", f"{MINUS}10% ({MINUS}10 credits)"),
        (D("100"), D("100"), "credits", "no change"),
        (D("10000.001"), D("10000"), "usd_cents", "no change"),
        (D("5"), D("0"), "credits", "new"),
        (D("0"), D("0"), "usd_cents", "—"),
        (D("0"), D("500"), "usd_cents", f"{MINUS}100% ({MINUS}$5.00)"),
        (D("-500"), D("0"), "usd_cents", f"{MINUS}$5.00"),
        (D("300"), D("-100"), "usd_cents", "+$4.00"),
        (D("30000"), D("100"), "usd_cents", "+29,900% (+$299.00)"),
    ],
)
def test_format_change(current: Decimal, previous: Decimal, unit: str, text: str) -> None:
    assert format_change(current, previous, unit) == text


def test_format_change_uses_a_real_minus_sign() -> None:
    assert format_change(D(1), D(2), "credits").startswith("\u2212")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("12.34"), "12.3%"),
        (D("12.35"), "12.4%"),
        (D("10"), "10%"),
        (D("10.04"), "10%"),
        (0.1 + 0.2, "0.3%"),
        (12.25, "12.3%"),
        (D("12345"), "12,345%"),
        (D("0"), "0%"),
    ],
)
def test_format_percent(value: Decimal | float, text: str) -> None:
    assert format_percent(value) == text


def test_format_percent_refuses_nan() -> None:
    with pytest.raises(ValueError, match="not an amount"):
        format_percent(float("nan"))


@pytest.mark.parametrize(
    ("days", "text"),
    [
        (D("4.9"), "~4 days"),
        (D("4"), "~4 days"),
        (D("1.5"), "~1 day"),
        (D("0.99"), "<1 day"),
        (D("0"), "<1 day"),
        (D("1234.5"), "~1,234 days"),
        (None, "—"),
    ],
)
def test_format_runway(days: Decimal | None, text: str) -> None:
    assert format_runway(days) == text


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("5000", D("5000")),
        ("5,000", D("5000")),
        ("$5,000", D("5000")),
        ("5000.50", D("5000.50")),
        ("5000.5", D("5000.5")),
        ("$1,234,567.89", D("1234567.89")),
        ("0", D("0")),
    ],
)
def test_parse_amount(text: str, amount: Decimal) -> None:
    assert parse_amount(text) == amount


@pytest.mark.parametrize("text", ["5,00", "50,0000", "5000.555", "$", "5k", "-5", ".5", "5.", "", "١٢"])
def test_parse_amount_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="not an amount"):
        parse_amount(text)


@settings(max_examples=200)
@given(cents=st.decimals(min_value=-(10**12), max_value=10**12, places=4))
def test_format_usd_round_trips_to_the_nearest_cent(cents: Decimal) -> None:
    text = format_usd(cents)
    negative = text.startswith("-")
    dollars = parse_amount(text.removeprefix("-"))
    shown = -dollars if negative else dollars
    assert abs(shown * 100 - cents) <= D("0.5")


@settings(max_examples=200)
@given(
    current=st.decimals(min_value=0, max_value=10**9, places=2),
    previous=st.decimals(min_value=0, max_value=10**9, places=2),
)
def test_format_change_sign_follows_the_difference(current: Decimal, previous: Decimal) -> None:
    text = format_change(current, previous, "credits")
    if current > previous and previous > 0:
        assert text.startswith("+")
    elif current < previous:
        assert text.startswith(MINUS)
    elif current == previous:
        assert text in {"no change", "—"}


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "0 tokens"),
        (1, "1 token"),
        (9_999, "9,999 tokens"),
        (10_000, "10K tokens"),
        (12_345, "12.3K tokens"),
        (99_950, "100K tokens"),
        (123_456, "123K tokens"),
        (999_500, "1M tokens"),  # never "1,000K"
        (45_650_000, "45.7M tokens"),
        (1_234_000_000, "1.2B tokens"),
        (12_345_678_901_234, "12,346B tokens"),
    ],
)
def test_format_tokens(count: int, text: str) -> None:
    assert format_tokens(count) == text
