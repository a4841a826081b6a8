"""Socket Mode for real: the fake Slack hands out a ws:// URL on loopback and plays Slack's side."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import httpx
import pytest

from bot.settings import RunMode, Settings
from bot.simulators.slack import FakeSlack
from tests.conftest import APP_TOKEN
from tests.support.bot import BotThread


def _envelope(envelope_id: str, text: str, fake: FakeSlack) -> dict[str, object]:
    return {
        "envelope_id": envelope_id,
        "type": "slash_commands",
        "accepts_response_payload": True,
        "payload": {
            "token": "legacy",
            "team_id": "T0001",
            "team_domain": "acme",
            "channel_id": "C0001",
            "channel_name": "general",
            "user_id": "U0001",
            "user_name": "ana",
            "command": "/spend",
            "text": text,
            "api_app_id": "AAPP0001",
            "response_url": fake.new_response_url(),
            "trigger_id": "T.trigger.socket",
        },
    }


async def test_socket_mode_acks_a_slash_command_with_the_envelope_id(
    make_settings: Callable[..., Settings], fake_slack: FakeSlack
) -> None:
    settings = make_settings(slack_app_token=APP_TOKEN, slack_signing_secret=None)
    with BotThread(settings, mode=RunMode.SOCKET) as bot:
        assert settings.run_mode() is RunMode.SOCKET
        await asyncio.to_thread(fake_slack.wait_socket, 10)
        ack = await asyncio.to_thread(fake_slack.socket_send, _envelope("env-help-1", "help", fake_slack))
        assert ack["envelope_id"] == "env-help-1"
        assert "/spend help" in ack["payload"]["text"]

        ack = await asyncio.to_thread(
            fake_slack.socket_send, _envelope("env-bad-2", "frobnicate", fake_slack)
        )
        assert ack["envelope_id"] == "env-bad-2"
        assert "`frobnicate`" in ack["payload"]["text"]

        # apps.connections.open was called with the app-level token, never the bot token.
        opens = fake_slack.calls("apps.connections.open")
        assert opens and all(call.token == APP_TOKEN for call in opens)

        # /healthz and /metrics are served in Socket Mode too, on the same port.
        async with httpx.AsyncClient() as client:
            health = await client.get(f"{bot.url}/healthz")
            metrics = (await client.get(f"{bot.url}/metrics")).text
            events = await client.post(f"{bot.url}/slack/events", content=b"{}")
        assert health.status_code == 200
        assert health.json()["socket_mode"] == "connected"
        assert 'spendbot_slack_requests_total{kind="command",status="socket"} 2.0' in metrics
        assert events.status_code == 404  # no HTTP endpoint for Slack in Socket Mode


def test_socket_mode_needs_the_bot_token_too(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(slack_app_token=APP_TOKEN, slack_bot_token=None)
    assert "SLACK_BOT_TOKEN is required in Socket Mode" in settings.problems_for_run(RunMode.SOCKET)


async def test_socket_mode_acks_a_misshapen_payload_once_without_a_trace(
    make_settings: Callable[..., Settings], fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    # An envelope that is not acknowledged is redelivered; one whose parts Bolt indexes have the wrong
    # types (``event`` a list, ``actions`` without an ``action_id``) used to end in an ERROR and no ack.
    caplog.set_level(logging.INFO)
    payloads = [
        ("events_api", {"type": "event_callback", "team_id": "T0001", "event": ["x"]}),
        (
            "interactive",
            {"type": "block_actions", "team": {"id": "T0001"}, "user": {"id": "U1"}, "actions": [{}]},
        ),
        (
            "interactive",
            {"type": "view_submission", "team": {"id": "T0001"}, "user": {"id": "U1"}, "view": "x"},
        ),
    ]
    settings = make_settings(slack_app_token=APP_TOKEN, slack_signing_secret=None)
    with BotThread(settings, mode=RunMode.SOCKET):
        await asyncio.to_thread(fake_slack.wait_socket, 10)
        for number, (kind, payload) in enumerate(payloads):
            envelope = {"envelope_id": f"env-{number}", "type": kind, "payload": payload}
            ack = await asyncio.to_thread(fake_slack.socket_send, envelope)
            assert ack == {"envelope_id": f"env-{number}"}
        ack = await asyncio.to_thread(fake_slack.socket_send, _envelope("env-help", "help", fake_slack))
        assert "/spend help" in ack["payload"]["text"]
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []
