"""Wiring only: build the Bolt ``AsyncApp`` from the settings and register the Slack listeners."""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.grammar import COMMANDS
from bot.services.container import Services
from bot.settings import Settings
from bot.slack import connections as connection_listeners
from bot.slack import events as workspace_events
from bot.slack import help as help_listeners
from bot.slack import home as home_listeners
from bot.slack import limit_requests as limit_request_listeners
from bot.slack import read_commands, write_commands
from bot.slack import subscriptions as subscription_listeners
from bot.slack.gate import WorkspaceGate
from bot.slack.router import Invocation, Router

log = logging.getLogger(__name__)

BOT_SCOPES = (
    "commands",
    "chat:write",
    "files:write",
    "im:write",
    "users:read",
    "users:read.email",
    "channels:read",
    "groups:read",
    "channels:history",
    "groups:history",
)
"""The bot scopes of manifest.yml, asked for by the OAuth install."""
OAUTH_STATE_SECONDS = 600
NOT_ROUTED: frozenset[str] = frozenset()
"""Sub-commands of the grammar this build knowingly does not answer yet (``help`` leaves them out)."""


def create_app(
    settings: Settings, *, services: Services | None = None, process_before_response: bool = False
) -> AsyncApp:
    """Build the Bolt app whose Web API client uses ``SLACK_API_URL``; no network I/O happens here.

    ``process_before_response`` makes each dispatch return only once its listener has finished (the
    console waits for whole answers that way); Slack itself needs the acknowledgement first.
    """
    services = services or Services.create(settings)
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    signing_secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    options: dict[str, Any] = {
        "name": "spendbot",
        "token": token,
        "signing_secret": signing_secret,
        "logger": logging.getLogger("spendbot.bolt"),
        "process_before_response": process_before_response,
        # HTTP requests are verified at the edge (bot.slack.edge) before Bolt parses them; Bolt's own
        # check would run after its parsing and log every refused body whole.
        "request_verification_enabled": False,
    }
    # --- OAuth (multi-workspace): installations and states live in our database, scoped by team id
    if settings.oauth_enabled:
        assert settings.slack_client_id is not None and settings.slack_client_secret is not None
        installation_store = AsyncSQLAlchemyInstallationStore(
            settings.slack_client_id, engine=services.db.engine
        )
        options["token"] = None  # each workspace's own token comes from the installation store
        options["oauth_settings"] = AsyncOAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret.get_secret_value(),
            scopes=list(BOT_SCOPES),
            installation_store=installation_store,
            state_store=AsyncSQLAlchemyOAuthStateStore(
                expiration_seconds=OAUTH_STATE_SECONDS, engine=services.db.engine
            ),
            install_path="/slack/install",
            redirect_uri_path="/slack/oauth_redirect",
            callback_options=workspace_events.install_callbacks(services),
        )
        services.slack.set_installation_store(installation_store)
    # --- end OAuth
    app = AsyncApp(**options)
    app.use(WorkspaceGate(services).middleware)  # ids by shape, and only the bot token's workspace
    # Bolt copies base_url and retry handlers from this client into the client of every request.
    app.client.base_url = settings.slack_api_url
    app.client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    register_listeners(app, services, build_router())
    return app


def build_router() -> Router:
    """The routes of every sub-command; refuses to build if the grammar has one nobody answers.

    Each capability adds its listener module here; one left out stops every app from being created
    (naming the sub-commands), rather than answering "not available" in Slack.
    """
    router = Router()
    help_listeners.register_routes(router)
    read_commands.register_routes(router)
    connection_listeners.register_routes(router)
    subscription_listeners.register_routes(router)
    write_commands.register_routes(router)
    limit_request_listeners.register_routes(router)
    router.check_covers(COMMANDS, absent=NOT_ROUTED)
    return router


def register_listeners(app: AsyncApp, services: Services, router: Router) -> None:
    """Attach every listener: the slash command (dispatched by ``router``), buttons, views, events."""
    command = services.settings.command
    metrics = services.metrics

    @app.command(command)
    async def on_command(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        started = time.perf_counter()
        invocation = Invocation(
            services=services,
            client=client,
            respond=respond,
            command=command,
            text=str(body.get("text") or ""),
            team_id=str(body.get("team_id") or ""),
            user_id=str(body.get("user_id") or ""),
            channel_id=str(body.get("channel_id") or ""),
            trigger_id=body.get("trigger_id"),
            channel_name=body.get("channel_name"),
        )
        name, outcome = await router.dispatch(invocation, ack)
        metrics.commands.labels(name=name, outcome=outcome).inc()
        log.debug("command %s answered in %.1f ms: %s", name, (time.perf_counter() - started) * 1000, outcome)

    connection_listeners.register(app, services)
    workspace_events.register(app, services)
    read_commands.register(app, services, router)
    write_commands.register(app, services)
    limit_request_listeners.register(app, services)
    subscription_listeners.register(app, services)
    home_listeners.register(app, services)  # App Home (issue 7)
