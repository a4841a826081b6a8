"""``set-limit`` and ``set-cap``: the question an admin answers before a write, and the answer after it.

The question carries the planned write in its buttons' value (encoded by the service, checked again
on click); it says the current value next to the new one, so a confirmation is never blind.
"""

from __future__ import annotations

from decimal import Decimal

from bot.domain.money import format_amount
from bot.messages.blocks import actions, button, context, message, section
from bot.messages.message import Message
from bot.messages.mrkdwn import escape

CONFIRM_ACTION = "write_confirm"
CANCEL_ACTION = "write_cancel"


def _limit_text(cents: Decimal | None) -> str:
    return "no limit" if cents is None else format_amount(cents, "usd_cents")


def limit_question(
    *,
    email: str,
    connection: str,
    dollars: int | None,
    current_cents: Decimal | None,
    known_limit: bool,
    value: str,
) -> Message:
    """Ask to set (``dollars`` None: remove) the Cursor spend limit of ``email`` on ``connection``."""
    new = "no limit" if dollars is None else f"${dollars:,}"
    current = _limit_text(current_cents) if known_limit else "unknown"
    text = (
        f"Set the Cursor spend limit of *{escape(email)}* on `{connection}` to *{new}*?\n"
        f"Current limit: {current}."
    )
    return _question(text, value)


def cap_question(
    *, scope: str, connection: str, credits: int | None, current: Decimal | None, value: str
) -> Message:
    """Ask to set (``credits`` None: clear) the Windsurf add-on credit cap of ``scope`` (or "team")."""
    who = "every person (team-wide)" if scope == "team" else f"*{escape(scope)}*"
    new = "no cap" if credits is None else f"{credits:,} credits"
    now = "no cap" if current is None else f"{current:,} credits"
    text = (
        f"Set the Windsurf add-on credit cap for {who} on `{connection}` to *{new}*?\n"
        f"Current cap: {now}. The cap applies to each person, not to a shared pool."
    )
    return _question(text, value)


def _question(text: str, value: str) -> Message:
    return message(
        text.replace("*", ""),
        [
            section(text),
            actions(
                button("Confirm", CONFIRM_ACTION, value, style="primary"),
                button("Cancel", CANCEL_ACTION, value),
            ),
            context("Nothing changes until an admin confirms. The change is recorded in `audit`."),
        ],
    )


def write_done(*, user_id: str, op: str, target: str, connection: str, answer: str) -> Message:
    """What replaces the question once the write is done: who did it, and what the vendor said."""
    done = f":white_check_mark: Done by <@{user_id}>: `{op}` for {escape(target)}"
    done += f" on `{connection}`."
    return Message(done, [section(done), context(f"The vendor said: {escape(answer)}")])
