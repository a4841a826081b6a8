"""``help`` (and an empty command): the grammar of what this build answers, with examples."""

from __future__ import annotations

from typing import Any

from bot.domain.grammar import Help, render_help
from bot.slack.router import Invocation, Router


def register_routes(router: Router) -> None:
    """Route ``help``; it lists what ``router`` answers, so it never offers a command that is absent."""

    def answer_help(invocation: Invocation, command: Help) -> dict[str, Any]:
        text = render_help(
            invocation.command,
            available=router.available(),
            topic=command.topic,
            people_visible_to=invocation.services.settings.people_visible_to,
        )
        return {"text": text}

    router.instant(Help, answer_help)
