"""The one choke point for the Slack Web API calls that services make (not Bolt's own replies).

It picks the workspace's bot token (the configured one, or the OAuth installation's), caches
``users.info`` briefly, and sends every method through slack_sdk's own wrapper for it: each wrapper
sends its method the way Slack takes it (``users.info``, ``conversations.info`` and
``conversations.history`` accept only form or query arguments; a JSON body is silently ignored and
Slack answers ``user_not_found`` / ``channel_not_found``).

Retries are slack_sdk's retry handlers, under one of two policies:

- **retryable** (reads, views, ephemeral answers, edits, files): all of slack_sdk's handlers, so a
  dropped connection, a 429 (after ``Retry-After``) and a 500/503 are tried again;
- **once** (a post that must not be repeated blindly): only the rate-limit handler, since on a 429
  Slack did nothing. A dropped connection, a timeout or a 5xx may have posted: it raises
  :class:`SlackOutcomeUnknown` and the delivery ledger settles it from the channel's history.

Permanent errors such as ``channel_not_found`` are never retried.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.domain.errors import SpendbotError
from bot.settings import Settings

log = logging.getLogger(__name__)

USER_CACHE_SECONDS = 60.0
RATE_LIMIT_RETRIES = 3
"""429s waited out per call (each after its ``Retry-After``)."""
TRANSIENT_RETRIES = 2
"""Dropped connections and 500/503s tried again per retryable call."""
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
        "invalid_metadata_format",
        "invalid_metadata_schema",
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


class SlackUnavailable(SpendbotError):
    """Slack could not be reached, or kept throttling us, after the retries."""


class SlackOutcomeUnknown(SlackUnavailable):
    """A call that must not be repeated blindly (a post) timed out or met a 5xx: it may have happened."""


def is_direct_conversation(channel_id: str, channel_name: str | None = None) -> bool:
    """A direct message or a group DM, as far as its id and the name Slack gave it tell.

    DM ids start with ``D``; a slash command names a DM ``directmessage`` and a group DM ``mpdm-…``.
    ``conversations.info`` says it too (``is_im`` / ``is_mpim``) when the bot may read it.
    """
    name = channel_name or ""
    return channel_id.startswith("D") or name == "directmessage" or name.startswith("mpdm-")


class _BudgetedRateLimitHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 handler (it sleeps ``Retry-After``), giving up when the waits would pass ``budget``."""

    def __init__(self, max_retry_count: int, budget: float | None) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._budget = budget

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not await super()._can_retry_async(state=state, request=request, response=response, error=error):
            return False
        if self._budget is None or response is None:
            return True
        values = state.custom_values if state.custom_values is not None else {}
        state.custom_values = values
        wait = retry_after(response.headers)
        if float(values.get("waited", 0.0)) + wait > self._budget:
            return False
        values["waited"] = float(values.get("waited", 0.0)) + wait
        return True


def retry_handlers(*, once: bool, within: float | None = None) -> list[AsyncRetryHandler]:
    """The two policies (see the module docstring); ``within`` bounds the seconds spent on 429s."""
    rate_limit = _BudgetedRateLimitHandler(RATE_LIMIT_RETRIES, within)
    if once:
        return [rate_limit]
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=TRANSIENT_RETRIES),
        rate_limit,
        AsyncServerErrorRetryHandler(max_retry_count=TRANSIENT_RETRIES),
    ]


class SlackApi:
    """Web API access for services; one instance per process."""

    def __init__(
        self, settings: Settings, *, installation_store: AsyncInstallationStore | None = None
    ) -> None:
        self._settings = settings
        self._installation_store = installation_store
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

    async def client_for(
        self, team_id: str, *, once: bool = False, within: float | None = None
    ) -> AsyncWebClient:
        """A client on the shared session with the workspace's token and the retry policy asked for."""
        token = await self.token_for(team_id)
        if token is None:
            raise SlackUnavailable(f"no bot token for workspace {team_id}")
        return self._client(token, once=once, within=within)

    def _client(self, token: str, *, once: bool, within: float | None) -> AsyncWebClient:
        return AsyncWebClient(
            token=token,
            base_url=self._settings.slack_api_url,
            session=self.session,
            retry_handlers=retry_handlers(once=once, within=within),
        )

    async def call(
        self, team_id: str, method: str, *, once: bool = False, within: float | None = None, **kwargs: Any
    ) -> AsyncSlackResponse:
        """Call a Web API method through slack_sdk's wrapper for it (``chat.postMessage`` →
        ``chat_postMessage``); permanent errors raise ``SlackApiError`` at once.

        ``once`` is for calls that must not be repeated blindly (a scheduled post): a 429 is retried,
        since Slack did nothing, but a timeout, network error or 5xx raises ``SlackOutcomeUnknown``.
        ``within`` bounds the seconds spent waiting out 429s.
        """
        client = await self.client_for(team_id, once=once, within=within)
        wrapper = getattr(client, method.replace(".", "_"), None)
        if wrapper is None:
            raise ValueError(f"slack_sdk has no method wrapper for {method}")
        return await self.run(lambda: wrapper(**kwargs), method, once=once)

    async def run(
        self, attempt: Callable[[], Awaitable[AsyncSlackResponse]], what: str, *, once: bool = False
    ) -> AsyncSlackResponse:
        """Run one call (its retries are the client's handlers) and say plainly how it ended."""
        try:
            return await attempt()
        except SlackApiError as error:
            status = error.response.status_code
            if status >= 500:
                reason = f"Slack {what} answered HTTP {status}"
                raise (SlackOutcomeUnknown if once else SlackUnavailable)(reason) from error
            log.warning("slack %s: %s (HTTP %s)", what, error_code(error) or "error", status)
            raise
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:
            reason = f"Slack {what} failed: {type(error).__name__}"
            raise (SlackOutcomeUnknown if once else SlackUnavailable)(reason) from error

    async def identify_bot_workspace(self) -> tuple[str, str | None]:
        """``auth.test`` with the configured bot token: the (team id, team name) it belongs to."""
        if self._settings.slack_bot_token is None:
            raise SlackUnavailable("no SLACK_BOT_TOKEN to identify the workspace with")
        token = self._settings.slack_bot_token.get_secret_value()
        client = self._client(token, once=False, within=None)
        response = await self.run(client.auth_test, "auth.test")
        team_id = str(response.get("team_id") or "")
        if not team_id:
            raise SlackUnavailable("auth.test did not say which workspace the bot token belongs to")
        self._tokens[team_id] = token
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
            if error_code(error) == "user_not_found":
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
        return await self.run(
            lambda: client.files_upload_v2(
                channel=channel, filename=filename, content=content, title=title, initial_comment=comment
            ),
            "files.upload_v2",
        )

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def error_code(error: SlackApiError) -> str:
    """Slack's ``error`` code of a refused call ("" when the answer was no JSON, as from a proxy's 5xx)."""
    data = error.response.data
    return str(data.get("error") or "") if isinstance(data, dict) else ""


def retry_after(headers: Mapping[str, Any]) -> float:
    """Seconds of a ``Retry-After`` header (1 when it is missing or unreadable, as slack_sdk assumes)."""
    value = next((value for key, value in headers.items() if key.lower() == "retry-after"), None)
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(float(value), 0.0) if value is not None else 1.0
    except ValueError:
        return 1.0
