"""``backtest spike``: the stored history replayed through the spike rule, with a known answer."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from bot.domain.usage import Granularity, SpendRow, Unit, Vendor
from bot.store.sync import SyncRecords
from tests.commands.conftest import MEMBER, World, text_of

pytestmark = pytest.mark.parametrize("copilot_declared", [True])
LAST = date(2026, 11, 19)  # the last complete UTC day at the world's NOW (Nov 20)
FIRST = LAST - timedelta(days=29)
SPIKES = {date(2026, 11, 1): 100, date(2026, 11, 10): 95}  # 3 × $30 is $90
NEAR = {date(2026, 11, 12): 85}


def _row(day: date, dollars: int) -> SpendRow:
    return SpendRow(
        vendor=Vendor.COPILOT,
        bucket_start=datetime(day.year, day.month, day.day, tzinfo=UTC),
        granularity=Granularity.DAY,
        user_email="spiky@x.io",
        model="gpt-5",
        amount=Decimal(dollars * 100),
        unit=Unit.USD_CENTS,
    )


def test_backtest_spike_shows_when_it_would_have_fired_and_how_many_posts(synced: World) -> None:
    services = synced.bot.services
    assert services is not None
    start = FIRST - timedelta(days=28)
    rows = [
        _row(start + timedelta(days=n), {**SPIKES, **NEAR}.get(start + timedelta(days=n), 30))
        for n in range(58)
    ]

    async def write() -> None:
        copilot = await services.connections.get("T0001", "copilot")
        assert copilot is not None and copilot.id is not None
        await SyncRecords(services.db).replace_days(copilot.id, start, LAST, rows)

    synced.bot.call(write())
    answer = synced.ask("backtest spike x3 min $50 30d")
    text = text_of(answer)
    assert "Backtest · spike x3 min $50.00 · last 30 days" in text, text
    # Two spike days (Nov 1 and 10; Nov 12's $85 is under $90), each posted and resolved the next day.
    assert (
        "It would have posted *4* times: 2 alerts about 1 person on 2 of 30 days, and 2 resolutions" in text
    )
    (table,) = [block for block in answer["blocks"] if block["type"] == "table"]
    cells = [[cell["text"] for cell in row] for row in table["rows"]]
    assert cells == [
        ["UTC day", "Person", "Tool", "Spent", "Usual"],
        ["Nov 1, 2026", "spiky@x.io", "Copilot", "$100.00", "$30.00"],
        ["Nov 10, 2026", "spiky@x.io", "Copilot", "$95.00", "$30.00"],
    ]
    quiet = text_of(synced.ask("backtest spike x4 min $50 30d"))
    assert "It would have posted nothing" in quiet, quiet
    assert "admins" in text_of(synced.ask("backtest spike", user=MEMBER))
    wrong = text_of(synced.ask("backtest budget 5000 cursor"))
    assert "`backtest` replays a spike rule so far (`budget`)" in wrong and "Usage: `/spend backtest" in wrong
