"""``connections``, ``disconnect`` and ``audit`` answers: who connected what, the question before a
removal, and the log of changes.

None of them ever shows a key: a connection carries at most its key's last four characters. Times are
Slack date tokens (``<!date^…>``), so each reader sees them in their own zone, with a UTC fallback.
The lists follow the one rule of :func:`~bot.messages.blocks.lines_sections`: entries packed into as
few sections as fit, a blank line between them, and "+N more" past one message's blocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.errors import code_span
from bot.domain.usage import Vendor
from bot.domain.vendors import display_name
from bot.messages.blocks import MAX_BLOCKS, actions, button, lines_sections, section
from bot.messages.message import Block
from bot.messages.mrkdwn import escape

CONFIRM_DISCONNECT = "spendbot_disconnect_confirm"
CANCEL_DISCONNECT = "spendbot_disconnect_cancel"
MAX_DETAIL = 150
"""Characters of a connection's status detail shown in ``connections``."""
_STATUS_MARKS = {
    "ok": ":white_check_mark:",
    "failing": ":warning:",
    "rejected": ":no_entry:",
    "new": ":hourglass:",
}
_OUTCOME_MARKS = {"ok": ":white_check_mark:", "refused": ":lock:", "failed": ":x:"}


@dataclass(frozen=True)
class ConnectionSummary:
    """One line of ``connections``: everything about a connection except its key."""

    name: str
    vendor: Vendor
    origin: str
    created_by: str | None
    created_at: datetime
    last_sync: datetime | None
    status: str
    status_detail: str | None
    key_hint: str


@dataclass(frozen=True)
class AuditLine:
    """One entry of the audit log as ``audit`` shows it (an entry never holds a key)."""

    action: str
    outcome: str  # ok | refused | failed
    created_at: datetime
    user_id: str | None = None
    target: str | None = None
    detail: str | None = None


def confirm_blocks(connection: ConnectionSummary, value: str) -> list[Block]:
    """The question ``disconnect`` asks, with the two buttons; both carry ``value`` (name and token)."""
    added = f", added by <@{connection.created_by}>" if connection.created_by else ""
    return [
        section(
            f":warning: Disconnect {code_span(connection.name)} ({display_name(connection.vendor)}{added})? "
            "Its key and all its history (spend, credits, alert state) will be deleted. "
            "This cannot be undone."
        ),
        actions(
            button("Disconnect", CONFIRM_DISCONNECT, value, style="danger"),
            button("Cancel", CANCEL_DISCONNECT, value),
            block_id="spendbot_disconnect",
        ),
    ]


def connections_blocks(rows: Sequence[ConnectionSummary], *, command: str) -> list[Block]:
    """One section per connection; never a key, at most its last four characters."""
    if not rows:
        return [
            section(
                "No connections yet. An admin can add one with "
                f"{code_span(command + ' connect cursor')} (or `windsurf`, `rest`)."
            )
        ]
    lines = [describe_connection(row) for row in rows]
    return [section(f"*Connections in this workspace* ({len(rows)})"), *_entries(lines)]


def describe_connection(row: ConnectionSummary) -> str:
    """Two lines: name, tool and who added it when; last sync, status (and why not ok) and key hint."""
    if row.origin == "env":
        origin = "(environment) configured by the operator"
    else:
        who = f"<@{row.created_by}>" if row.created_by else "someone"
        origin = f"added by {who} on {slack_date(row.created_at)}"
    last_sync = slack_moment(row.last_sync) if row.last_sync else "never"
    status = f"{_STATUS_MARKS.get(row.status, '')} {row.status}".strip()
    if row.status_detail and row.status != "ok":
        detail = " ".join(row.status_detail.split())
        status += f" — {escape(detail[:MAX_DETAIL])}{'…' if len(detail) > MAX_DETAIL else ''}"
    key = f" · key …{row.key_hint}" if row.key_hint else ""
    return (
        f"*{code_span(row.name)}* {display_name(row.vendor)} · {origin}\n"
        f"last sync {last_sync} · status {status}{key}"
    )


def audit_blocks(entries: Sequence[AuditLine]) -> list[Block]:
    """The audit log, newest first."""
    if not entries:
        return [section("Nothing recorded yet: changes and writes will show here.")]
    lines = [describe_entry(entry) for entry in entries]
    return [section("*Last changes and writes* (newest first)"), *_entries(lines)]


def describe_entry(entry: AuditLine) -> str:
    """``<when> · <@U1> `connect` `cursor` — :white_check_mark: ok (detail)``."""
    who = f"<@{entry.user_id}>" if entry.user_id else "Slack"
    target = f" {code_span(entry.target)}" if entry.target else ""
    detail = f" ({escape(entry.detail)})" if entry.detail else ""
    mark = _OUTCOME_MARKS.get(entry.outcome, "")
    action = code_span(entry.action)
    return f"{slack_moment(entry.created_at)} · {who} {action}{target} — {mark} {entry.outcome}{detail}"


def _entries(lines: Sequence[str]) -> list[Block]:
    """Every entry, a blank line apart, in the blocks a message has left after its title."""
    return lines_sections(lines, max_lines=None, room=MAX_BLOCKS - 1, gap="\n\n")


def slack_date(moment: datetime) -> str:
    """A date Slack shows in the reader's zone (``Nov 20``), with the UTC date as fallback."""
    fallback = moment.strftime("%Y-%m-%d")
    return f"<!date^{int(moment.timestamp())}^{{date_short}}|{fallback}>"


def slack_moment(moment: datetime) -> str:
    """A date and time Slack shows in the reader's zone, with ``2026-11-20 09:12 UTC`` as fallback."""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short}} {{time}}|{fallback}>"
