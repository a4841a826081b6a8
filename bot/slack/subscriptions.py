"""Subscriptions in Slack: subscribe, unsubscribe, list, snooze, ``digest now``, ``test``, ``deliveries``,
and the "Snooze 24h" / "Mute until resolved" buttons of alert messages (admin only, checked on click)."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.domain.commands import (
    Deliveries,
    DigestNow,
    SendTest,
    Snooze,
    SubscribeBudget,
    SubscribeCreditLow,
    SubscribeDigest,
    SubscribeHealth,
    SubscribeRateLimit,
    SubscribeRequests,
    SubscribeSpike,
    Subscriptions,
    Unsubscribe,
)
from bot.messages.alerts import MUTE_ACTION, SNOOZE_ACTION
from bot.messages.message import Message
from bot.messages.subscriptions import (
    deliveries_message,
    digest_posted_message,
    digest_when,
    muted_message,
    samples_posted_message,
    snoozed_message,
    subscribed_message,
    subscriptions_message,
    unsubscribed_message,
)
from bot.services.container import Services
from bot.services.errors import NotAllowed, ServiceError
from bot.services.subscriptions import describe, schedule_of
from bot.slack.router import Invocation, Router

log = logging.getLogger(__name__)


async def subscribe(invocation: Invocation, command: Any) -> Message:
    services = invocation.services
    row = await services.subscriptions.subscribe(
        invocation.team_id,
        invocation.channel_id,
        invocation.user_id,
        command,
        channel_name=invocation.channel_name,
    )
    tz = services.settings.timezone
    first = None if row.next_due_at is None else digest_when(row.next_due_at, schedule_of(row, tz).tz)
    return subscribed_message(row.id, describe(row, tz), first=first, command=invocation.command)


async def unsubscribe(invocation: Invocation, command: Unsubscribe) -> Message:
    services = invocation.services
    rows = await services.subscriptions.unsubscribe(
        invocation.team_id, invocation.channel_id, invocation.user_id, command.target
    )
    return unsubscribed_message([(row.id, describe(row, services.settings.timezone)) for row in rows])


async def list_subscriptions(invocation: Invocation, command: Subscriptions) -> Message:
    services = invocation.services
    channel = None if command.all else invocation.channel_id
    lines = await services.subscriptions.lines(invocation.team_id, channel)
    return subscriptions_message(
        lines, every_channel=command.all, now=services.clock(), command=invocation.command
    )


async def snooze_subscription(invocation: Invocation, command: Snooze) -> Message:
    row, muted = await invocation.services.subscriptions.snooze(
        invocation.team_id,
        invocation.user_id,
        command.subscription_id,
        command.duration,
        command.until_resolved,
    )
    if command.until_resolved:
        return muted_message(row.id, muted, command=invocation.command)
    return snoozed_message(row.id, until=row.snoozed_until)


async def digest_now(invocation: Invocation, command: DigestNow) -> Message:
    token = invocation.trigger_id or secrets.token_hex(6)
    result = await invocation.services.publisher.digest_now(invocation.team_id, invocation.channel_id, token)
    if not result.ok:
        raise ServiceError(f"The digest could not be posted here: `{result.error}`.")
    return digest_posted_message()


async def send_test(invocation: Invocation, command: SendTest) -> Message:
    token = invocation.trigger_id or secrets.token_hex(6)
    run = await invocation.services.publisher.send_tests(invocation.team_id, invocation.channel_id, token)
    return samples_posted_message(run.posted, run.failed, command=invocation.command)


async def list_deliveries(invocation: Invocation, command: Deliveries) -> Message:
    return deliveries_message(await invocation.services.ledger.lines(invocation.team_id, limit=20))


def register_routes(router: Router) -> None:
    """Route the subscription commands and the admin commands about what gets posted."""
    kinds = (
        SubscribeDigest,
        SubscribeCreditLow,
        SubscribeBudget,
        SubscribeRateLimit,
        SubscribeHealth,
        SubscribeSpike,
        SubscribeRequests,
    )
    for kind in kinds:
        router.deferred(kind, subscribe)
    router.deferred(Unsubscribe, unsubscribe)
    router.deferred(Subscriptions, list_subscriptions)
    router.deferred(Snooze, snooze_subscription)
    router.deferred(DigestNow, digest_now)
    router.deferred(SendTest, send_test)
    router.deferred(Deliveries, list_deliveries)


def register(app: AsyncApp, services: Services) -> None:
    """The buttons of alert messages."""

    async def change(body: dict[str, Any], respond: AsyncRespond, what: str) -> None:
        team_id = str((body.get("team") or {}).get("id") or "")
        user_id = str((body.get("user") or {}).get("id") or "")
        value = str((body.get("actions") or [{}])[0].get("value") or "")
        try:
            await services.access.require_admin(team_id, user_id, what)
            if not (value.isascii() and value.isdigit() and len(value) <= 10):  # an alert id, not 200 kB
                raise ServiceError("This button is not valid any more.")
            if what == "snooze an alert":
                done = await services.alerts.snooze_state(team_id, user_id, int(value))
            else:
                done = await services.alerts.mute_state(team_id, user_id, int(value))
            await services.audit.record(team_id, user_id, what, f"alert {value}", "ok", done)
        except NotAllowed as error:
            await respond(response_type="ephemeral", replace_original=False, text=error.message)
            return
        except ServiceError as error:
            await respond(response_type="ephemeral", replace_original=False, text=error.message)
            return
        await respond(
            response_type="ephemeral", replace_original=False, text=f"Alert {done} by <@{user_id}>."
        )

    @app.action(SNOOZE_ACTION)
    async def on_snooze(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await change(body, respond, "snooze an alert")

    @app.action(MUTE_ACTION)
    async def on_mute(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await change(body, respond, "mute an alert")
