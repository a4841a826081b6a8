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
    Subscriptions,
    Unsubscribe,
)
from bot.messages.alerts import MUTE_ACTION, SNOOZE_ACTION
from bot.messages.blocks import context, header, lines_sections, message, section, utc_when
from bot.messages.message import Message
from bot.messages.mrkdwn import escape
from bot.messages.replies import delivery_line
from bot.services.container import Services
from bot.services.errors import NotAllowed, ServiceError
from bot.services.subscriptions import describe, schedule_of
from bot.slack.router import Invocation, Router
from bot.store.models import Subscription

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
    what = describe(row, services.settings.timezone)
    text = f":white_check_mark: Subscribed this channel: *#{row.id}* {escape(what)}."
    if row.next_due_at is not None:
        text += f"\nFirst digest: {_local_when(row, services.settings.timezone)}."
    return message(text, [section(text), context(f"`{invocation.command} unsubscribe {row.id}` removes it.")])


def _local_when(row: Subscription, default_tz: str) -> str:
    """``Mon Nov 23 08:30 Europe/Paris (Nov 23 07:30 UTC)``: a digest's next time, as its channel reads it."""
    assert row.next_due_at is not None
    zone = schedule_of(row, default_tz).tz
    local = row.next_due_at.astimezone(zone)
    when = f"{local:%a %b} {local.day} {local:%H:%M} {zone.key}"
    return when if zone.key == "UTC" else f"{when} ({utc_when(local)})"


async def unsubscribe(invocation: Invocation, command: Unsubscribe) -> Message:
    services = invocation.services
    rows = await services.subscriptions.unsubscribe(
        invocation.team_id, invocation.channel_id, invocation.user_id, command.target
    )
    gone = ", ".join(f"#{row.id} {describe(row, services.settings.timezone)}" for row in rows)
    text = f"Removed {escape(gone)}."
    return message(text, [section(text)])


async def list_subscriptions(invocation: Invocation, command: Subscriptions) -> Message:
    services = invocation.services
    channel = None if command.all else invocation.channel_id
    rows = await services.subscriptions.listing(invocation.team_id, channel)
    title = "Subscriptions in every channel" if command.all else "Subscriptions in this channel"
    if not rows:
        hint = f"`{invocation.command} help subscribe` shows how to add one."
        return message(f"{title}: none", [header(title), section(f"None yet. {hint}")])
    lines = []
    for row in rows:
        line = f"*#{row.id}* {escape(describe(row, services.settings.timezone))}"
        if command.all:
            line += f" · <#{row.channel_id}>"
        if row.next_due_at is not None and row.paused_reason is None:
            line += f" · next {utc_when(row.next_due_at)}"
        if row.snoozed_until is not None and row.snoozed_until > services.clock():
            line += f" · snoozed until {utc_when(row.snoozed_until)}"
        if row.paused_reason:
            line += f"\n   :double_vertical_bar: paused: {escape(row.paused_reason)}"
            line += " — fix it, then subscribe again to resume"
        lines.append(line)
    return message(f"{title}: {len(rows)}", [header(title), *lines_sections(lines, max_lines=40)])


async def snooze_subscription(invocation: Invocation, command: Snooze) -> Message:
    row = await invocation.services.subscriptions.snooze(
        invocation.team_id,
        invocation.user_id,
        command.subscription_id,
        command.duration,
        command.until_resolved,
    )
    if command.until_resolved:
        text = f"Subscription #{row.id}: its firing alerts are muted until they resolve"
        text += " (the recovery is still posted)."
    else:
        assert row.snoozed_until is not None
        text = f"Subscription #{row.id} snoozed until {utc_when(row.snoozed_until)} (recoveries still post)."
    return message(text, [section(text)])


async def digest_now(invocation: Invocation, command: DigestNow) -> Message:
    token = invocation.trigger_id or secrets.token_hex(6)
    result = await invocation.services.publisher.digest_now(invocation.team_id, invocation.channel_id, token)
    if not result.ok:
        raise ServiceError(f"The digest could not be posted here: `{result.error}`.")
    return message(
        "Posted today's digest in this channel.", [section("Posted today's digest in this channel.")]
    )


async def send_test(invocation: Invocation, command: SendTest) -> Message:
    token = invocation.trigger_id or secrets.token_hex(6)
    run = await invocation.services.publisher.send_tests(invocation.team_id, invocation.channel_id, token)
    if not run.posted and not run.failed:
        text = f"This channel has no subscription to test. `{invocation.command} help subscribe` shows how."
    else:
        plural = "s" if len(run.posted) != 1 else ""
        text = f"Posted {len(run.posted)} test message{plural} here, one per kind subscribed"
        text += f" ({', '.join(run.posted)}), each marked [TEST]." if run.posted else "."
        for kind, error in run.failed:
            text += f"\nThe `{kind}` sample could not be posted: `{escape(error)}`."
    return message(text, [section(text)])


async def list_deliveries(invocation: Invocation, command: Deliveries) -> Message:
    rows = await invocation.services.ledger.recent(invocation.team_id, limit=20)
    if not rows:
        return message("No scheduled posts yet.", [header("Deliveries"), section("No scheduled posts yet.")])
    lines = [
        delivery_line(
            utc_when(row.created_at),
            row.kind,
            row.period,
            row.channel_id,
            row.state,
            late=row.late,
            error=row.error,
        )
        for row in rows
    ]
    return message(
        f"Last {len(rows)} deliveries", [header("Last deliveries"), *lines_sections(lines, max_lines=20)]
    )


def register_routes(router: Router) -> None:
    """Route the subscription commands and the admin commands about what gets posted."""
    for kind in (SubscribeDigest, SubscribeCreditLow, SubscribeBudget, SubscribeRateLimit, SubscribeHealth):
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
