"""``backtest spike|budget|credit-low``: the stored history replayed through each rule, with known answers
worked out by hand in the comments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bot.domain.usage import Granularity, SpendRow, Unit, Vendor
from bot.store.models import CreditSnapshot, TrackedFigureRow
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


def _copilot_days(world: World, start: date, dollars: Callable[[date], int]) -> None:
    """Replace the Copilot connection's days ``start..LAST`` with one person's spend of ``dollars(day)``."""
    services = world.bot.services
    assert services is not None
    days = [start + timedelta(days=n) for n in range((LAST - start).days + 1)]
    rows = [_row(day, dollars(day)) for day in days]

    async def write() -> None:
        copilot = await services.connections.get("T0001", "copilot")
        assert copilot is not None and copilot.id is not None
        await SyncRecords(services.db).replace_days(copilot.id, start, LAST, rows)

    world.bot.call(write())


def test_backtest_spike_shows_when_it_would_have_fired_and_how_many_posts(synced: World) -> None:
    start = FIRST - timedelta(days=28)
    _copilot_days(synced, start, lambda day: {**SPIKES, **NEAR}.get(day, 30))
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
    wrong = text_of(synced.ask("backtest rate-limit"))
    assert "`backtest` replays the rule of a subscription (`rate-limit`)" in wrong, wrong
    assert "Usage: `/spend backtest" in wrong


def _cells(answer: dict[str, Any]) -> list[list[str]]:
    (table,) = [block for block in answer["blocks"] if block["type"] == "table"]
    return [[cell["text"] for cell in row] for row in table["rows"]]


def test_backtest_budget_fires_each_level_once_a_cycle_and_reminds_daily(synced: World) -> None:
    """$30 a day on Copilot (calendar-month cycles) against a $600 budget, replayed over Oct 21 to Nov 19:

    - Oct 21 already holds $630 (21 days): 50%, 80% and 100% all fire that day, and each reminds once a day
      (SPENDBOT_REMIND_HOURS=24) for Oct 22 to 31 (10 reminders), then its cycle ends unresolved;
    - November: the forecast ($30 x 30 = $900 > $600) fires Nov 1 and reminds Nov 2 to 19 (18); 50% ($300)
      fires Nov 10 and reminds Nov 11 to 19 (9); 80% ($480) fires Nov 16 and reminds Nov 17 to 19 (3);
      100% ($600, Nov 20) is not reached. In all 6 alerts, 30 + 30 reminders, no resolution: 66 posts.
    """
    _copilot_days(synced, date(2026, 9, 21), lambda day: 30)
    answer = synced.ask("backtest budget $600 copilot 30d")
    text = text_of(answer)
    assert "Backtest · budget $600.00 (copilot) · last 30 days" in text, text
    assert (
        "It would have posted *66* times: 6 alerts, 60 reminders (one every day while an alert holds) and "
        "0 resolutions." in text
    ), text
    assert _cells(answer) == [
        ["Alert", "Fired (UTC day)", "Reminders", "Resolved"],
        ["50% reached", "Oct 21, 2026", "10", "no (its cycle ended)"],
        ["80% reached", "Oct 21, 2026", "10", "no (its cycle ended)"],
        ["100% reached", "Oct 21, 2026", "10", "no (its cycle ended)"],
        ["forecast to be exceeded", "Nov 1, 2026", "18", "still firing"],
        ["50% reached", "Nov 10, 2026", "9", "still firing"],
        ["80% reached", "Nov 16, 2026", "3", "still firing"],
    ]
    assert "Replayed on the stored history of Copilot, UTC days Oct 21, 2026 to Nov 19, 2026" in text
    # The same spend against $2,000 never reaches 50% ($900 a month at most) but is forecast nowhere over.
    assert "It would have posted nothing" in text_of(synced.ask("backtest budget $2000 copilot 30d"))
    refused = text_of(synced.ask("backtest budget 5000 rest"))
    assert "has no budget" in refused, refused


def test_backtest_credit_low_replays_each_days_newest_snapshot(synced: World) -> None:
    """A 10,000-credit Windsurf pool whose newest snapshot of each day says (percent left):
    50 (Oct 21 to 31), 30 (Nov 1 to 5), 19 (Nov 6), 21 (Nov 7), 25 (Nov 8 to 11), none on Nov 12,
    25 (Nov 13, 14), 15 (Nov 15 to 19). Against `below 20%` (resolving above 22%): fired Nov 6, reminded
    Nov 7 (21% still holds), resolved Nov 8; fired again Nov 15 and reminded Nov 16 to 19 (4), still
    firing. Earlier snapshots of a day are ignored.

    The REST tracked figure reads 1,000 each evening until Nov 9, then 150 on Nov 10 (15% of November's
    peak), 210 on Nov 11 (21%: still low) and 900 from Nov 12: fired Nov 10, reminded Nov 11, resolved
    Nov 12. A morning reading of 50 each day is not the day's figure (the newest is).
    3 alerts, 6 reminders, 2 resolutions: 11 posts."""
    services = synced.bot.services
    assert services is not None
    left = {date(2026, 10, 21) + timedelta(days=n): 50 for n in range(11)}
    left |= {date(2026, 11, d): 30 for d in range(1, 6)}
    left |= {date(2026, 11, 6): 19, date(2026, 11, 7): 21}
    left |= {date(2026, 11, d): 25 for d in (8, 9, 10, 11, 13, 14)}
    left |= {date(2026, 11, d): 15 for d in range(15, 20)}

    def snapshot(connection_id: int, day: date, percent: int, hour: int) -> CreditSnapshot:
        month_start = day.replace(day=1)
        return CreditSnapshot(
            connection_id=connection_id,
            observed_at=datetime(day.year, day.month, day.day, hour, tzinfo=UTC),
            cycle_start=datetime(month_start.year, month_start.month, 1, tzinfo=UTC),
            cycle_end=datetime(2026, month_start.month + 1, 1, tzinfo=UTC),
            unit="credits",
            size=Decimal(10000),
            used=Decimal(10000 - percent * 100),
            remaining=Decimal(percent * 100),
            pools=[],
        )

    every_day = [date(2026, 10, 21) + timedelta(days=n) for n in range(30)]
    tracked = {day: 1000 for day in every_day if day < date(2026, 11, 10)}
    tracked |= {date(2026, 11, 10): 150, date(2026, 11, 11): 210}
    tracked |= {day: 900 for day in every_day if day > date(2026, 11, 11)}

    async def write() -> None:
        windsurf = await services.connections.get("T0001", "windsurf")
        rest = await services.connections.get("T0001", "rest")
        assert windsurf is not None and windsurf.id is not None and rest is not None and rest.id is not None
        async with services.db.write() as session:
            for day, percent in left.items():
                session.add(snapshot(windsurf.id, day, 5, hour=3))  # earlier that day: not the day's figure
                session.add(snapshot(windsurf.id, day, percent, hour=18))
            for day, value in tracked.items():
                for hour, figure in ((6, 50), (20, value)):
                    moment = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
                    session.add(
                        TrackedFigureRow(connection_id=rest.id, observed_at=moment, value=Decimal(figure))
                    )

    synced.bot.call(write())
    answer = synced.ask("backtest credit-low below 20% 30d")
    text = text_of(answer)
    assert "Backtest · credit-low below 20% · last 30 days" in text, text
    assert (
        "It would have posted *11* times: 3 alerts, 6 reminders (one every day while an alert holds) and "
        "2 resolutions." in text
    ), text
    assert _cells(answer) == [
        ["Alert", "Fired (UTC day)", "Reminders", "Resolved"],
        ["Windsurf: credits running low", "Nov 6, 2026", "1", "Nov 8, 2026"],
        ["REST: tracked figure low", "Nov 10, 2026", "1", "Nov 12, 2026"],
        ["Windsurf: credits running low", "Nov 15, 2026", "4", "still firing"],
    ]
    assert "Replayed on the stored history of REST, Windsurf" in text
    assert "Cursor left out: people's spend limits are kept as they stand now, not day by day." in text, text
    # The default rule watches no tracked figure: REST is left out, and says how to watch it.
    default = text_of(synced.ask("backtest credit-low 30d"))
    assert "REST left out: the default rule does not watch a tracked figure (give `below N%`" in default
    assert "left out: no credit balance stored in those days." in text
