"""A running bot (HTTP mode) with the fake Slack, small vendor simulators, and people of every role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from sqlmodel import col, select

from bot.services.container import Services
from bot.settings import Settings
from bot.simulators.anthropic import AnthropicSimulator
from bot.simulators.copilot import CopilotSimulator
from bot.simulators.cursor import CursorSimulator
from bot.simulators.openai import OpenAISimulator
from bot.simulators.rest import RestSimulator
from bot.simulators.serving import served
from bot.simulators.slack import FakeSlack, SignedRequests
from bot.simulators.windsurf import WindsurfSimulator
from bot.store.models import AuditEntry, Connection
from tests.connections.driver import SlackDriver
from tests.support.bot import BotThread

TEAM = "T0001"
ADMIN = "UADMIN01"
OWNER = "UOWNER01"
LISTED = "ULISTED1"  # a plain member listed in SPENDBOT_ADMINS
MEMBER = "UMEMBER1"  # a plain member: no right to change anything
ADMINS = (ADMIN, OWNER, LISTED)


@pytest.fixture
def cursor_sim() -> Iterator[CursorSimulator]:
    sim = CursorSimulator(team_size=3, days=3, seed=11, time_scale=60.0)
    with served(sim.app) as server:
        sim.url = server.url  # type: ignore[attr-defined]
        yield sim


@pytest.fixture
def windsurf_sim() -> Iterator[WindsurfSimulator]:
    sim = WindsurfSimulator(team_size=3, days=3, seed=12, time_scale=60.0)
    with served(sim.app) as server:
        sim.url = server.url + "/api/v1"  # type: ignore[attr-defined]
        yield sim


@pytest.fixture
def openai_sim() -> Iterator[OpenAISimulator]:
    sim = OpenAISimulator(team_size=3, days=3, seed=14, time_scale=60.0)
    with served(sim.app) as server:
        sim.url = server.url + "/v1"  # type: ignore[attr-defined]
        yield sim


@pytest.fixture
def anthropic_sim() -> Iterator[AnthropicSimulator]:
    sim = AnthropicSimulator(team_size=3, days=3, seed=15, time_scale=60.0)
    with served(sim.app) as server:
        sim.url = server.url + "/v1"  # type: ignore[attr-defined]
        yield sim


@pytest.fixture
def copilot_sim() -> Iterator[CopilotSimulator]:
    sim = CopilotSimulator(org="acme", team_size=3, days=3, seed=16, time_scale=60.0)
    with served(sim.app) as server:
        sim.url = server.url  # type: ignore[attr-defined]
        yield sim


@pytest.fixture
def rest_sim() -> Iterator[RestSimulator]:
    sim = RestSimulator(plan="pro", projects=5, seed=13, time_scale=60.0)
    with served(sim.app) as server:
        sim.url = server.url + "/v1"  # type: ignore[attr-defined]
        yield sim


@pytest.fixture
def people(fake_slack: FakeSlack) -> None:
    fake_slack.add_user(ADMIN, is_admin=True)
    fake_slack.add_user(OWNER, is_owner=True)
    fake_slack.add_user(LISTED)
    fake_slack.add_user(MEMBER)


@pytest.fixture
def bot_settings(make_settings: Callable[..., Settings], cursor_sim: CursorSimulator) -> Settings:
    """Cursor's default URL is its simulator; other vendors' simulators are given as base URL overrides."""
    return make_settings(admins=LISTED, cursor_api_url=cursor_sim.url)  # type: ignore[attr-defined]


@pytest.fixture
def running(bot_settings: Settings, people: None) -> Iterator[BotThread]:
    with BotThread(bot_settings) as bot:
        yield bot


@pytest.fixture
def slack(running: BotThread, signed: SignedRequests, fake_slack: FakeSlack) -> SlackDriver:
    return SlackDriver(running, signed, fake_slack)


def services_of(bot: BotThread) -> Services:
    assert bot.services is not None
    return bot.services


def rows(bot: BotThread, team: str | None = None) -> list[Connection]:
    """The connections the bot has stored (of ``team``, or of every workspace)."""
    services = services_of(bot)
    found = bot.call(services.connections.every())
    return [row for row in found if team is None or row.team_id == team]


def audit(bot: BotThread, team: str = TEAM) -> list[AuditEntry]:
    """Every audit entry of ``team``, oldest first."""
    services = services_of(bot)

    async def read() -> list[AuditEntry]:
        async with services.db.session() as session:
            result = await session.exec(
                select(AuditEntry).where(AuditEntry.team_id == team).order_by(col(AuditEntry.id))
            )
            return list(result.all())

    return bot.call(read())


def on_bot(bot: BotThread, make: Callable[[Services], Awaitable[Any]]) -> Any:
    """Run ``make(services)`` on the bot's own loop and return its result."""
    return bot.call(make(services_of(bot)))


def settle(bot: BotThread) -> None:
    """Wait for the first syncs the bot started in the background, so the store stops changing."""
    services = services_of(bot)
    bot.call(services.connection_admin.first_syncs_done())


def cursor_form(sim: CursorSimulator, **overrides: str | None) -> dict[str, str | None]:
    values: dict[str, str | None] = {"name": "cursor", "key": sim.api_key, "base_url": None}
    values.update(overrides)
    return values
