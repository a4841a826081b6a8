"""``help`` (and an empty command): the grammar of what this build answers, with examples."""

from __future__ import annotations

from typing import Any

from bot.domain.grammar import Help, render_help
from bot.slack.router import Invocation, available_commands, instant_route


@instant_route(Help)
def answer_help(invocation: Invocation, command: Help) -> dict[str, Any]:
    text = render_help(
        invocation.command,
        available=available_commands(),
        topic=command.topic,
        people_visible_to=invocation.services.settings.people_visible_to,
    )
    return {"text": text}
