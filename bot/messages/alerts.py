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
from decimal import Decimal

from bot.domain.money import format_amount, format_percent, format_runway
from bot.messages.answers import CreditView, LimitWatch, TrackedView, WindowView
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
from bot.messages.mrkdwn import escape

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


def alert_summary(title: str, detail: str) -> str:
    """What an alert state stores as its summary (the open-alerts list and the digest show it)."""
    return f"*{title}*\n{detail}"


def summary_title(summary: str | None) -> str | None:
    """The title an :func:`alert_summary` was made from (None when there is none)."""
    first = (summary or "").split("\n", 1)[0]
    return first[1:-1] if len(first) > 2 and first.startswith("*") and first.endswith("*") else first or None


# ----- the details of the readings (mrkdwn; also stored as each alert's summary) -------------------------

NEAR_LIMIT_NAMED = 10
"""People named in a "near their spend limit" detail; the rest are counted."""


def credit_pool_detail(view: CreditView, left: Decimal) -> str:
    """What is left of a credit pool (``left`` percent of it), the runway at the burn, when to top up."""
    runway = format_runway(view.days_left) if view.days_left is not None else "no recent use"
    detail = (
        f"{format_amount(view.remaining, view.unit)} left of "
        f"{format_amount(view.size, view.unit)} "
        f"({format_percent(left)}); {runway} at the current burn "
        f"({format_amount(view.burn_per_day, view.unit)}/day)"
    )
    if view.cycle_end is not None:
        detail += f", cycle resets on {view.cycle_end:%b} {view.cycle_end.day}"
    if view.top_up_by is not None:
        detail += f". Top up by *{view.top_up_by:%b} {view.top_up_by.day}*."
    return detail


def near_limit_detail(watch: LimitWatch, share: Decimal) -> str:
    """How many people are at ``share`` percent or more of their spend limit, the first ones named."""
    people = ", ".join(
        f"{escape(person.name or person.email)} ({format_percent(person.percent)} of "
        f"{format_amount(person.limit_cents, 'usd_cents')})"
        for person in watch.people[:NEAR_LIMIT_NAMED]
    )
    more = f" and {watch.count - NEAR_LIMIT_NAMED} more" if watch.count > NEAR_LIMIT_NAMED else ""
    return f"{watch.count} at {format_percent(share)} or more of their spend limit: {people}{more}"


def tracked_detail(figure: TrackedView) -> str:
    """The tracked figure's name and value."""
    return f"`{escape(figure.field)}` is {figure.value:,}"


def budget_detail(
    spent: Decimal,
    budget: Decimal,
    unit: str,
    percent: Decimal,
    span: tuple[datetime, datetime] | None,
    projected: Decimal,
) -> str:
    """Spend against a budget this cycle (its dates: ``span``, or "this month" over several), and the
    forecast."""
    span_text = f"{span[0]:%b} {span[0].day} – {span[1]:%b} {span[1].day}" if span else "this month"
    return (
        f"{format_amount(spent, unit)} of {format_amount(budget, unit)} "
        f"({format_percent(percent)}) this cycle "
        f"({span_text}); forecast {format_amount(projected, unit)} at the cycle end"
    )


def headroom_detail(window: WindowView, scope: str, left: Decimal) -> str:
    """A rate-limit window's requests left (``left`` percent of them) in ``scope`` (its readable name)."""
    detail = f"{window.remaining:,} of {window.limit:,} requests left in {scope}"
    detail += f" ({format_percent(left)})"
    return detail


def throttled_detail(throttled: int) -> str:
    """The 429s met, counted since the bot started."""
    return (
        f"HTTP 429 met since the last check ({throttled} since the bot started); "
        "someone else may be using this key, or the vendor lowered its limit"
    )


def rejected_problem(status_detail: str | None) -> str:
    """A health problem: the vendor refuses the key (what it said, escaped)."""
    return f"the key is rejected ({escape(status_detail or 'no detail')})"


def fetch_failing_problem(last_error: str | None, *, throttled: bool = False) -> str:
    """A health problem: fetches keep failing (the last error, escaped), or the vendor keeps throttling
    the key (someone else spends its quota, or the plan's is smaller than declared)."""
    error = escape(last_error or "unknown error")
    if throttled:
        return f"throttled: the vendor keeps refusing our calls with HTTP 429 ({error})"
    return f"fetching fails: {error}"


def stale_problem(as_of: datetime | None) -> str:
    """A health problem: no fresh data since ``as_of`` (UTC), or ever."""
    since = f"since {as_of:%b} {as_of.day} {as_of:%H:%M} UTC" if as_of else "ever"
    return f"no fresh data {since}"


def health_detail(problems: Sequence[str]) -> str:
    """A connection's problems, or that fetching works."""
    return "; ".join(problems) if problems else "fetching works"
