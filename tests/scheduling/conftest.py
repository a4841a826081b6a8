"""Scheduled work with a hand-moved clock: the real services, a fake Slack and vendor simulators."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.services.clock import ManualClock
from bot.services.container import Services
from bot.settings import Settings
from bot.simulators.rest import RestSimulator
from bot.simulators.serving import served
from bot.simulators.slack import FakeSlack, Message
from bot.vendors import LimiterRegistry

TEAM = "T0001"
ADMIN = "UADMIN01"
START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@dataclass
class Rig:
    """Everything a scheduling test drives: services can be rebuilt on the same database (a restart)."""

    fake: FakeSlack
    rest: RestSimulator
    clock: ManualClock
    settings: Settings
    services: Services

    async def restart(self) -> Services:
        """Close the services and build new ones on the same database and fake Slack, as a restart would."""
        await self.services.close()
        self.services = build_services(self.settings, self.clock)
        await self.services.start(identify_workspace=False)
        await self.services.use_env_team(TEAM)
        return self.services

    def top_level(self, channel: str) -> list[Message]:
        return [message for message in self.fake.channel_messages(channel) if message.thread_ts is None]

    def replies(self, channel: str) -> list[Message]:
        return [message for message in self.fake.channel_messages(channel) if message.thread_ts is not None]


def build_services(settings: Settings, clock: ManualClock) -> Services:
    """Vendor calls and Slack posts and history reads paced at 600 times the documented rates."""
    return Services.create(
        settings,
        clock=clock,
        limiters=LimiterRegistry(time_scale=600.0),
        slack_pacing=LimiterRegistry(time_scale=600.0),
    )


def make_settings(
    tmp_path: Path, fake: FakeSlack, rest_url: str, rest_key: str, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": "xoxb-test-token",
        "slack_signing_secret": "test-signing-secret",
        "slack_api_url": fake.api_url,
        "data_dir": tmp_path / "data",
        "database_url": f"sqlite:///{tmp_path / 'data' / 'spendbot.db'}",
        "secret_key": "pNBfRnUK5Wx8ggN9Vm3Xm2cGMZ3vT0zJbU4xq6X1uJk=",
        "rest_api_key": rest_key,
        "rest_api_url": rest_url,
        "rest_probe_path": "/account",
        "rest_per_minute": 300,
        "rest_per_day": 50000,
        "rest_track": "/usage#data.credits_remaining",
        "admins": (ADMIN,),
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def rest_sim() -> Iterator[tuple[RestSimulator, str]]:
    sim = RestSimulator(plan="pro", now=START, time_scale=600.0)
    sim.set_credits(Decimal(1000))
    with served(sim.app) as server:
        yield sim, server.url + "/v1"


@pytest.fixture
async def rig(
    tmp_path: Path, fake_slack: FakeSlack, rest_sim: tuple[RestSimulator, str]
) -> AsyncIterator[Rig]:
    sim, url = rest_sim
    clock = ManualClock(START)
    fake_slack.set_clock(lambda: clock().timestamp())  # Slack's clock is ours: message ts follow it
    settings = make_settings(tmp_path, fake_slack, url, sim.api_key)
    services = build_services(settings, clock)
    await services.start(identify_workspace=False)
    await services.use_env_team(TEAM)
    for channel in ("C1", "C2", "C3"):
        fake_slack.add_channel(channel)
    rig = Rig(fake_slack, sim, clock, settings, services)
    try:
        yield rig
    finally:
        await rig.services.close()
