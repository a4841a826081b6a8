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
    ],
)
def test_neutralise_prefixes_formula_starts_only(text: str, shown: str) -> None:
    assert neutralise(text) == shown


def test_a_row_quotes_text_and_leaves_our_numbers_bare() -> None:
    line = csv_row(("-x@acme.test", Decimal("-12.50"), Decimal("100"), None, 'say "hi"'))
    assert line == '"\'-x@acme.test",-12.5,100,,"say ""hi"""\n'
    (parsed,) = csv.reader(io.StringIO(line, newline=""))
    assert parsed == ["'-x@acme.test", "-12.5", "100", "", 'say "hi"']
