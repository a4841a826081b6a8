"""A workspace's life: recorded when it installs the app (OAuth), forgotten when it uninstalls it.

``app_uninstalled`` and ``tokens_revoked`` (of the bot token) delete that workspace's installation,
its connections with their keys and history, and its subscriptions; the audit log keeps a line saying
so. This holds in single-workspace mode too: the bot-token workspace loses its keys and subscriptions.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions, AsyncFailureArgs, AsyncSuccessArgs
from slack_bolt.response import BoltResponse

from bot.services.container import Services

log = logging.getLogger(__name__)

_ERROR_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
"""Slack's error codes (``access_denied``, ``invalid_state``...): lower-case words joined by ``_``."""


def register(app: AsyncApp, services: Services) -> None:
    """Attach the uninstall listeners."""

    @app.event("app_uninstalled")
    async def on_app_uninstalled(body: dict[str, Any]) -> None:
        await forget_workspace(app, services, body, "app_uninstalled")

    @app.event("tokens_revoked")
    async def on_tokens_revoked(body: dict[str, Any], event: dict[str, Any]) -> None:
        tokens = event.get("tokens")
        revoked_bot = isinstance(tokens, Mapping) and bool(tokens.get("bot"))
        if not revoked_bot:
            # Only user tokens went; spendbot holds none, and the bot still serves the workspace.
            log.info("user tokens revoked in %s; nothing to forget", body.get("team_id"))
            return
        await forget_workspace(app, services, body, "tokens_revoked")


async def forget_workspace(app: AsyncApp, services: Services, body: Mapping[str, Any], reason: str) -> None:
    """Delete everything of the workspace an event came from: installation, keys, subscriptions."""
    team_id = body.get("team_id")
    if not isinstance(team_id, str) or not team_id:
        log.warning("%s without a team id; ignored", reason)
        return
    enterprise_id = body.get("enterprise_id")
    store = app.installation_store
    if store is not None:
        await store.async_delete_all(
            enterprise_id=enterprise_id if isinstance(enterprise_id, str) else None, team_id=team_id
        )
    await services.connections.delete_team(team_id)
    services.slack.forget_team(team_id)
    await services.audit.record(
        team_id, None, reason, team_id, "ok", "installation, keys and subscriptions deleted"
    )
    log.info("%s: forgot workspace %s (installation, keys, subscriptions)", reason, team_id)


def install_callbacks(services: Services) -> AsyncCallbackOptions:
    """OAuth callbacks: on success, record the workspace (origin "oauth"), then Bolt's usual page."""

    async def success(args: AsyncSuccessArgs) -> BoltResponse:
        installation = args.installation
        team_id = installation.team_id
        if team_id:
            await services.connections.ensure_workspace(team_id, name=installation.team_name, origin="oauth")
            services.slack.forget_team(team_id)  # a reinstall brings a new token: drop the cached one
            await services.audit.record(team_id, installation.user_id, "install", team_id, "ok", None)
            log.info("installed in workspace %s", team_id)
        response: BoltResponse = await args.default.success(args)
        return response

    async def failure(args: AsyncFailureArgs) -> BoltResponse:
        # The reason may be the ``error`` parameter of /slack/oauth_redirect, which anyone can open:
        # only a code shaped like Slack's is logged and shown back on the page.
        if not _ERROR_CODE.fullmatch(args.reason or ""):
            log.warning(
                "an OAuth install failed: a reason not shaped like Slack's (%d chars)", len(args.reason)
            )
            args.reason = "invalid_request"
        else:
            log.warning("an OAuth install failed: %s", args.reason)
        response: BoltResponse = await args.default.failure(args)
        return response

    return AsyncCallbackOptions(success=success, failure=failure)
