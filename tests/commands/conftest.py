"""A whole world for the slash commands: vendor simulators, a fake Slack with people in several time
zones, and the real bot in HTTP mode whose clock is the simulators' clock."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.messages.blocks import readable_texts
from bot.services.container import Services
from bot.services.secrets import KEY_FILE_NAME
from bot.settings import Settings
from bot.simulators.anthropic import AnthropicSimulator
from bot.simulators.copilot import CopilotSimulator
from bot.simulators.cursor import CursorSimulator
from bot.simulators.openai import OpenAISimulator
from bot.simulators.rest import RestSimulator
from bot.simulators.serving import served_all
from bot.simulators.slack import FakeSlack, SignedRequests
from bot.simulators.windsurf import WindsurfSimulator
from bot.vendors import LimiterRegistry
from tests.support.bot import BotThread

NOW = datetime(2026, 11, 20, 15, 37, tzinfo=UTC)
SCALE = 120.0
ADMIN = "UADMIN01"
MEMBER = "UMEMBER1"
OUTSIDER = "UOUTSIDE"


@dataclass
class World:
    fake: FakeSlack
    signed: SignedRequests
    bot: BotThread
    cursor: CursorSimulator
    windsurf: WindsurfSimulator
    rest: RestSimulator
    member_email: str
    openai: OpenAISimulator
    anthropic: AnthropicSimulator
    copilot: CopilotSimulator
    synced_state: SyncedState | None = None
    """Where the data of this world after its first sync is kept; ``restored`` when it started from it."""

    def ask(
        self, text: str, user: str = ADMIN, channel: str = "C0001", timeout: float = 20.0
    ) -> dict[str, Any]:
        """Send ``/spend text`` signed, and return the answer posted to its response_url (or the ack)."""
        response_url = self.fake.new_response_url()
        hook = response_url.rsplit("/", 1)[1]
        body, headers = self.signed.command(text, user_id=user, channel_id=channel, response_url=response_url)
        response = httpx.post(f"{self.bot.url}/slack/events", content=body, headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        if response.content and response.json().get("text"):
            return dict(response.json())
        return asyncio.run(self._wait(hook, timeout))

    async def _wait(self, hook: str, timeout: float) -> dict[str, Any]:
        posts = await self.fake.wait_for(
            lambda fake: [post for post in fake.responses if post["hook"] == hook], timeout=timeout
        )
        return dict(posts[0])

    def click(
        self,
        action_id: str,
        value: str,
        user: str = ADMIN,
        hook: str | None = None,
        *,
        answered: bool = True,
    ) -> list[dict[str, Any]]:
        """Click a button (signed block_actions) of an ephemeral answer, or with ``answered`` False of a
        channel message whose click edits it rather than answering; return the posts it made."""
        response_url = self.fake.new_response_url()
        payload = {
            "type": "block_actions",
            "team": {"id": "T0001", "domain": "acme"},
            "user": {"id": user, "team_id": "T0001"},
            "api_app_id": "AAPP0001",
            "container": {"type": "message", "is_ephemeral": answered, "channel_id": "C0001"},
            "channel": {"id": "C0001", "name": "general"},
            "trigger_id": "T.trigger.click",
            "response_url": response_url,
            "actions": [{"action_id": action_id, "block_id": "b", "type": "button", "value": value}],
        }
        body, headers = self.signed.interactive(payload)
        response = httpx.post(f"{self.bot.url}/slack/events", content=body, headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        if not answered:
            return []
        hook_id = response_url.rsplit("/", 1)[1]
        return asyncio.run(self._wait_all(hook_id))

    async def _wait_all(self, hook: str) -> list[dict[str, Any]]:
        await self.fake.wait_for(
            lambda fake: any(post["hook"] == hook for post in fake.responses), timeout=20
        )
        await asyncio.sleep(0.3)  # a click may answer twice (share: post, then delete the original)
        return [post for post in self.fake.response_posts() if post["hook"] == hook]


def text_of(answer: dict[str, Any]) -> str:
    """Everything a person would read in an answer: its text and every text of its blocks."""
    return "\n".join([str(answer.get("text") or ""), *readable_texts(answer.get("blocks") or [])])


def button_value(answer: dict[str, Any], action_id: str) -> str:
    for block in answer.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return str(element["value"])
    raise AssertionError(f"no {action_id} button in {json.dumps(answer)[:500]}")


@dataclass
class SyncedState:
    """The data folder of a world right after its first sync, kept for the other tests of the session
    whose world is built alike (same fixture values): the simulators are seeded and their clock pinned,
    so that sync writes the same figures every time. Each such test starts its bot on a copy of it
    instead of syncing again (about 1-2 s each); the first test of every kind of world still syncs.
    A restored world is a bot restarted after its sync: its simulators have not counted the sync's
    requests (``stats``), and nothing the bot keeps only in memory is there; a test that needs either
    must sync itself."""

    folder: Path
    restored: bool = False

    def keep(self, data: Path) -> None:
        """Copy ``data`` (the bot is running: SQLite's backup reads one consistent state, WAL included)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(data / KEY_FILE_NAME, self.folder / KEY_FILE_NAME)
        source, copy = sqlite3.connect(data / DB_FILE), sqlite3.connect(self.folder / DB_FILE)
        try:
            source.backup(copy)
        finally:
            source.close()
            copy.close()

    def restore(self, data: Path) -> bool:
        """Copy the kept folder to ``data`` (before the bot starts); False when nothing is kept yet."""
        if not (self.folder / DB_FILE).exists():
            return False
        shutil.copytree(self.folder, data, dirs_exist_ok=True)
        self.restored = True
        return True


DB_FILE = "spendbot.db"


@pytest.fixture(scope="session")
def synced_states(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], SyncedState]:
    """One :class:`SyncedState` per kind of world (the repr of the fixture values that build it)."""
    root = tmp_path_factory.mktemp("synced-worlds")
    kinds: dict[str, int] = {}

    def state(kind: str) -> SyncedState:
        return SyncedState(root / str(kinds.setdefault(kind, len(kinds))))

    return state


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Settings a test changes on the world's bot: parametrize this name to override (e.g. visibility)."""
    return {}


@pytest.fixture
def windsurf_options() -> dict[str, Any]:
    """Options of the world's Windsurf simulator: parametrize this name to change its data."""
    return {}


@pytest.fixture
def openai_declared() -> bool:
    """Whether the world's bot declares its OpenAI connection: parametrize this name to switch it on."""
    return False


@pytest.fixture
def anthropic_declared() -> bool:
    """Whether the world's bot declares its Anthropic connection: parametrize this name to switch it on."""
    return False


@pytest.fixture
def copilot_declared() -> bool:
    """Whether the world's bot declares its Copilot connection: parametrize this name to switch it on."""
    return False


@pytest.fixture
def copilot_options() -> dict[str, Any]:
    """Options of the world's Copilot simulator (its seed...): parametrize this name to change them."""
    return {}


@pytest.fixture
def world(
    request: pytest.FixtureRequest,
    synced_states: Callable[[str], SyncedState],
    tmp_path: Path,
    fake_slack: FakeSlack,
    signed: SignedRequests,
    settings_overrides: dict[str, Any],
    windsurf_options: dict[str, Any],
    openai_declared: bool,
    anthropic_declared: bool,
    copilot_declared: bool,
    copilot_options: dict[str, Any],
) -> Iterator[World]:
    kind = repr(
        (
            settings_overrides,
            windsurf_options,
            openai_declared,
            anthropic_declared,
            copilot_declared,
            copilot_options,
        )
    )  # what the world is built from, before the URLs of this test's servers are added to the settings
    cursor = CursorSimulator(team_size=14, days=70, seed=41, now=NOW, time_scale=SCALE)
    windsurf = WindsurfSimulator(team_size=8, days=70, seed=42, now=NOW, time_scale=SCALE, **windsurf_options)
    rest = RestSimulator(plan="pro", now=NOW, time_scale=SCALE)
    member_email = cursor.dataset.members[3].email
    # The same people as Cursor's first members, so one person is seen across tools by email.
    cursor_people = [(member.name, member.email) for member in cursor.dataset.members[:5]]
    openai = OpenAISimulator(team_size=7, days=70, seed=43, now=NOW, time_scale=SCALE, people=cursor_people)
    anthropic = AnthropicSimulator(
        team_size=6,
        days=70,
        seed=44,
        now=NOW,
        time_scale=SCALE,
        requests_per_minute=600,  # a Claude Code day a request: a backfill makes ~65 requests
        people=cursor_people[:3],
    )
    copilot = CopilotSimulator(
        **{"team_size": 5, "days": 70, "seed": 45, **copilot_options},
        now=NOW,
        time_scale=SCALE,
        people=cursor_people,
    )
    fake_slack.add_user(ADMIN, name="ada", email="ada@example.com", tz="America/Los_Angeles", is_admin=True)
    fake_slack.add_user(MEMBER, name="member", email=member_email, tz="Asia/Kolkata")
    fake_slack.add_user(OUTSIDER, name="otto", email="otto@example.com", tz="Europe/Berlin")
    with served_all(cursor.app, windsurf.app, rest.app, openai.app, anthropic.app, copilot.app) as (
        cursor_server,
        windsurf_server,
        rest_server,
        openai_server,
        anthropic_server,
        copilot_server,
    ):
        if openai_declared:
            settings_overrides = {
                "openai_admin_key": openai.admin_key,
                "openai_api_url": openai_server.url + "/v1",
                "openai_requests_per_minute": 600,
                **settings_overrides,
            }
        if anthropic_declared:
            settings_overrides = {
                "anthropic_admin_key": anthropic.admin_key,
                "anthropic_api_url": anthropic_server.url + "/v1",
                "anthropic_requests_per_minute": 600,
                **settings_overrides,
            }
        if copilot_declared:
            settings_overrides = {
                "copilot_token": copilot.token,
                "copilot_api_url": copilot_server.url,
                "copilot_org": copilot.org,
                **settings_overrides,
            }
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            slack_bot_token="xoxb-test-token",
            slack_signing_secret="test-signing-secret",
            slack_api_url=fake_slack.api_url,
            data_dir=tmp_path / "data",
            database_url=f"sqlite:///{tmp_path / 'data' / 'spendbot.db'}",
            cursor_api_key=cursor.api_key,
            cursor_api_url=cursor_server.url,
            windsurf_service_key=windsurf.service_key,
            windsurf_api_url=windsurf_server.url + "/api/v1",
            windsurf_requests_per_minute=600,
            rest_api_key=rest.api_key,
            rest_api_url=rest_server.url + "/v1",
            rest_probe_path="/account",
            rest_per_minute=300,
            rest_per_day=50000,
            rest_track="/usage#data.credits_remaining",
            **settings_overrides,
        )

        def services(settings: Settings) -> Services:
            return Services.create(
                settings, clock=lambda: cursor.now, limiters=LimiterRegistry(time_scale=SCALE)
            )

        synced_state = None
        if "synced" in request.fixturenames:
            synced_state = synced_states(kind)
            synced_state.restore(tmp_path / "data")
        with BotThread(settings, services_factory=services) as bot:
            yield World(
                fake_slack,
                signed,
                bot,
                cursor,
                windsurf,
                rest,
                member_email,
                openai,
                anthropic,
                copilot,
                synced_state,
            )


@pytest.fixture
def synced(world: World) -> World:
    """The world after every connection's first sync (as a command would trigger it): synced here, or
    started on the data a world built alike had right after its sync (see :class:`SyncedState`)."""
    assert world.bot.services is not None and world.synced_state is not None
    if world.synced_state.restored:
        return world
    services = world.bot.services

    async def sync_all() -> None:
        for connection in await services.connections.for_team("T0001"):
            report = await services.sync.sync(connection)
            assert report.ok, report.errors

    world.bot.call(sync_all(), timeout=60)
    world.synced_state.keep(world.bot.settings.data_dir)
    return world


def local_bounds(first: Any, last: Any, tz: str) -> tuple[datetime, datetime]:
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    start = datetime(first.year, first.month, first.day, tzinfo=zone).astimezone(UTC)
    after = last + timedelta(days=1)
    end = datetime(after.year, after.month, after.day, tzinfo=zone).astimezone(UTC)
    return start, end


MakeWorld = Callable[..., World]
