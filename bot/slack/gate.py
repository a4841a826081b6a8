"""The gate every Slack payload passes before a listener sees it, in HTTP and Socket Mode alike.

Two checks, as a Bolt global middleware:

* every Slack id the payload carries where our listeners (or Bolt) read one — team, enterprise, user,
  channel — is shaped like a Slack id (:mod:`bot.domain.slack_ids`), so no id can carry a path, a
  newline or markup further in;
* in single-token mode, the payload comes from the bot token's own workspace (``auth.test`` tells which,
  asked once): a signed request naming another workspace is refused instead of being served with our
  token.

A refusal is logged at INFO with its reason and the field it concerns, never the value.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError

from bot.domain.slack_ids import SlackIdKind, is_slack_id
from bot.services.container import Services
from bot.services.slack_api import SlackUnavailable

log = logging.getLogger(__name__)

TEAM, ENTERPRISE, USER, CHANNEL = (
    SlackIdKind.TEAM,
    SlackIdKind.ENTERPRISE,
    SlackIdKind.USER,
    SlackIdKind.CHANNEL,
)
# Where Slack puts ids in commands, interactive payloads and events: (path, kind).
_ID_PLACES: tuple[tuple[tuple[str, ...], SlackIdKind], ...] = (
    (("team_id",), TEAM),
    (("enterprise_id",), ENTERPRISE),
    (("user_id",), USER),
    (("channel_id",), CHANNEL),
    (("team", "id"), TEAM),
    (("team",), TEAM),
    (("enterprise", "id"), ENTERPRISE),
    (("enterprise",), ENTERPRISE),
    (("user", "id"), USER),
    (("user", "team_id"), TEAM),
    (("channel", "id"), CHANNEL),
    (("container", "channel_id"), CHANNEL),
    (("view", "team_id"), TEAM),
    (("event", "user"), USER),
    (("event", "channel"), CHANNEL),
    (("event", "team"), TEAM),
    (("event", "view", "team_id"), TEAM),
)
_CONTEXT_IDS = (("team_id", TEAM), ("enterprise_id", ENTERPRISE), ("user_id", USER), ("channel_id", CHANNEL))


def malformed_id(body: Mapping[str, Any], context: Mapping[str, Any]) -> str | None:
    """The name of the first field holding something that is not a Slack id of its kind, else None.

    A field that is absent, null or empty is not checked (many payloads have no channel or enterprise);
    a container (``team``, ``enterprise``) that is neither an object nor an id string is malformed.
    """
    for name, value, kind in _ids(body):
        if value is None or value == "":
            continue
        if not is_slack_id(kind, value):
            return name
    for key, kind in _CONTEXT_IDS:
        value = context.get(key)
        if value not in (None, "") and not is_slack_id(kind, value):
            return f"context.{key}"
    return None


def _ids(body: Mapping[str, Any]) -> Iterator[tuple[str, Any, SlackIdKind]]:
    for path, kind in _ID_PLACES:
        node: Any = body
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, Mapping) else None
        if isinstance(node, Mapping) and path[-1] in node:
            value = node[path[-1]]
            # ``event.user`` is an object in ``user_change``, ``event.channel`` in ``channel_created``.
            if isinstance(value, Mapping) and (path[0] == "event" or len(path) == 1):
                continue
            yield ".".join(path), value, kind


class WorkspaceGate:
    """Learns the bot token's workspace once and says whether a payload's team may be served."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._team_id: str | None = None
        self._lock = asyncio.Lock()

    async def bot_team(self) -> str | None:
        """The bot token's workspace (``auth.test``, asked until it answers once); None when Slack fails."""
        if self._team_id is None:
            async with self._lock:
                if self._team_id is None:
                    try:
                        self._team_id, _ = await self._services.slack.identify_bot_workspace()
                    except (SlackUnavailable, SlackApiError) as error:
                        log.warning("cannot tell which workspace the bot token belongs to: %s", error)
        return self._team_id

    async def middleware(
        self, req: AsyncBoltRequest, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        """Bolt global middleware: refuse malformed ids, and in single-token mode any other workspace."""
        body = req.body if isinstance(req.body, Mapping) else {}
        field = malformed_id(body, req.context)
        if field is not None:
            log.info("refused a Slack payload: %s is not shaped like a Slack id", field)
            return _refusal(req, 400, "malformed Slack id")
        team_id = req.context.team_id
        if team_id and not self._services.settings.oauth_enabled:
            expected = await self.bot_team()
            if expected is None:
                return _refusal(req, 503, "workspace unknown, try again")
            if team_id != expected:
                log.info(
                    "refused a Slack payload from workspace %s: the bot token is %s's", team_id, expected
                )
                return _refusal(req, 403, "this app does not serve that workspace")
        return await next()


def _refusal(req: AsyncBoltRequest, status: int, reason: str) -> BoltResponse:
    """The answer to a refused payload. Over Socket Mode it is an empty acknowledgement: Slack would
    otherwise redeliver the envelope, and there is no HTTP status to say no with."""
    if req.mode == "socket_mode":
        return BoltResponse(status=200, body="")
    return BoltResponse(status=status, body={"error": reason})
