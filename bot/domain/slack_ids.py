"""Slack ids by their shape: the one check every id that comes in from Slack passes.

Slack ids are an upper-case kind letter followed by upper-case letters and digits (``T024BE7LD``,
``U0G9QF9C6``, ``C2147483705``). Slack says they may grow longer, so only the alphabet and a generous
bound are checked. An id that passes can be used in a file name, a database key or a log line as is:
it holds no path separator, dot, space or control character.
"""

from __future__ import annotations

import re
from enum import StrEnum

from bot.domain.errors import SpendbotError


class SlackIdKind(StrEnum):
    TEAM = "team"
    ENTERPRISE = "enterprise"
    USER = "user"
    CHANNEL = "channel"


ID_BODY = "[A-Z0-9]{1,39}"
"""What follows the kind letter (a regular expression fragment, shared with the command grammar)."""
KIND_LETTERS = {
    SlackIdKind.TEAM: "T",
    SlackIdKind.ENTERPRISE: "E",
    SlackIdKind.USER: "UW",  # W: Enterprise Grid users
    SlackIdKind.CHANNEL: "CGD",  # public, private (legacy G), direct message
}


def id_pattern(kind: SlackIdKind) -> str:
    """The regular expression (unanchored) of an id of ``kind``, for parsers that find ids in text."""
    return f"[{KIND_LETTERS[kind]}]{ID_BODY}"


_SHAPES = {kind: re.compile(id_pattern(kind)) for kind in SlackIdKind}


class InvalidSlackId(SpendbotError, ValueError):
    """A value that should be a Slack id is not shaped like one (a forged or broken request)."""

    def __init__(self, kind: SlackIdKind) -> None:
        super().__init__(f"not a Slack {kind.value} id")
        self.kind = kind


def is_slack_id(kind: SlackIdKind, value: object) -> bool:
    """True when ``value`` is a string shaped like a Slack id of ``kind``."""
    return isinstance(value, str) and _SHAPES[kind].fullmatch(value) is not None


def require_slack_id(kind: SlackIdKind, value: object) -> str:
    """``value`` itself when it is shaped like a Slack id of ``kind``; :class:`InvalidSlackId` otherwise."""
    if not is_slack_id(kind, value):
        raise InvalidSlackId(kind)
    assert isinstance(value, str)
    return value
