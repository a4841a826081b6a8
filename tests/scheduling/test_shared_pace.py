"""Two replicas on one PostgreSQL database share one workspace's posting allowance: the fake Slack,
enforcing 300 posts a minute per workspace (time scaled), refuses none of their posts, where two
processes pacing themselves alone are refused."""

from __future__ import annotations

import asyncio
import time as timer
from pathlib import Path

from bot.messages.message import Message
from bot.services.clock import ManualClock
from bot.services.container import Services
from bot.services.deliveries import Claim, DeliveryLedger, key_for
from bot.simulators.rest import RestSimulator
from bot.simulators.slack import FakeSlack, PostLimits
from bot.vendors import LimiterRegistry
from tests.scheduling.conftest import START, TEAM, make_settings

SCALE = 10.0  # Slack's minute is 6 s here: longer than the 400 posts take
POSTS = 400  # 200 from each replica: more than one window's 300


async def _post_many(ledger: DeliveryLedger, channels: list[str], tag: str) -> None:
    message = Message(f"post {tag}", [])
    for channel in channels:
        claim = Claim(key_for(TEAM, channel, None, "test", tag), TEAM, channel, None, "test", tag)
        row = await ledger.claim(claim, message)
        assert row is not None
        assert (await ledger.post([row], message)).ok


async def _replicas(settings: object, clock: ManualClock) -> list[Services]:
    replicas = []
    for _ in range(2):
        services = Services.create(settings, clock=clock, slack_pacing=LimiterRegistry(time_scale=SCALE))  # type: ignore[arg-type]
        await services.start(identify_workspace=False)
        await services.use_env_team(TEAM)
        replicas.append(services)
    return replicas


async def test_two_replicas_together_stay_within_one_workspaces_posting_allowance(
    pg_url: str, tmp_path: Path, fake_slack: FakeSlack, rest_sim: tuple[RestSimulator, str]
) -> None:
    sim, url = rest_sim
    settings = make_settings(tmp_path, fake_slack, url, sim.api_key, database_url=pg_url)
    channels = [f"CPACE{index:03d}" for index in range(POSTS)]
    for channel in channels:
        fake_slack.add_channel(channel)
    fake_slack.enforce_post_limits(PostLimits(time_scale=SCALE))
    replicas = await _replicas(settings, ManualClock(START))
    try:
        # Alone, each process's own limiter lets its 200 posts through at once: Slack refuses some.
        alone = [
            DeliveryLedger(
                services.store.deliveries,
                services.slack,
                clock=services.clock,
                metrics=services.metrics,
                pacing=LimiterRegistry(time_scale=SCALE),
            )
            for services in replicas
        ]
        await asyncio.gather(*(_post_many(alone[i], channels[i::2], "alone") for i in range(2)))
        assert fake_slack.rate_limited > 0, "the fake did not refuse: this test would prove nothing"
        await asyncio.sleep(60.0 / SCALE + 0.5)  # the fake's window (a scaled minute) empties
        fake_slack.rate_limited = 0
        # Sharing the allowance through the database: none refused, and the 301st post waited its turn.
        started = timer.monotonic()
        await asyncio.gather(*(_post_many(replicas[i].ledger, channels[i::2], "shared") for i in range(2)))
        took = timer.monotonic() - started
    finally:
        for services in replicas:
            await services.close()
    assert fake_slack.rate_limited == 0
    shared = [m for c in channels for m in fake_slack.channel_messages(c) if m.text == "post shared"]
    assert len(shared) == POSTS
    assert took >= 60.0 / SCALE * 0.9  # at most 300 in the first scaled minute
