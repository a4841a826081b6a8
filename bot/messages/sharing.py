"""The "Share in channel" button of read answers, and the line a shared answer carries.

A read answer is first shown to the person who asked, with a button that re-posts it in the channel;
the posted copy says who shared it and which command it answers. Both are added within the block limit
of a message, cutting the answer rather than the button or the line.
"""

from __future__ import annotations

from bot.messages.blocks import actions, button, context, fit
from bot.messages.message import Message

SHARE_ACTION = "share_answer"
OPEN_ACTION = "open_answer"
"""A button that answers a read command (its value) to whoever clicks it, as if they had typed it."""


def with_share_button(reply: Message, text: str) -> Message:
    """The answer with a button that re-posts it in the channel (the click re-runs ``text``)."""
    return Message(
        reply.text, fit(reply.blocks, tail=[actions(button("Share in channel", SHARE_ACTION, text))])
    )


def shared(reply: Message, *, user_id: str, command: str, text: str) -> Message:
    """The answer as posted in the channel: it ends by naming who shared it and the command."""
    shared_by = context(f"Shared by <@{user_id}> · `{command} {text}`")
    return Message(reply.text, fit(reply.blocks, tail=[shared_by]))
