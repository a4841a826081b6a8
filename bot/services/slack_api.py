"""The one choke point for the Slack Web API calls that services make (not Bolt's own replies).

It picks the workspace's bot token (the configured one, or the OAuth installation's), caches
``users.info`` briefly, and applies one retry policy: honour ``Retry-After`` on 429, back off with
jitter on 5xx and network errors, never retry a permanent error such as ``channel_not_found``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.settings import Settings

log = logging.getLogger(__name__)

USER_CACHE_SECONDS = 60.0
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "missing_scope",
        "user_not_found",
        "message_not_found",
        "restricted_action",
        "msg_too_long",
        "invalid_blocks",
        "no_text",
    }
)


@dataclass(frozen=True)
class SlackUser:
    """What we need to know about a person: time zone and whether they administer the workspace."""

    id: str
    team_id: str
    name: str
    tz: str | None
    is_admin: bool
    is_owner: bool
    email: str | None
    deleted: bool = False


class SlackUnavailable(Exception):
    """Slack could not be reached, or kept throttling us, after the retries."""


class SlackOutcomeUnknown(SlackUnavailable):
    """A call that must not be repeated blindly (a post) timed out or met a 5xx: it may have happened."""


class SlackApi:
    """Web API access for services; one instance per process."""

    def __init__(
        self,
        settings: Settings,
        *,
        installation_store: AsyncInstallationStore | None = None,
        max_attempts: int = 4,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._settings = settings
        self._installation_store = installation_store
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None
        self._users: dict[tuple[str, str], tuple[float, SlackUser]] = {}
        self._tokens: dict[str, str] = {}

    @property
    def session(self) -> aiohttp.ClientSession:
        """One pooled aiohttp session for every Slack call (created lazily, inside the running loop)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self._session

    def set_installation_store(self, store: AsyncInstallationStore) -> None:
        self._installation_store = store

    async def token_for(self, team_id: str) -> str | None:
        """The bot token for ``team_id``: the OAuth installation's, else the configured one."""
        if team_id in self._tokens:
            return self._tokens[team_id]
        token: str | None = None
        if self._installation_store is not None:
            bot = await self._installation_store.async_find_bot(enterprise_id=None, team_id=team_id)
            token = bot.bot_token if bot is not None else None
        if token is None and self._settings.slack_bot_token is not None:
            token = self._settings.slack_bot_token.get_secret_value()
        if token is not None:
            self._tokens[team_id] = token
        return token

    def forget_team(self, team_id: str) -> None:
        """Drop what is cached for a workspace (uninstalled or tokens revoked)."""
        self._tokens.pop(team_id, None)
        for key in [key for key in self._users if key[0] == team_id]:
            del self._users[key]

    async def client_for(self, team_id: str) -> AsyncWebClient:
        token = await self.token_for(team_id)
        if token is None:
            raise SlackUnavailable(f"no bot token for workspace {team_id}")
        return AsyncWebClient(token=token, base_url=self._settings.slack_api_url, session=self.session)

    async def call(
        self, team_id: str, method: str, *, once: bool = False, within: float | None = None, **kwargs: Any
    ) -> AsyncSlackResponse:
        """Call a Web API method with the retry policy; permanent errors raise ``SlackApiError`` at once.

        ``once`` is for calls that must not be repeated blindly (a scheduled post): a 429 is retried,
        since Slack did nothing, but a timeout, network error or 5xx raises ``SlackOutcomeUnknown``.
        ``within`` bounds the seconds spent waiting between attempts.
        """
        client = await self.client_for(team_id)
        return await self.with_retries(
            lambda: client.api_call(method, json=kwargs), method, once=once, within=within
        )

    async def with_retries(
        self,
        attempt: Callable[[], Awaitable[AsyncSlackResponse]],
        what: str,
        *,
        once: bool = False,
        within: float | None = None,
    ) -> AsyncSlackResponse:
        """Run ``attempt`` until it succeeds, a permanent error comes back, or attempts or time run out."""
        waited = 0.0
        for number in range(1, self._max_attempts + 1):
            last = number == self._max_attempts
            try:
                return await attempt()
            except SlackApiError as error:
                status = error.response.status_code
                code = str(error.response.get("error", ""))
                if once and status >= 500:
                    raise SlackOutcomeUnknown(f"Slack {what} answered HTTP {status}") from error
                wait = _retry_after(error.response) if status == 429 else _backoff(number)
                out_of_time = within is not None and waited + wait > within
                if code in PERMANENT_ERRORS or (status < 500 and status != 429) or last or out_of_time:
                    raise
            except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:
                reason = f"Slack {what} failed: {type(error).__name__}"
                if once:
                    raise SlackOutcomeUnknown(reason) from error
                wait = _backoff(number)
                if last or (within is not None and waited + wait > within):
                    raise SlackUnavailable(reason) from error
                code, status = type(error).__name__, 0
            log.warning("slack %s: %s (HTTP %s); retrying in %.1fs", what, code or "error", status, wait)
            waited += wait
            await self._sleep(wait)
        raise SlackUnavailable(f"Slack {what} failed")  # pragma: no cover - the loop always returns or raises

    async def identify_bot_workspace(self) -> tuple[str, str | None]:
        """``auth.test`` with the configured bot token: the (team id, team name) it belongs to."""
        if self._settings.slack_bot_token is None:
            raise SlackUnavailable("no SLACK_BOT_TOKEN to identify the workspace with")
        client = AsyncWebClient(
            token=self._settings.slack_bot_token.get_secret_value(),
            base_url=self._settings.slack_api_url,
            session=self.session,
        )
        response = await self.with_retries(client.auth_test, "auth.test")
        team_id = str(response.get("team_id") or "")
        if not team_id:
            raise SlackUnavailable("auth.test did not say which workspace the bot token belongs to")
        self._tokens[team_id] = self._settings.slack_bot_token.get_secret_value()
        return team_id, response.get("team")

    async def user(self, team_id: str, user_id: str) -> SlackUser | None:
        """``users.info``, cached for a minute (admin rights and time zones change rarely)."""
        key = (team_id, user_id)
        cached = self._users.get(key)
        now = time.monotonic()
        if cached is not None and now - cached[0] < USER_CACHE_SECONDS:
            return cached[1]
        try:
            response = await self.call(team_id, "users.info", user=user_id)
        except SlackApiError as error:
            if error.response.get("error") == "user_not_found":
                return None
            raise
        data = response.get("user") or {}
        profile = data.get("profile") or {}
        found = SlackUser(
            id=user_id,
            team_id=str(data.get("team_id") or team_id),
            name=str(data.get("real_name") or data.get("name") or user_id),
            tz=data.get("tz"),
            is_admin=bool(data.get("is_admin")),
            is_owner=bool(data.get("is_owner") or data.get("is_primary_owner")),
            email=profile.get("email"),
            deleted=bool(data.get("deleted")),
        )
        self._users[key] = (now, found)
        return found

    async def open_dm(self, team_id: str, user_id: str) -> str:
        """The id of the direct-message channel with ``user_id`` (``conversations.open``)."""
        response = await self.call(team_id, "conversations.open", users=user_id)
        channel = response.get("channel") or {}
        return str(channel.get("id"))

    async def upload_file(
        self,
        team_id: str,
        channel: str | None,
        *,
        filename: str,
        content: bytes | str,
        title: str,
        comment: str | None = None,
    ) -> AsyncSlackResponse:
        """Upload with files v2 (upload URL, bytes, complete), shared in ``channel`` when one is given."""
        client = await self.client_for(team_id)
        return await self.with_retries(
            lambda: client.files_upload_v2(
                channel=channel, filename=filename, content=content, title=title, initial_comment=comment
            ),
            "files.upload_v2",
        )

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def _retry_after(response: Any) -> float:
    headers = getattr(response, "headers", {}) or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        seconds = float(value) if value is not None else 1.0
    except ValueError:
        seconds = 1.0
    return max(seconds, 0.0) + random.uniform(0, 0.25)


def _backoff(attempt: int) -> float:
    return float(min(2 ** (attempt - 1), 15)) * random.uniform(0.5, 1.0)
