"""What a channel is subscribed to and what was posted on schedule: the subscription commands' answers.

``subscribe``, ``unsubscribe``, ``subscriptions``, ``snooze``, ``digest now``, ``test`` and
``deliveries`` answer here, and the App Home lists the same :class:`SubscriptionLine` and
:class:`DeliveryLine`. Times no reader owns (schedules, the ledger) are shown in UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.messages.blocks import context, header, lines_sections, message, section, utc_when
from bot.messages.message import Message
from bot.messages.mrkdwn import escape
from bot.messages.replies import delivery_line


@dataclass(frozen=True)
class SubscriptionLine:
    """One subscription as people read it; ``summary`` as ``subscriptions`` words it."""

    id: int
    channel_id: str
    kind: str
    summary: str  # "digest daily at 09:00 Europe/Paris"
    paused_reason: str | None = None
    snoozed_until: datetime | None = None
    muted: bool = False
    next_due_at: datetime | None = None


@dataclass(frozen=True)
class DeliveryLine:
    """One scheduled post of the ledger and its outcome, ``at`` the time the list shows."""

    channel_id: str
    kind: str
    period: str
    state: str
    late: bool
    at: datetime
    error: str | None = None
    retry_at: datetime | None = None
    """When a delayed post is tried again."""


def digest_when(moment: datetime, zone: ZoneInfo) -> str:
    """``Mon Nov 23 08:30 Europe/Paris (Nov 23 07:30 UTC)``: a digest's next time, as its channel reads it."""
    local = moment.astimezone(zone)
    when = f"{local:%a %b} {local.day} {local:%H:%M} {zone.key}"
    return when if zone.key == "UTC" else f"{when} ({utc_when(local)})"


def subscribed_message(
    subscription_id: int | None, summary: str, *, first: str | None, command: str
) -> Message:
    """``subscribe``: what this channel now gets, when the first digest comes, how to undo it."""
    text = f":white_check_mark: Subscribed this channel: *#{subscription_id}* {escape(summary)}."
    if first is not None:
        text += f"\nFirst digest: {first}."
    return message(text, [section(text), context(f"`{command} unsubscribe {subscription_id}` removes it.")])


def unsubscribed_message(removed: Sequence[tuple[int | None, str]]) -> Message:
    """``unsubscribe``: the subscriptions removed, by id and summary."""
    gone = ", ".join(f"#{subscription_id} {summary}" for subscription_id, summary in removed)
    text = f"Removed {escape(gone)}."
    return message(text, [section(text)])


def subscriptions_message(
    lines: Sequence[SubscriptionLine], *, every_channel: bool, now: datetime, command: str
) -> Message:
    """``subscriptions`` (``all``: of every channel): each with its next post, snooze or pause."""
    title = "Subscriptions in every channel" if every_channel else "Subscriptions in this channel"
    if not lines:
        hint = f"`{command} help subscribe` shows how to add one."
        return message(f"{title}: none", [header(title), section(f"None yet. {hint}")])
    texts = []
    for line in lines:
        text = f"*#{line.id}* {escape(line.summary)}"
        if every_channel:
            text += f" · <#{line.channel_id}>"
        if line.next_due_at is not None and line.paused_reason is None:
            text += f" · next {utc_when(line.next_due_at)}"
        if line.snoozed_until is not None and line.snoozed_until > now:
            text += f" · snoozed until {utc_when(line.snoozed_until)}"
        if line.paused_reason:
            text += f"\n   :double_vertical_bar: paused: {escape(line.paused_reason)}"
            text += " — fix it, then subscribe again to resume"
        texts.append(text)
    return message(f"{title}: {len(lines)}", [header(title), *lines_sections(texts, max_lines=40)])


def snoozed_message(subscription_id: int | None, *, until: datetime | None) -> Message:
    """``snooze <id> <duration>``: until when; recoveries post."""
    assert until is not None
    text = f"Subscription #{subscription_id} snoozed until {utc_when(until)} (recoveries still post)."
    return message(text, [section(text)])


def muted_message(subscription_id: int | None, muted: int, *, command: str) -> Message:
    """``snooze <id> until-resolved``: how many firing alerts were muted, and that a new one posts."""
    if not muted:
        text = (
            f"Subscription #{subscription_id} has no alert firing, so nothing was muted: `until-resolved` "
            "mutes the alerts firing now until each resolves, and a new alert posts. To hold back the "
            f"next ones too, snooze it for a while: `{command} snooze {subscription_id} 4h`."
        )
    else:
        alerts = "its firing alert is" if muted == 1 else f"its {muted} firing alerts are"
        until = "it resolves" if muted == 1 else "each resolves"
        text = (
            f"Subscription #{subscription_id}: {alerts} muted until {until} (the recovery is still "
            "posted); a new alert still posts."
        )
    return message(text, [section(text)])


def digest_posted_message() -> Message:
    """``digest now`` went well."""
    return message(
        "Posted today's digest in this channel.", [section("Posted today's digest in this channel.")]
    )


def samples_posted_message(
    posted: Sequence[str], failed: Sequence[tuple[str, str]], *, command: str
) -> Message:
    """``test``: which sample messages were posted here, and why any could not be."""
    if not posted and not failed:
        text = f"This channel has no subscription to test. `{command} help subscribe` shows how."
    else:
        plural = "s" if len(posted) != 1 else ""
        text = f"Posted {len(posted)} test message{plural} here, one per kind subscribed"
        text += f" ({', '.join(posted)}), each marked [TEST]." if posted else "."
        for kind, error in failed:
            text += f"\nThe `{kind}` sample could not be posted: `{escape(error)}`."
    return message(text, [section(text)])


def deliveries_message(lines: Sequence[DeliveryLine]) -> Message:
    """``deliveries``: the last scheduled posts, newest first, times in UTC."""
    if not lines:
        return message("No scheduled posts yet.", [header("Deliveries"), section("No scheduled posts yet.")])
    texts = [
        delivery_line(
            utc_when(line.at),
            line.kind,
            line.period,
            line.channel_id,
            line.state,
            late=line.late,
            error=line.error,
            next_try=None if line.retry_at is None else utc_when(line.retry_at),
        )
        for line in lines
    ]
    return message(
        f"Last {len(lines)} deliveries", [header("Last deliveries"), *lines_sections(texts, max_lines=20)]
    )
