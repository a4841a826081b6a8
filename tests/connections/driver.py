"""Plays a person in Slack against the running bot: signed commands, view submissions and button clicks.

Everything goes through the bot's real HTTP endpoint with Slack's signature, and answers are read where
Slack would see them: the acknowledgement body, or what the bot posted to the fake Slack's response URL.
Payloads are built by hand, so a test can forge any field a real Slack client would never send.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from typing import Any, Protocol

import httpx

from bot.messages.connections import CANCEL_DISCONNECT, CONFIRM_DISCONNECT
from bot.messages.forms import CONNECT_VIEW
from bot.services.confirmations import new_token
from bot.simulators.slack import APP_ID, FakeSlack, SignedRequests
from bot.slack.connections import disconnect_value

_TRIGGERS = itertools.count(1)
_VIEWS = itertools.count(1)


class Served(Protocol):
    """A running bot: a thread in this process, or a process of its own."""

    @property
    def url(self) -> str: ...


class SlackDriver:
    """``await slack.command("connect cursor", user="UADMIN")`` and friends, for one bot."""

    def __init__(self, bot: Served, signed: SignedRequests, fake: FakeSlack) -> None:
        self.bot = bot
        self.signed = signed
        self.fake = fake

    async def post(self, body: str, headers: dict[str, str]) -> httpx.Response:
        async with httpx.AsyncClient(timeout=15) as client:
            return await client.post(f"{self.bot.url}/slack/events", content=body, headers=headers)

    async def command(
        self,
        text: str,
        *,
        user: str,
        team: str = "T0001",
        channel: str = "C0001",
        timeout: float = 10.0,
        answered: bool = True,
    ) -> dict[str, Any]:
        """Send ``/spend text`` and return the bot's answer (from the ack, or its response URL post).

        With ``answered=False`` (a command that opens a modal) it returns the empty acknowledgement.
        """
        response_url = self.fake.new_response_url()
        hook = response_url.rsplit("/", 1)[1]
        body, headers = self.signed.command(
            text,
            user_id=user,
            team_id=team,
            channel_id=channel,
            response_url=response_url,
            trigger_id=f"trigger.{next(_TRIGGERS)}",
        )
        response = await self.post(body, headers)
        assert response.status_code == 200, response.text
        if response.content:
            answer: dict[str, Any] = response.json()
            return answer
        if not answered:
            return {}
        posts = await self.fake.wait_for(
            lambda fake: [post for post in fake.responses if post["hook"] == hook], timeout=timeout
        )
        found: dict[str, Any] = posts[0]
        return found

    async def outcome(self, text: str, *, user: str, team: str = "T0001", channel: str = "C0001") -> str:
        """Send a command and return whatever it led to, as text: its answer, or the modal it opened."""
        response_url = self.fake.new_response_url()
        hook = response_url.rsplit("/", 1)[1]
        trigger = f"trigger.{next(_TRIGGERS)}"
        body, headers = self.signed.command(
            text,
            user_id=user,
            team_id=team,
            channel_id=channel,
            response_url=response_url,
            trigger_id=trigger,
        )
        response = await self.post(body, headers)
        assert response.status_code == 200, response.text
        if response.content:
            return response.text

        def seen(fake: FakeSlack) -> list[Any]:
            posts = [post for post in fake.responses if post["hook"] == hook]
            views = [view for view in fake.views if view.get("trigger_id") == trigger]
            return posts + views

        found = await self.fake.wait_for(seen, timeout=10)
        return json.dumps(found, ensure_ascii=False)

    async def submit(
        self,
        values: Mapping[str, str | None],
        *,
        user: str,
        team: str = "T0001",
        vendor: str = "cursor",
        channel: str = "C0001",
        metadata: str | None = None,
        callback_id: str = CONNECT_VIEW,
    ) -> tuple[httpx.Response, str]:
        """Submit the connect form with ``values`` (block id → typed text); returns (ack, view id)."""
        view_id = f"VSUB{next(_VIEWS):05d}"
        state = {
            block: {"value": {"type": "plain_text_input", "value": value}} for block, value in values.items()
        }
        payload = {
            "type": "view_submission",
            "team": {"id": team, "domain": "acme"},
            "user": {"id": user, "username": user.lower(), "team_id": team},
            "api_app_id": APP_ID,
            "trigger_id": f"trigger.{next(_TRIGGERS)}",
            "view": {
                "id": view_id,
                "team_id": team,
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": metadata
                if metadata is not None
                else json.dumps({"vendor": vendor, "channel": channel}),
                "state": {"values": state},
                "hash": "1.abc",
            },
        }
        body, headers = self.signed.interactive(payload)
        return await self.post(body, headers), view_id

    async def click(
        self,
        action_id: str,
        value: str,
        *,
        user: str,
        team: str = "T0001",
        channel: str = "C0001",
        status: int = 200,
    ) -> dict[str, Any] | None:
        """Click a button (or forge the click); returns what the bot posted to the response URL, if any."""
        response_url = self.fake.new_response_url()
        hook = response_url.rsplit("/", 1)[1]
        payload = {
            "type": "block_actions",
            "team": {"id": team, "domain": "acme"},
            "user": {"id": user, "username": user.lower(), "team_id": team},
            "api_app_id": APP_ID,
            "trigger_id": f"trigger.{next(_TRIGGERS)}",
            "container": {
                "type": "message",
                "message_ts": "1.1",
                "channel_id": channel,
                "is_ephemeral": True,
            },
            "channel": {"id": channel, "name": "general"},
            "response_url": response_url,
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "spendbot_disconnect",
                    "type": "button",
                    "value": value,
                    "action_ts": "1.2",
                }
            ],
        }
        body, headers = self.signed.interactive(payload)
        response = await self.post(body, headers)
        assert response.status_code == status, response.text
        if status != 200:
            return None
        posts = await self.fake.wait_for(
            lambda fake: [post for post in fake.responses if post["hook"] == hook], timeout=10
        )
        found: dict[str, Any] = posts[0]
        return found

    async def confirm_disconnect(
        self, name: str, *, user: str, team: str = "T0001", value: str | None = None, status: int = 200
    ) -> dict[str, Any] | None:
        """Click "Disconnect" on buttons asking about ``name`` (a fresh confirmation unless ``value``)."""
        value = value if value is not None else disconnect_value(name, new_token())
        return await self.click(CONFIRM_DISCONNECT, value, user=user, team=team, status=status)

    async def cancel_disconnect(self, name: str, *, user: str, team: str = "T0001") -> dict[str, Any] | None:
        return await self.click(CANCEL_DISCONNECT, disconnect_value(name, new_token()), user=user, team=team)

    async def event(self, event: dict[str, Any], *, team: str = "T0001") -> httpx.Response:
        body, headers = self.signed.event(event, team_id=team)
        return await self.post(body, headers)


def answer_text(answer: dict[str, Any] | None) -> str:
    """Everything a person would read in an answer: its text and every text of its blocks."""
    if answer is None:
        return ""
    return json.dumps({"text": answer.get("text"), "blocks": answer.get("blocks")}, ensure_ascii=False)
