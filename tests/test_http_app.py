"""The bot in HTTP mode, end to end: signed slash commands over loopback, health and metrics."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx

from bot.settings import Settings
from bot.simulators.slack import FakeSlack, SignedRequests
from tests.conftest import SIGNING_SECRET
from tests.support.bot import BotThread


async def _command(bot: BotThread, signed: SignedRequests, text: str, **kwargs: object) -> httpx.Response:
    body, headers = signed.command(text, **kwargs)  # type: ignore[arg-type]
    async with httpx.AsyncClient() as client:
        return await client.post(f"{bot.url}/slack/events", content=body, headers=headers)


async def test_help_lists_the_grammar_with_examples(bot: BotThread, signed: SignedRequests) -> None:
    response = await _command(bot, signed, "help")
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_type"] == "ephemeral"
    assert "/spend help" in answer["text"]
    assert "e.g." in answer["text"] or "Example" in answer["text"]


async def test_no_text_answers_with_help(bot: BotThread, signed: SignedRequests) -> None:
    empty = (await _command(bot, signed, "")).json()
    explicit = (await _command(bot, signed, "help")).json()
    assert empty["text"] == explicit["text"]


async def test_unknown_sub_command_names_it_and_shows_the_right_form(
    bot: BotThread, signed: SignedRequests
) -> None:
    answer = (await _command(bot, signed, "frobnicate 7d")).json()
    assert answer["response_type"] == "ephemeral"
    assert "`frobnicate`" in answer["text"]
    assert "Usage:" in answer["text"] and "/spend" in answer["text"]
    assert "Traceback" not in answer["text"]


async def test_a_typo_suggests_the_closest_command(bot: BotThread, signed: SignedRequests) -> None:
    answer = (await _command(bot, signed, "hepl")).json()
    assert "`hepl`" in answer["text"]
    assert "help" in answer["text"]


async def test_bad_signature_is_refused_with_401(bot: BotThread, signed: SignedRequests) -> None:
    body, headers = signed.command("help")
    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{bot.url}/slack/events", content=body, headers=headers)
    assert response.status_code == 401


async def test_wrong_secret_is_refused_with_401(bot: BotThread, fake_slack: FakeSlack) -> None:
    forger = SignedRequests("not-the-secret", fake=fake_slack)
    response = await _command(bot, forger, "help")
    assert response.status_code == 401


async def test_stale_timestamp_is_refused_with_401(bot: BotThread, signed: SignedRequests) -> None:
    response = await _command(bot, signed, "help", timestamp=int(time.time()) - 6 * 60)
    assert response.status_code == 401


async def test_tampered_body_is_refused_with_401(bot: BotThread, signed: SignedRequests) -> None:
    body, headers = signed.command("help")
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{bot.url}/slack/events", content=body.replace("help", "status"), headers=headers
        )
    assert response.status_code == 401


async def test_health_is_ok_while_the_database_answers(bot: BotThread) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{bot.url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_health_is_503_when_the_sqlite_file_is_destroyed(settings: Settings, tmp_path: Path) -> None:
    with BotThread(settings) as bot:
        database = Path(settings.database_url.removeprefix("sqlite:///"))
        for path in database.parent.glob(database.name + "*"):
            path.write_bytes(b"\0" * 4096)
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{bot.url}/healthz")
        assert response.status_code == 503
        assert response.json()["database"] == "unreachable"


async def test_metrics_count_requests_and_time_acks(bot: BotThread, signed: SignedRequests) -> None:
    await _command(bot, signed, "help")
    body, headers = signed.command("help")
    headers["X-Slack-Signature"] = "v0=bad"
    async with httpx.AsyncClient() as client:
        await client.post(f"{bot.url}/slack/events", content=body, headers=headers)
        text = (await client.get(f"{bot.url}/metrics")).text
    assert 'spendbot_slack_requests_total{kind="command",status="200"} 1.0' in text
    assert 'spendbot_slack_requests_total{kind="command",status="401"} 1.0' in text
    assert 'spendbot_ack_seconds_count{kind="command"} 2.0' in text
    assert 'spendbot_commands_total{name="help",outcome="ok"} 1.0' in text


async def test_unknown_paths_are_404(bot: BotThread) -> None:
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{bot.url}/slack/install")).status_code == 404
        assert (await client.get(f"{bot.url}/nope")).status_code == 404


async def test_the_slash_command_name_is_a_setting(
    make_settings: Callable[..., Settings], fake_slack: FakeSlack
) -> None:
    signed = SignedRequests(SIGNING_SECRET, fake=fake_slack)
    with BotThread(make_settings(command="/ai-spend")) as bot:
        answer = (await _command(bot, signed, "help", command="/ai-spend")).json()
        assert "/ai-spend help" in answer["text"]
        # A command the bot does not own gets no listener: Bolt answers 404.
        other = await _command(bot, signed, "help", command="/spend")
        assert other.status_code == 404
