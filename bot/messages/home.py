"""The App Home view: what one person's Home shows, as view models, and the one function that draws it.

:class:`~bot.services.home.HomeService` gathers a :class:`HomeModel` from the store; :func:`home_view`
turns it into the view Slack publishes, within the 100-block limit of a view. The admin controls go
last and survive any cut, so a crowded workspace never loses its Connect buttons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.vendors import TRAITS, display_name
from bot.messages.answers import CreditView, StatusAnswer
from bot.messages.blocks import (
    MAX_VIEW_BLOCKS,
    actions,
    amount,
    button,
    context,
    divider,
    fields,
    fit,
    header,
    lines_sections,
    local_time,
    section,
)
from bot.messages.message import Block
from bot.messages.mrkdwn import escape
from bot.messages.replies import credit_lines, delivery_line, status_card
from bot.messages.subscriptions import DeliveryLine, SubscriptionLine

CONNECT_ACTION = "spendbot_home_connect"
"""Prefix of the Connect buttons' action ids: ``spendbot_home_connect_cursor`` and so on."""
CONNECT_VENDORS = tuple((vendor.value, entry.connect_button) for vendor, entry in TRAITS.items())
SUBSCRIBE_EXAMPLES = (
    "subscribe digest daily at 09:00",
    "subscribe credit-low",
    "subscribe budget 5000 cursor",
    "subscribe rate-limit",
    "subscribe health",
    "subscribe spike",
    "subscribe requests",
)


# ---------------------------------------------------------------------------------------------- view models


@dataclass(frozen=True)
class ToolSpend:
    """This billing cycle's spend of one tool (vendor), summed over its connections, in its unit."""

    vendor: str
    unit: str
    amount: Decimal
    connections: tuple[str, ...]


@dataclass(frozen=True)
class AlertLine:
    subscription_id: int
    channel_id: str | None
    kind: str
    metric: str
    threshold: str
    summary: str | None
    fired_at: datetime | None
    snoozed_until: datetime | None = None
    muted: bool = False


@dataclass(frozen=True)
class HomeModel:
    """Everything one person's App Home shows; rendered by :func:`home_view`."""

    team_id: str
    user_id: str
    is_admin: bool
    tz: ZoneInfo
    now: datetime
    command: str
    status: StatusAnswer
    spend: tuple[ToolSpend, ...]
    credits: tuple[CreditView, ...]
    subscriptions: tuple[SubscriptionLine, ...] = field(default_factory=tuple)
    deliveries: tuple[DeliveryLine, ...] = field(default_factory=tuple)
    alerts: tuple[AlertLine, ...] = field(default_factory=tuple)
    idle: str | None = None
    """The seats unused for 30 days and what they cost (``IdleReport.summary``), None when none are."""
    pending_requests: int = 0
    """Limit requests waiting for an admin's decision (shown to admins)."""


# ---------------------------------------------------------------------------------------------- the view


def home_view(model: HomeModel) -> dict[str, Any]:
    """One person's Home: connections, spend this cycle, credits, subscriptions, deliveries, alerts."""
    tz = model.tz
    zone = getattr(tz, "key", str(tz))
    blocks: list[Block] = [
        header("spendbot"),
        context(
            f"Updated {local_time(model.now, tz, model.now)} · times in {zone} · "
            f"`{model.command} help` lists every command"
        ),
    ]
    blocks += _connections(model)
    blocks += _spend(model)
    blocks += _credits(model)
    blocks += _insights(model)
    blocks += _subscriptions(model)
    blocks += _deliveries(model)
    blocks += _alerts(model)
    admin = _admin(model) if model.is_admin else [divider(), context("Workspace admins connect tools here.")]
    # The admin controls go last but must survive the block limit: cut the middle, never them.
    return {"type": "home", "blocks": fit(blocks, MAX_VIEW_BLOCKS, tail=admin)}


def _connections(model: HomeModel) -> list[Block]:
    blocks: list[Block] = [header("Connections")]
    if not model.status.cards:
        hint = (
            "Connect one below." if model.is_admin else "An admin can connect Cursor, Windsurf or a REST API."
        )
        blocks.append(section(f"No connections yet. {hint}"))
        return blocks
    for card in model.status.cards:
        blocks += status_card(card, model.tz)
    return blocks


def _spend(model: HomeModel) -> list[Block]:
    blocks: list[Block] = [header("Spend this cycle")]
    if not model.spend:
        blocks.append(context("No spend recorded yet: it appears after the first sync."))
        return blocks
    pairs = []
    for tool in model.spend:
        names = ", ".join(f"`{name}`" for name in tool.connections)
        pairs.append((display_name(tool.vendor), f"{amount(tool.amount, tool.unit)}\n{names}"))
    blocks += fields(pairs)
    blocks.append(context("Each connection's own billing cycle."))
    return blocks


def _credits(model: HomeModel) -> list[Block]:
    blocks: list[Block] = [header("Credits")]
    if not model.credits:
        blocks.append(context("No credit pools yet (Windsurf reports its pools; Cursor has spend limits)."))
        return blocks
    for view in model.credits:
        title = display_name(view.vendor) if view.connection == view.vendor else f"`{view.connection}`"
        blocks.append(section(f"*{title}*\n" + "\n".join(credit_lines(view, model.tz))))
    return blocks


def _insights(model: HomeModel) -> list[Block]:
    """What to act on: idle seats, and for admins the limit requests waiting for them."""
    lines = []
    if model.idle:
        lines.append(f"*Idle seats:* {model.idle}. `{model.command} idle` lists them.")
    if model.is_admin and model.pending_requests:
        count = model.pending_requests
        waiting = f"{count:,} limit {'request waits' if count == 1 else 'requests wait'} for a decision"
        lines.append(f"*Limit requests:* {waiting} in the channel that takes requests.")
    return [header("Insights"), section("\n".join(lines))] if lines else []


def describe_subscription(line: SubscriptionLine) -> str:
    """``<#C1> · #4 digest daily at 09:00 Europe/Paris``, with its state when paused, snoozed or muted."""
    text = f"<#{line.channel_id}> · #{line.id} {escape(line.summary)}"
    if line.paused_reason:
        text += f" · :double_vertical_bar: paused: {escape(line.paused_reason)}"
    if line.muted:
        text += " · muted until resolved"
    elif line.snoozed_until is not None:
        text += " · snoozed"
    return text


def _subscriptions(model: HomeModel) -> list[Block]:
    blocks: list[Block] = [header("Subscriptions")]
    if not model.subscriptions:
        blocks.append(context("No channel subscribes to anything yet."))
        return blocks
    lines = [describe_subscription(line) for line in model.subscriptions]
    return blocks + lines_sections(lines, max_lines=25)


def describe_delivery(line: DeliveryLine, model: HomeModel) -> str:
    when = local_time(line.at, model.tz, model.now)
    return delivery_line(
        when,
        line.kind,
        line.period,
        line.channel_id,
        line.state,
        late=line.late,
        error=line.error,
        next_try=None if line.retry_at is None else local_time(line.retry_at, model.tz, model.now),
    )


def _deliveries(model: HomeModel) -> list[Block]:
    blocks: list[Block] = [header("Last deliveries")]
    if not model.deliveries:
        blocks.append(context("Nothing posted on schedule yet."))
        return blocks
    return blocks + lines_sections([describe_delivery(line, model) for line in model.deliveries])


def describe_alert(line: AlertLine, model: HomeModel) -> str:
    where = f"<#{line.channel_id}>" if line.channel_id else "no channel"
    what = escape(line.summary) if line.summary else f"{escape(line.metric)} ({escape(line.threshold)})"
    text = f":rotating_light: *{escape(line.kind)}* · {where} · {what}"
    if line.fired_at is not None:
        text += f" · since {local_time(line.fired_at, model.tz, model.now)}"
    if line.muted:
        text += " · muted until resolved"
    elif line.snoozed_until is not None and line.snoozed_until > model.now:
        text += f" · snoozed until {local_time(line.snoozed_until, model.tz, model.now)}"
    return text


def _alerts(model: HomeModel) -> list[Block]:
    blocks: list[Block] = [header("Open alerts")]
    if not model.alerts:
        blocks.append(context(":white_check_mark: No alert is firing."))
        return blocks
    return blocks + lines_sections([describe_alert(line, model) for line in model.alerts])


def _admin(model: HomeModel) -> list[Block]:
    commands = "\n".join(f"`{model.command} {example}`" for example in SUBSCRIBE_EXAMPLES)
    return [
        divider(),
        header("Admin"),
        section(
            "*Connect a tool.* The key is tried with one live call before anything is saved, then stored "
            "encrypted; nobody sees it again."
        ),
        actions(
            *(
                button(label, f"{CONNECT_ACTION}_{vendor}", vendor, style="primary" if index == 0 else None)
                for index, (vendor, label) in enumerate(CONNECT_VENDORS)
            ),
            block_id="spendbot_home_connect",
        ),
        section(f"*Subscribe a channel:* type one of these in that channel.\n{commands}"),
    ]
