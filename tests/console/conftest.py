"""The console against the command tests' world (simulators, a fake Slack, the real bot in a thread)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from rich.console import Console

from bot.console.session import ConsoleSession
from bot.vendors import LimiterRegistry
from tests.commands.conftest import (
    SCALE,
    World,
    anthropic_declared,
    copilot_declared,
    copilot_options,
    openai_declared,
    settings_overrides,
    synced,
    synced_states,
    windsurf_options,
    world,
)

__all__ = [
    "ScriptedReader",
    "anthropic_declared",
    "copilot_declared",
    "copilot_options",
    "openai_declared",
    "run_console",
    "settings_overrides",
    "synced",
    "synced_states",
    "windsurf_options",
    "world",
]
T = TypeVar("T")


class ScriptedReader:
    """Typed lines from a script; ``None`` (the end of input) once it runs out. Records every prompt."""

    def __init__(self, lines: Sequence[str] = ()) -> None:
        self._lines = list(lines)
        self.prompts: list[tuple[str, bool]] = []  # (prompt, asked without echo)

    async def line(self, prompt: str) -> str | None:
        self.prompts.append((prompt, False))
        return self._lines.pop(0) if self._lines else None

    async def secret(self, prompt: str) -> str | None:
        self.prompts.append((prompt, True))
        return self._lines.pop(0) if self._lines else None


def run_console(
    world: World, work: Callable[[ConsoleSession], Awaitable[T]], reader: ScriptedReader | None = None
) -> tuple[T, str]:
    """Open a console session on the world's settings and database, run ``work``, return (result, output).

    The session shares the bot's clock (the simulators') so both read the same periods from the store.
    """
    output = io.StringIO()
    console = Console(file=output, width=120, color_system=None, force_terminal=False)

    async def main() -> T:
        session = await ConsoleSession.open(
            world.bot.settings,
            console=console,
            reader=reader or ScriptedReader(),
            clock=lambda: world.cursor.now,
            limiters=LimiterRegistry(time_scale=SCALE),
        )
        async with session:
            return await work(session)

    result = asyncio.run(main())
    return result, output.getvalue()
