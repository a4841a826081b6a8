"""App Home against the command tests' world (simulators, a fake Slack, the real bot in a thread)."""

from __future__ import annotations

from tests.commands.conftest import (
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
    "anthropic_declared",
    "copilot_declared",
    "copilot_options",
    "openai_declared",
    "settings_overrides",
    "synced",
    "synced_states",
    "windsurf_options",
    "world",
]
