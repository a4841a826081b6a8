"""Spikes in the digest, on a real store holding a history with a known answer (Copilot dollars per day)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.usage import Granularity, SpendRow, Unit, Vendor
from bot.messages.blocks import readable_texts
from bot.services.digest import DigestOptions
from bot.store.sync import SyncRecords
from tests.services.conftest import TEAM

DAY = date(2026, 11, 19)  # the day the digest of Nov 20 reports
FIRST = DAY - timedelta(days=28)


def _row(email: str, day: date, dollars: str) -> SpendRow:
    return SpendRow(
        vendor=Vendor.COPILOT,
        bucket_start=datetime(day.year, day.month, day.day, tzinfo=UTC),
        granularity=Granularity.DAY,
        user_email=email,
        model="gpt-5",
        amount=Decimal(dollars) * 100,
        unit=Unit.USD_CENTS,
    )


def _history() -> list[SpendRow]:
    rows = []
    for back in range(1, 29):
        day = DAY - timedelta(days=back)
        rows.append(_row("alice@x.io", day, "10" if back % 2 else "14"))  # median 12, MAD 2
        rows.append(_row("dave@x.io", day, "500" if back == 10 else "30"))  # one old outlier
        rows.append(_row("erin@x.io", day, "40"))
    rows += [
        _row("alice@x.io", DAY, "50"),  # over 3 × (12 + 1.4826 × 2) = $44.90: a spike
        _row("bob@x.io", DAY, "25"),  # nothing before: over the $20 minimum, a spike
        _row("carol@x.io", DAY, "15"),  # nothing before, but under the minimum
        _row("dave@x.io", DAY, "95"),  # over 3 × $30; a mean ($46.79) would have hidden it
        _row("erin@x.io", DAY, "100"),  # 2.5 × $40: not a spike
    ]
    return rows


async def test_the_digest_lists_the_days_far_above_each_persons_usual(
    make_services: Callable[..., Any],
) -> None:
    async with make_services(copilot_token="ghp_test", copilot_org="acme") as services:
        (connection,) = await services.connections.for_team(TEAM)
        assert connection.id is not None
        await SyncRecords(services.db).replace_days(connection.id, FIRST, DAY, _history())
        for options in (DigestOptions(tz=ZoneInfo("UTC")), DigestOptions(tz=ZoneInfo("UTC"), no_names=True)):
            built = await services.digests.build(TEAM, DAY + timedelta(days=1), options, with_chart=False)
            (spikes,) = [text for text in readable_texts(built.message.blocks) if text.startswith("*Spikes*")]
            # Nov 19 $285 on Nov 18 $80 (5 people on 3): computed here from the rows above.
            (why,) = [text for text in readable_texts(built.message.blocks) if text.startswith("*Why ")]
            assert why == "*Why +$205.00:* +$53.33 more people · +$151.67 more spend per person.", why
            if options.no_names:
                assert spikes.endswith("3 people spent far above their usual.") and "@" not in spikes
                continue
            assert spikes.splitlines()[1:] == [
                "dave@x.io — *$95.00* on Copilot (3.2× their usual $30.00)",
                "alice@x.io — *$50.00* on Copilot (3.3× their usual $14.97)",
                "bob@x.io — *$25.00* on Copilot (their usual $0.00)",
            ]
