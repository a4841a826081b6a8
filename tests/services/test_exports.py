"""The export's CSV cells: text neutralised against CSV injection (OWASP), numbers left as numbers."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.domain.periods import Period, PeriodKind
from bot.services.exports import HEADER, csv_row, export_cells, neutralise, rollup_days
from bot.store.models import Connection, UsageDay


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("=1+1@acme.test", "'=1+1@acme.test"),
        ('=HYPERLINK("http://evil.test","x")', '\'=HYPERLINK("http://evil.test","x")'),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\ry", "'\ry"),
        ("ana@example.com", "ana@example.com"),
        ("a=b", "a=b"),
        ("", ""),
        # What spreadsheets still read as a formula: after leading blanks or a line break (LibreOffice
        # and Sheets trim them on import), and the full-width signs Excel takes for = + - @.
        (" =1+1", "' =1+1"),
        ("\n=cmd|' /C calc'!A0", "'\n=cmd|' /C calc'!A0"),
        ("\u3000+1", "'\u3000+1"),
        ("\uff1dHYPERLINK(1)", "'\uff1dHYPERLINK(1)"),
        ("\uff0b1", "'\uff0b1"),
        ("\uff0d1", "'\uff0d1"),
        ("\uff20SUM(A1)", "'\uff20SUM(A1)"),
        ("cmd|' /C calc'!A0", "cmd|' /C calc'!A0"),  # DDE needs a formula start to run
        (" ana", " ana"),
    ],
)
def test_neutralise_prefixes_formula_starts_only(text: str, shown: str) -> None:
    assert neutralise(text) == shown


def test_a_row_quotes_text_and_leaves_our_numbers_bare() -> None:
    line = csv_row(("-x@acme.test", Decimal("-12.50"), Decimal("100"), None, 'say "hi"'))
    assert line == '"\'-x@acme.test",-12.5,100,,"say ""hi"""\n'
    (parsed,) = csv.reader(io.StringIO(line, newline=""))
    assert parsed == ["'-x@acme.test", "-12.5", "100", "", 'say "hi"']


# Nov 16-22 in Los Angeles: from 08:00 UTC on the 16th to 08:00 UTC on the 23rd.
WEEK = Period(
    start=datetime(2026, 11, 16, 8, tzinfo=UTC),
    end=datetime(2026, 11, 23, 8, tzinfo=UTC),
    first_day=date(2026, 11, 16),
    last_day=date(2026, 11, 22),
    tz=ZoneInfo("America/Los_Angeles"),
    kind=PeriodKind.DAYS,
    label="last 7 days (Nov 16–22)",
)


def test_an_export_reads_the_utc_days_its_bounds_fall_on() -> None:
    assert rollup_days(WEEK, utc_days=False) == (date(2026, 11, 16), date(2026, 11, 23))


def test_an_export_of_a_vendor_counting_utc_days_reads_the_days_named() -> None:
    assert rollup_days(WEEK, utc_days=True) == (date(2026, 11, 16), date(2026, 11, 22))


def test_an_export_ending_at_midnight_utc_leaves_the_next_day_out() -> None:
    period = Period(
        start=datetime(2026, 11, 1, tzinfo=UTC),
        end=datetime(2026, 11, 3, tzinfo=UTC),
        first_day=date(2026, 11, 1),
        last_day=date(2026, 11, 2),
        tz=ZoneInfo("UTC"),
        kind=PeriodKind.RANGE,
        label="Nov 1–2",
    )
    assert rollup_days(period, utc_days=False) == (date(2026, 11, 1), date(2026, 11, 2))


def _connection(vendor: str) -> Connection:
    return Connection(team_id="T0001", name="main", vendor=vendor, base_url="https://x.test", origin="env")


def test_cents_are_exported_in_dollars_with_a_dollar_column() -> None:
    row = UsageDay(
        connection_id=1,
        day=date(2026, 11, 16),
        user_email="ana@example.com",
        model="gpt-5",
        amount=Decimal("1234.5"),
        requests=Decimal(7),
    )
    cells = export_cells(row, _connection("cursor"), "usd_cents", Decimal("1234.5"))
    assert len(cells) == len(HEADER)
    assert cells == (
        "2026-11-16",
        "main",
        "cursor",
        "ana@example.com",
        "gpt-5",
        Decimal("12.345"),
        "USD",
        Decimal("12.345000"),
        Decimal(7),
        Decimal(0),
    )


def test_credits_without_a_dollar_value_leave_that_cell_empty() -> None:
    row = UsageDay(connection_id=1, day=date(2026, 11, 16), amount=Decimal("2.5"))
    cells = export_cells(row, _connection("windsurf"), "credits", None)
    assert cells[5:8] == (Decimal("2.5"), "credits", None)
