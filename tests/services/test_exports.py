"""The export's CSV cells: text neutralised against CSV injection (OWASP), numbers left as numbers."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from bot.services.exports import csv_row, neutralise


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
