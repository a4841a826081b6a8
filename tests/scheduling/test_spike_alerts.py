"""``subscribe spike``: once a person and day, resolved when the day is over, across a restart.

The history is written to a real store (Copilot dollars per UTC day); the alerts go through the real
ledger to the fake Slack, the clock moved by hand.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bot.domain.commands import SubscribeSpike
from bot.domain.usage import Granularity, SpendRow, Unit, Vendor
from bot.services.clock import ManualClock
from bot.simulators.rest import RestSimulator
from bot.simulators.slack import FakeSlack
from bot.store.sync import SyncRecords
from tests.scheduling.conftest import ADMIN, START, TEAM, Rig, build_services, make_settings

TODAY = START.date()  # Nov 20, 08:00 UTC


def _row(email: str, day: date, dollars: int) -> SpendRow:
    return SpendRow(
        vendor=Vendor.COPILOT,
        bucket_start=datetime(day.year, day.month, day.day, tzinfo=UTC),
        granularity=Granularity.DAY,
        user_email=email,
        model="gpt-5",
        amount=Decimal(dollars * 100),
        unit=Unit.USD_CENTS,
    )


@pytest.fixture
async def copilot_rig(
    tmp_path: Path, fake_slack: FakeSlack, rest_sim: tuple[RestSimulator, str]
) -> AsyncIterator[Rig]:
    sim, url = rest_sim
    clock = ManualClock(START)
    fake_slack.set_clock(lambda: clock().timestamp())
    settings = make_settings(
        tmp_path, fake_slack, url, sim.api_key, copilot_token="ghp_x", copilot_org="acme"
    )
    services = build_services(settings, clock)
    await services.start(identify_workspace=False)
    await services.use_env_team(TEAM)
    fake_slack.add_channel("C1")
    rig = Rig(fake_slack, sim, clock, settings, services)
    try:
        yield rig
    finally:
        await rig.services.close()


async def _history(rig: Rig, rows: list[SpendRow], first: date, last: date) -> None:
    copilot = await rig.services.connections.get(TEAM, "copilot")
    assert copilot is not None and copilot.id is not None
    await SyncRecords(rig.services.db).replace_days(copilot.id, first, last, rows)


async def test_a_spike_fires_once_a_day_and_resolves_when_the_day_is_over(copilot_rig: Rig) -> None:
    rig = copilot_rig
    baseline = [
        _row(email, TODAY - timedelta(days=back), 30)
        for back in range(1, 29)
        for email in ("a@x.io", "b@x.io")
    ]
    await _history(
        rig,
        [*baseline, _row("a@x.io", TODAY, 80), _row("b@x.io", TODAY, 95)],
        TODAY - timedelta(days=28),
        TODAY,
    )
    subscription = await rig.services.subscriptions.subscribe(
        TEAM, "C1", ADMIN, SubscribeSpike(factor=Decimal(3))
    )
    assert subscription.params == {"factor": "3", "minimum_cents": "2000"}

    await rig.services.alerts.check_team(TEAM)
    (alert,) = rig.top_level("C1")  # b spent $95 against a usual of $30; a's $80 is under 3 x $30
    assert "b@x.io spent far above their usual on Copilot" in str(alert.blocks)
    assert "*$95.00* on Copilot (3.2× their usual $30.00)" in str(alert.blocks)

    rig.clock.advance(timedelta(hours=3))
    await rig.restart()
    await _history(
        rig,
        [*baseline, _row("a@x.io", TODAY, 95), _row("b@x.io", TODAY, 120)],
        TODAY - timedelta(days=28),
        TODAY,
    )
    await rig.services.alerts.check_team(TEAM)
    messages = rig.top_level("C1")
    assert len(messages) == 2  # a crossed later the same day: one alert; b's is not posted again
    assert "a@x.io spent far above their usual" in str(messages[1].blocks)
    await rig.services.alerts.check_team(TEAM)
    assert len(rig.top_level("C1")) == 2

    rig.clock.set(datetime(2026, 11, 21, 6, 0, tzinfo=UTC))  # the next UTC day, quiet so far
    await rig.services.alerts.check_team(TEAM)
    assert len(rig.top_level("C1")) == 2
    assert sorted(reply.text for reply in rig.replies("C1")) == [
        "Resolved: a@x.io spent far above their usual on Copilot",
        "Resolved: b@x.io spent far above their usual on Copilot",
    ]
    assert all(message.edits == 1 for message in rig.top_level("C1"))
    deliveries = await rig.services.ledger.recent(TEAM, limit=50)
    assert sorted(row.state for row in deliveries) == ["sent"] * 4
    assert len({row.idempotency_key for row in deliveries}) == 4
