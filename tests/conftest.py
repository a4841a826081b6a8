"""Shared fixtures: a clean environment, the fake Slack, settings, a running bot, and PostgreSQL.

PostgreSQL tests use the server named by SPENDBOT_TEST_DATABASE_URL (CI sets it); each test gets a
database of its own, created and dropped around it. Without the variable they are skipped, with the
reason printed; with SPENDBOT_TEST_REQUIRE_POSTGRES=1 (CI) an unreachable server fails them instead.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.settings import Settings
from bot.simulators.serving import served
from bot.simulators.slack import FakeSlack, SignedRequests
from tests.support.bot import BotThread

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-test-app-token"

PG_BASE_URL = os.environ.get("SPENDBOT_TEST_DATABASE_URL")
PG_REQUIRED = os.environ.get("SPENDBOT_TEST_REQUIRE_POSTGRES") == "1"
_ENV_PREFIXES = ("SLACK_", "SPENDBOT_", "DATABASE_URL", "CURSOR_", "WINDSURF_", "REST_", "LOG_")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Settings come from the test, never from the developer's shell or .env."""
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES) and not name.startswith("SPENDBOT_TEST_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    with served(fake.app) as server:
        fake.bind(server.url)
        fake.add_app_token(APP_TOKEN)
        yield fake


@pytest.fixture
def signed(fake_slack: FakeSlack) -> SignedRequests:
    return SignedRequests(SIGNING_SECRET, fake=fake_slack)


@pytest.fixture
def make_settings(tmp_path: Path, fake_slack: FakeSlack) -> Callable[..., Settings]:
    """Build settings for a bot that talks to the fake Slack and keeps its data under tmp_path."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "slack_bot_token": BOT_TOKEN,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": fake_slack.api_url,
            "data_dir": tmp_path / "data",
            "database_url": f"sqlite:///{tmp_path / 'data' / 'spendbot.db'}",
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return build


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def bot(settings: Settings) -> Iterator[BotThread]:
    """The bot in HTTP mode, served on a free loopback port in a thread of its own."""
    with BotThread(settings) as running:
        yield running


async def _create_database(base_url: str) -> str:
    url = make_url(base_url)
    name = f"spendbot_test_{os.getpid()}_{secrets.token_hex(4)}"
    connection = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database
    )
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return url.set(database=name).render_as_string(hide_password=False)


async def drop_database(database_url: str) -> None:
    url = make_url(database_url)
    admin = make_url(PG_BASE_URL or "")
    connection = await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=admin.database,
    )
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    if not PG_BASE_URL:
        pytest.skip("PostgreSQL tests need SPENDBOT_TEST_DATABASE_URL (CI sets it to the local server)")
    try:
        database_url = await _create_database(PG_BASE_URL)
    except (OSError, asyncpg.PostgresError) as error:
        if PG_REQUIRED:
            pytest.fail(f"PostgreSQL at {PG_BASE_URL} is required here but unreachable: {error}")
        pytest.skip(f"PostgreSQL at {PG_BASE_URL} is unreachable: {error}")
    try:
        yield database_url
    finally:
        await drop_database(database_url)
