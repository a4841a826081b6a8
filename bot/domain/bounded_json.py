"""JSON from an untrusted, small value (a button value, a view's ``private_metadata``), read within bounds.

``json.loads`` on a value Slack carried back is a parse of attacker-shaped text: a 200 kB value of
nested brackets ends in ``RecursionError``. Size and nesting are checked on the text first, with one
linear scan, and only then is it parsed.
"""

from __future__ import annotations

import json
from typing import Any

from bot.domain.errors import SpendbotError

MAX_CHARS = 3000
"""Slack caps a button value at 2000 characters and ``private_metadata`` at 3000."""
MAX_DEPTH = 8


class UnreadableValue(SpendbotError, ValueError):
    """The value is too long, nested too deep, or not JSON."""


def loads_bounded(text: str, *, max_chars: int = MAX_CHARS, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``text`` as JSON if it is at most ``max_chars`` long and nests at most ``max_depth`` deep."""
    if len(text) > max_chars:
        raise UnreadableValue(f"longer than {max_chars} characters")
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > max_depth:
                raise UnreadableValue(f"nested deeper than {max_depth}")
        elif char in "]}":
            depth -= 1
    try:
        return json.loads(text)
    except ValueError:
        raise UnreadableValue("not JSON") from None
