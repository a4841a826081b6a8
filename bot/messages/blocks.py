"""Block Kit builders: pure functions from answers to messages, within Slack's limits.

The limits live here and nowhere else: at most 50 blocks a message (100 in a view), 3,000 characters
a section text, 10 fields a section (2,000 characters each), 150 characters a header, 10 elements a
context. What does not fit is cut with a "+N more" line, never by Slack refusing the message. Every
message also has a plain ``text`` fallback for notifications and screen readers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.money import format_amount, format_change, format_percent, format_runway
from bot.messages.message import Block, Message

MAX_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTON_VALUE = 2000


def readable_texts(node: Any) -> list[str]:
    """Every ``text`` string of a message, view or list of blocks, in order: what a person reads of it."""
    if isinstance(node, Mapping):
        found: list[str] = []
        for key, value in node.items():
            found.extend([value] if key == "text" and isinstance(value, str) else readable_texts(value))
        return found
    if isinstance(node, list):
        return [text for item in node for text in readable_texts(item)]
    return []


def clip(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    room = max(0, limit - len("… (+ more characters)") - len(str(len(text))))
    return f"{text[:room]}… (+{len(text) - room} more characters)"


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, MAX_HEADER), "emoji": True}}


def section(text: str, *, accessory: Block | None = None) -> Block:
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_TEXT)}}
    if accessory is not None:
        block["accessory"] = accessory
    return block


def fields(pairs: Sequence[tuple[str, str]]) -> list[Block]:
    """Sections of label/value fields, ten at most each."""
    items = [
        {"type": "mrkdwn", "text": clip(f"*{label}*\n{value}", MAX_FIELD_TEXT)} for label, value in pairs
    ]
    return [
        {"type": "section", "fields": items[i : i + MAX_FIELDS]} for i in range(0, len(items), MAX_FIELDS)
    ]


def context(*texts: str) -> Block:
    shown = [text for text in texts if text][:MAX_CONTEXT_ELEMENTS]
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": clip(text, MAX_TEXT)} for text in shown],
    }


def divider() -> Block:
    return {"type": "divider"}


def button(text: str, action_id: str, value: str, *, style: str | None = None) -> Block:
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(text, 75), "emoji": True},
        "action_id": action_id,
        "value": value[:MAX_BUTTON_VALUE],
    }
    if style is not None:
        element["style"] = style
    return element


def actions(*elements: Block, block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements)[:25]}
    if block_id is not None:
        block["block_id"] = block_id
    return block


MAX_TABLE_ROWS = 100
"""Slack's limit on a table block's rows (the header row included); a message may hold one table."""
MAX_TABLE_CELLS = 20


def table(head: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[int] = ()) -> list[Block]:
    """A Slack ``table`` block (plain-text cells, ``head`` as its first row), and a "+N more" context
    when more rows than Slack allows were given. ``right`` lists the columns aligned right (figures).

    Tables are for messages only: Slack refuses them in modals and the App Home, and more than one in a
    message, so callers put at most one in a message and keep a text form for views.
    """
    width = min(len(head), MAX_TABLE_CELLS)
    shown = rows[: MAX_TABLE_ROWS - 1]
    block: Block = {
        "type": "table",
        "rows": [[{"type": "raw_text", "text": str(cell)} for cell in row[:width]] for row in [head, *shown]],
        "column_settings": [{"align": "right" if index in right else "left"} for index in range(width)],
    }
    blocks = [block]
    if len(rows) > len(shown):
        blocks.append(context(f"+{len(rows) - len(shown)} more"))
    return blocks


def lines_sections(
    lines: Sequence[str],
    *,
    max_lines: int | None = 25,
    total: int | None = None,
    room: int = MAX_BLOCKS,
    gap: str = "\n",
) -> list[Block]:
    """A list in as few sections as the 3,000-character limit allows, within ``room`` blocks.

    The one rule of every list of lines: each line is kept whole (clipped at 3,000 characters) and
    joined to the previous one by ``gap`` while the section has room. What is not shown, past
    ``max_lines`` (None: no cap) or past ``room`` blocks, is counted in one "+N more" line, which is
    part of the ``room``. ``total`` is how many items the list has when the caller formatted only the
    first ones.
    """
    count = len(lines) if total is None else total
    shown = lines if max_lines is None else lines[:max_lines]
    chunks: list[list[str]] = []
    size = 0
    for line in shown:
        line = clip(line, MAX_TEXT)
        if chunks and size + len(gap) + len(line) <= MAX_TEXT:
            chunks[-1].append(line)
            size += len(gap) + len(line)
        else:
            chunks.append([line])
            size = len(line)
    if count > len(shown) or len(chunks) > room:
        chunks = chunks[: max(0, room - 1)]  # keep a block for the "+N more" line
    blocks = [section(gap.join(chunk)) for chunk in chunks]
    hidden = count - sum(len(chunk) for chunk in chunks)
    if hidden > 0:
        blocks.append(context(f"+{hidden} more"))
    return blocks


def fit(blocks: Sequence[Block], limit: int = MAX_BLOCKS, *, tail: Sequence[Block] = ()) -> list[Block]:
    """Keep ``blocks`` and then ``tail`` within ``limit`` blocks: past it, the last of ``blocks`` are
    replaced by one "+N more" line."""
    return fit_groups([[block] for block in blocks], limit, tail=tail)


def fit_groups(
    groups: Sequence[Sequence[Block]],
    limit: int = MAX_BLOCKS,
    *,
    head: Sequence[Block] = (),
    tail: Sequence[Block] = (),
    noun: str = "sections",
) -> list[Block]:
    """``head``, as many whole ``groups`` as fit, then ``tail``, within ``limit`` blocks.

    The one fitting rule of every message and view: what does not fit is counted in a "+N more <noun>"
    line (a group is one thing a person reads, such as an alert and its buttons), never cut silently.
    """
    room = limit - len(head) - len(tail)
    if sum(len(group) for group in groups) <= room:
        return [*head, *(block for group in groups for block in group), *tail]
    room -= 1  # the "+N more" line
    kept: list[Block] = []
    shown = 0
    for group in groups:
        if len(kept) + len(group) > room:
            break
        kept.extend(group)
        shown += 1
    more = context(f"+{len(groups) - shown} more {noun} not shown (Slack allows {limit} blocks)")
    return [*head, *kept, more, *tail]


def message(text: str, blocks: Iterable[Block]) -> Message:
    return Message(text=clip(text, MAX_TEXT), blocks=fit(list(blocks)))


# ----- shared phrases ----------------------------------------------------------------------------------


def amount(value: Decimal, unit: str) -> str:
    return format_amount(value, unit)


def change(current: Decimal, previous: Decimal, unit: str) -> str:
    return format_change(current, previous, unit)


def percent(value: Decimal | float) -> str:
    return format_percent(value)


def runway_text(days_left: Decimal | None) -> str:
    return format_runway(days_left)


def local_time(moment: datetime | None, tz: ZoneInfo, now: datetime | None = None) -> str:
    """``09:12`` today, ``Nov 20 09:12`` on another day, in the reader's zone."""
    if moment is None:
        return "never"
    local = moment.astimezone(tz)
    today = (now or datetime.now(tz)).astimezone(tz).date()
    clock = local.strftime("%H:%M")
    return clock if local.date() == today else f"{local.strftime('%b')} {local.day} {clock}"


def interval_words(span: timedelta) -> str:
    """``45 s``, ``2 min``, ``1 h``, ``1 h 30 min``: an interval as the settings give it, in words."""
    seconds = int(span.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    hours, minutes = divmod(seconds // 60, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h" + (f" {minutes} min" if minutes else "")


def overdue_text(every: timedelta) -> str:
    """What a source whose newer data is overdue says beside its figures."""
    return f"stale: newer data is overdue (it is synced every {interval_words(every)})"


def local_date(moment: datetime | None, tz: ZoneInfo) -> str:
    if moment is None:
        return "unknown"
    local = moment.astimezone(tz)
    return f"{local.strftime('%b')} {local.day}"


def utc_when(moment: datetime) -> str:
    """``Nov 20 09:12 UTC``: for times that belong to no reader in particular (schedules, the ledger)."""
    moment = moment.astimezone(ZoneInfo("UTC"))
    return f"{moment:%b} {moment.day} {moment:%H:%M} UTC"
