"""The App Home tab: a workspace at a glance, published when opened and re-published after each sync.

What it shows comes from :class:`~bot.services.home.HomeService` (the store only), drawn by
:func:`bot.messages.home.home_view`. Admins also get a "Connect" button per vendor, which opens
the same connect modal as ``/spend connect``; the click is checked again with the admin gate.

To keep an open Home current without polling, the people who opened it in the last day are remembered
per workspace (in memory, bounded) and their Home is re-published shortly after a sync of one of the
workspace's connections. A failure to publish is logged and never reaches the sync.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import OrderedDict
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.messages.forms import connect_modal, notice_view
from bot.messages.home import CONNECT_ACTION, CONNECT_VENDORS, home_view
from bot.services.connect import default_base_url
from bot.services.container import Services
from bot.services.errors import NotAllowed
from bot.services.home import HomeService
from bot.services.sync import SyncReport
from bot.slack.connections import payload_identity
from bot.store.models import Connection

log = logging.getLogger(__name__)

REMEMBER_SECONDS = 24 * 3600
MAX_REMEMBERED_PER_TEAM = 200
REFRESH_DELAY_SECONDS = 1.0
"""A sync of several connections ends in a burst: wait a moment so one publish covers them all."""

# ---------------------------------------------------------------------------------------------- the view


# ---------------------------------------------------------------------------------------------- publishing


class HomePublisher:
    """Publishes Homes, and re-publishes them after syncs for the people who opened them recently."""

    def __init__(
        self,
        services: Services,
        home: HomeService,
        *,
        remember_seconds: float = REMEMBER_SECONDS,
        max_per_team: int = MAX_REMEMBERED_PER_TEAM,
        refresh_delay: float = REFRESH_DELAY_SECONDS,
    ) -> None:
        self._services = services
        self._home = home
        self._remember = remember_seconds
        self._max_per_team = max_per_team
        self._delay = refresh_delay
        self._opened: dict[str, OrderedDict[str, float]] = {}
        self._pending: dict[str, asyncio.Task[None]] = {}

    def remember(self, team_id: str, user_id: str) -> None:
        """Note that ``user_id`` looked at their Home, so a sync refreshes it for a day."""
        users = self._opened.setdefault(team_id, OrderedDict())
        users.pop(user_id, None)
        users[user_id] = time.monotonic()
        while len(users) > self._max_per_team:
            users.popitem(last=False)

    def recent(self, team_id: str) -> list[str]:
        """Who opened their Home in ``team_id`` within the last day (forgetting the others)."""
        users = self._opened.get(team_id)
        if not users:
            return []
        cutoff = time.monotonic() - self._remember
        for user_id in [user for user, opened in users.items() if opened < cutoff]:
            del users[user_id]
        if not users:
            del self._opened[team_id]
            return []
        return list(users)

    async def publish(self, team_id: str, user_id: str) -> None:
        """Build and publish one person's Home; raises what Slack or the store raise."""
        model = await self._home.gather(team_id, user_id)
        await self._services.slack.call(team_id, "views.publish", user_id=user_id, view=home_view(model))

    async def publish_quietly(self, team_id: str, user_id: str) -> bool:
        try:
            await self.publish(team_id, user_id)
        except Exception:
            log.exception("could not publish the App Home of %s in %s", user_id, team_id)
            return False
        return True

    def on_sync(self, connection: Connection, _report: SyncReport) -> None:
        """A SyncService listener: schedule one refresh of the workspace's open Homes."""
        team_id = connection.team_id
        if not self.recent(team_id):
            return
        pending = self._pending.get(team_id)
        if pending is not None and not pending.done():
            return  # a refresh is already on its way and will read this sync's data
        self._pending[team_id] = asyncio.create_task(self._refresh(team_id), name=f"home-refresh-{team_id}")

    async def _refresh(self, team_id: str) -> None:
        await asyncio.sleep(self._delay)
        for user_id in self.recent(team_id):
            await self.publish_quietly(team_id, user_id)
        self._pending.pop(team_id, None)


# ---------------------------------------------------------------------------------------------- listeners


def _home_service(services: Services) -> HomeService:
    return HomeService(
        services.settings,
        services.store.subscriptions,
        services.store.deliveries,
        services.status_answers,
        services.people,
        services.access,
        services.idle_report,
        services.connections,
        services.store.limit_requests,
        clock=services.clock,
    )


def register(app: AsyncApp, services: Services) -> HomePublisher:
    """Publish the Home on ``app_home_opened``, refresh it after syncs, and handle its Connect buttons."""
    publisher = HomePublisher(services, _home_service(services))
    services.sync.add_listener(publisher.on_sync)

    @app.event("app_home_opened")
    async def on_home_opened(body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("tab") != "home":
            return  # the Messages tab: nothing to draw
        team_id = str(body.get("team_id") or event.get("view", {}).get("team_id") or "")
        user_id = str(event.get("user") or "")
        if not team_id or not user_id:
            return
        publisher.remember(team_id, user_id)
        await publisher.publish_quietly(team_id, user_id)

    vendors = "|".join(vendor for vendor, _ in CONNECT_VENDORS)

    @app.action(re.compile(rf"^{CONNECT_ACTION}_({vendors})$"))
    async def on_connect_clicked(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        team_id, user_id = payload_identity(body)
        trigger_id = str(body.get("trigger_id") or "")
        action = (body.get("actions") or [{}])[0]
        vendor = str(action.get("action_id") or "").removeprefix(f"{CONNECT_ACTION}_")
        try:
            await services.access.require_admin(team_id, user_id, "connect")
        except NotAllowed as error:
            await _open(client, trigger_id, notice_view("Not allowed", error.message))
            return
        name = await free_name(services, team_id, vendor)
        view = connect_modal(
            vendor,
            channel_id="",
            values={"name": name},
            default_base_url=default_base_url(vendor, services.settings),
        )
        await _open(client, trigger_id, view)

    return publisher


async def free_name(services: Services, team_id: str, vendor: str) -> str:
    """The vendor's name, or ``vendor-2``, ``-3``… when the workspace already uses it."""
    taken = {row.name for row in await services.connections.for_team(team_id)}
    if vendor not in taken:
        return vendor
    number = 2
    while f"{vendor}-{number}" in taken:
        number += 1
    return f"{vendor}-{number}"


async def _open(client: AsyncWebClient, trigger_id: str, view: dict[str, Any]) -> None:
    try:
        await client.views_open(trigger_id=trigger_id, view=view)
    except Exception:
        log.exception("could not open a view from the App Home")
