"""One vendor's fault never holds back another's alert: each connection's live figures are fetched on
their own, within a deadline, and each connection's alerts are posted as soon as its figures are in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select

from bot.domain.commands import SubscribeCreditLow
from bot.services.clock import ManualClock
from bot.services.container import Services
from bot.services.publisher import LIVE_DEADLINE_SHARE
from bot.services.sync import SyncReport
from bot.simulators.rest import RestSimulator
from bot.simulators.serving import served
from bot.simulators.slack import FakeSlack
from bot.simulators.windsurf import WindsurfSimulator
from bot.store.models import Connection, SyncState
from bot.vendors import DeadlineExceeded, LimiterRegistry, RateLimited
from tests.scheduling.conftest import ADMIN, START, TEAM, make_settings

CHECK_INTERVAL = 10  # the smallest the setting allows
DEADLINE = f"{CHECK_INTERVAL * LIVE_DEADLINE_SHARE:g} s"  # what a check waits for one live fetch
FAST = 600.0  # a vendor minute lasts a tenth of a second
STUCK_FOR = 8.0  # wall seconds a hanging REST takes to answer: beyond both looks of a check (3.5 s each)
SLOW_ANSWER = 8.0  # wall seconds of one slow answer: far beyond a healthy sync of the simulators


@asynccontextmanager
async def _two_vendors(
    tmp_path: Path, fake: FakeSlack, windsurf: WindsurfSimulator, rest: RestSimulator, time_scale: float
) -> AsyncIterator[Services]:
    """Services with a Windsurf and a REST connection declared in the environment, on those simulators."""
    with served(windsurf.app) as windsurf_server, served(rest.app) as rest_server:
        settings = make_settings(
            tmp_path,
            fake,
            rest_server.url + "/v1",
            rest.api_key,
            windsurf_service_key=windsurf.service_key,
            windsurf_api_url=windsurf_server.url + "/api/v1",
            check_interval=CHECK_INTERVAL,
        )
        services = Services.create(
            settings, clock=ManualClock(START), limiters=LimiterRegistry(time_scale=time_scale)
        )
        await services.start(identify_workspace=False)
        await services.use_env_team(TEAM)
        try:
            yield services
        finally:
            await services.close()


def _dry_windsurf() -> WindsurfSimulator:
    """A team whose prompt credits ran out this cycle, with no add-on credits."""
    return WindsurfSimulator(
        team_size=4, days=20, seed=7, now=START, time_scale=FAST, prompt_credits_per_seat=5, add_on_credits=0
    )


@pytest.mark.parametrize("fault", ["hang", "429-without-retry-after"])
async def test_windsurf_running_dry_is_posted_while_rest_is_stuck(
    tmp_path: Path, fake_slack: FakeSlack, fault: str
) -> None:
    rest = RestSimulator(plan="pro", now=START, time_scale=FAST)
    rest.set_credits(Decimal(1000))
    fake_slack.add_channel("C1")
    # With 429s and no Retry-After the vendor's window holds the key: a real minute here.
    time_scale = 1.0 if fault.startswith("429") else FAST
    async with _two_vendors(tmp_path, fake_slack, _dry_windsurf(), rest, time_scale) as services:
        await services.subscriptions.subscribe(
            TEAM, "C1", ADMIN, SubscribeCreditLow(below_percent=Decimal(20))
        )
        if fault == "hang":
            rest.faults.slow(STUCK_FOR, times=None)
        else:
            rest.faults.fail(429, times=None)  # the simulators' error body, without Retry-After
        in_slack_when_rest_ended: list[list[str]] = []

        def on_sync(connection: Connection, _report: SyncReport) -> None:
            if connection.name == "rest":
                in_slack_when_rest_ended.append([m.text for m in fake_slack.channel_messages("C1")])

        services.sync.add_listener(on_sync)

        await services.publisher.check_alerts()  # one check pass

        alert = next(m for m in fake_slack.channel_messages("C1") if "Windsurf" in m.text)
        assert "Windsurf: credits running low" in alert.text
        if fault == "hang":
            # Posted within the pass, before REST's fetch had ended (it ended at its deadline), and
            # before its second look after a pause (which ended the same way).
            assert in_slack_when_rest_ended == [[alert.text], [alert.text]]
            kind, why = DeadlineExceeded.kind, f"did not finish within {DEADLINE}"
        else:
            # A throttled key fails at once, without waiting out the vendor's window on every call.
            assert len(in_slack_when_rest_ended) == 2
            kind, why = RateLimited.kind, "the vendor's rate limit holds our calls back"
        rest_row = await services.connections.get(TEAM, "rest")
        assert rest_row is not None and rest_row.id is not None
        assert rest_row.status == "failing"
        assert why in (rest_row.status_detail or "")
        async with services.db.session() as session:
            states = (
                await session.exec(select(SyncState).where(SyncState.connection_id == rest_row.id))
            ).all()
        # The tracked figure was not tried: what stopped the probe stops any call to that vendor.
        assert {state.dataset for state in states} == {"probe"}
        assert all((state.last_error or "").startswith(kind) for state in states)
        # What `/spend status` shows for it: why its figures are old, in words.
        status = await services.status_answers.status(TEAM, ADMIN, refresh=False)
        (card,) = [card for card in status.cards if card.connection == "rest"]
        assert card.status == "failing"
        assert any(error.startswith(f"probe: {kind}: ") and why in error for error in card.errors)


async def test_a_slow_vendor_holds_back_no_other_connections_sync(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    windsurf = _dry_windsurf()
    rest = RestSimulator(plan="pro", now=START, time_scale=FAST)
    async with _two_vendors(tmp_path, fake_slack, windsurf, rest, FAST) as services:
        windsurf.faults.slow(SLOW_ANSWER, times=1)  # Windsurf's first answer is slow
        finished: list[str] = []
        services.sync.add_listener(lambda connection, _report: finished.append(connection.name))

        assert await services.publisher.run_syncs() == 2

        # Windsurf is synced first (it was declared first), yet REST did not wait for it.
        assert finished == ["rest", "windsurf"]


async def test_alerts_of_healthy_connections_due_together_share_one_message(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    """Fetching each connection on its own must not split what is due together into several posts."""
    rest = RestSimulator(plan="pro", now=START, time_scale=FAST)
    rest.set_credits(Decimal(100))
    fake_slack.add_channel("C1")
    async with _two_vendors(tmp_path, fake_slack, _dry_windsurf(), rest, FAST) as services:
        await services.subscriptions.subscribe(
            TEAM, "C1", ADMIN, SubscribeCreditLow(below_amount=Decimal(500))
        )

        await services.publisher.check_alerts()

        (message,) = fake_slack.channel_messages("C1")
        assert "Windsurf: credits running low" in message.text
        assert "REST" in message.text
