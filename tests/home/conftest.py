"""App Home against the command tests' world (simulators, a fake Slack, the real bot in a thread)."""

from __future__ import annotations

from tests.commands.conftest import synced, world

__all__ = ["synced", "world"]
