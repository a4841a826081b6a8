"""Alert messages: the alerts due together in one channel, the reply when one resolves, the open ones.

Several alerts share one message, and each one resolves in place within it, so every alert's blocks
carry a ``block_id`` naming its place and its alert state: ``mark_resolved`` finds them again in the
stored message to rewrite one alert and keep the others. The ids are part of what Slack stores, so
their scheme (and the buttons' action ids the Slack listeners answer) is defined here, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.messages.blocks import (
    MAX_TEXT,
    actions,
    button,
    clip,
    context,
    fit_groups,
    header,
    section,
    utc_when,
)
from bot.messages.message import Block, Message

SNOOZE_ACTION = "alert_snooze"
MUTE_ACTION = "alert_mute"
ALERT_BLOCK = "alert"
ALERT_ACTIONS_BLOCK = "alert-actions"


def alert_block_id(kind: str, place: int, state_id: int | None) -> str:
    """``alert-<place>-<state>``: unique in its message by the alert's place (Slack refuses a repeated
    ``block_id``, and samples share state 0), and naming the alert state it shows."""
    return f"{kind}-{place}-{state_id or 0}"


def alert_of_block(block_id: str) -> tuple[str, int] | None:
    """(kind, alert state id) of an alert block; also reads ``alert-<state>`` of messages posted before
    the place was part of the id."""
    for kind in (ALERT_ACTIONS_BLOCK, ALERT_BLOCK):
        if block_id.startswith(kind + "-"):
            tail = block_id[len(kind) + 1 :].split("-")
            return (kind, int(tail[-1])) if tail[-1].isdigit() and len(tail) <= 2 else None
    return None


@dataclass(frozen=True)
class AlertItem:
    """One alert as posted: its state (what the buttons act on), its title and its detail (mrkdwn)."""

    state_id: int | None
    title: str
    detail: str
    reminder: bool = False


@dataclass(frozen=True)
class AlertBatch:
    """The alerts due together in one channel. A test batch (``/spend test``) says so and has no buttons."""

    items: tuple[AlertItem, ...]
    remind_hours: float
    test: bool = False


@dataclass(frozen=True)
class OpenAlert:
    """A firing alert and the subscription it belongs to."""

    summary: str
    subscription_id: int | None
    kind: str
    channel_id: str


@dataclass(frozen=True)
class OpenAlerts:
    alerts: tuple[OpenAlert, ...]


def _alert_blocks(item: AlertItem, place: int, *, buttons: bool) -> list[Block]:
    prefix = ":hourglass: Still: " if item.reminder else ":rotating_light: "
    block = section(f"{prefix}*{item.title}*\n{item.detail}")
    block["block_id"] = alert_block_id(ALERT_BLOCK, place, item.state_id)
    if not buttons:
        return [block]
    buttons_block = actions(
        button("Snooze 24h", SNOOZE_ACTION, str(item.state_id)),
        button("Mute until resolved", MUTE_ACTION, str(item.state_id)),
        block_id=alert_block_id(ALERT_ACTIONS_BLOCK, place, item.state_id),
    )
    return [block, buttons_block]


def alert_message(batch: AlertBatch) -> Message:
    """One message for the alerts due together in a channel, each in its own section with buttons.

    Past Slack's 50 blocks the last alerts are counted in a "+N more alerts" line.
    """
    tag = "[TEST] " if batch.test else ""
    groups = [_alert_blocks(item, place, buttons=not batch.test) for place, item in enumerate(batch.items)]
    note = (
        "This is a test: nothing is wrong."
        if batch.test
        else f"Reminders at most every {batch.remind_hours:g} h."
    )
    blocks = fit_groups(groups, head=[header(tag + "spendbot alert")], tail=[context(note)], noun="alerts")
    return Message(clip(tag + "; ".join(item.title for item in batch.items), MAX_TEXT), blocks)


def resolved_reply(title: str, detail: str) -> Message:
    """The reply in an alert's thread when it resolves."""
    return Message(f"Resolved: {title}", [section(f":white_check_mark: *Resolved:* {title}\n{detail}")])


def mark_resolved(blocks: Sequence[Block], state_id: int, title: str, when: datetime) -> list[Block]:
    """A posted alert message's blocks with one alert shown resolved and its buttons gone; the other
    alerts of the message are kept as they are."""
    marked: list[Block] = []
    for block in blocks:
        block_id = str(block.get("block_id") or "")
        if alert_of_block(block_id) == (ALERT_ACTIONS_BLOCK, state_id):
            continue
        if alert_of_block(block_id) == (ALERT_BLOCK, state_id):
            block = section(f":white_check_mark: ~{title}~ — *resolved* {utc_when(when)}")
            block["block_id"] = block_id
        marked.append(block)
    return marked


def open_alerts_message(open_alerts: OpenAlerts) -> Message:
    """The firing alerts of a workspace as one message, each with the subscription it comes from."""
    groups = [
        [
            section(
                f":rotating_light: {alert.summary}\n"
                f"_#{alert.subscription_id} {alert.kind} in <#{alert.channel_id}>_"
            )
        ]
        for alert in open_alerts.alerts
    ]
    count = len(open_alerts.alerts)
    blocks = fit_groups(groups, head=[header(f"Open alerts ({count})")], noun="alerts")
    return Message(f"{count} open alerts", blocks)
