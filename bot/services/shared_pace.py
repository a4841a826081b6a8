"""Slack's workspace allowances shared by every replica: each post (and each history read) first takes
a slot reserved in the database (``store.pace``), then waits for its instant.

Slack counts a workspace's posts and ``conversations.history`` reads whatever process makes them, so
per-process limiters would let N replicas send N times the allowance. A reservation costs one small
write transaction; the per-channel pace (one post a second) stays in each process, since a channel's
posts come from the one replica that claimed them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from bot.store.pace import PaceRepository
from bot.vendors.limiter import RatePolicy, release_margin


class SharedPace:
    """Takes slots of shared limits; ``time_scale`` divides the windows (tests), as the limiters' does."""

    def __init__(
        self, store: PaceRepository, *, time_scale: float = 1.0, wall: Callable[[], float] = time.time
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self._store = store
        self._scale = time_scale
        self._wall = wall

    async def take(self, key: str, policy: RatePolicy) -> float:
        """Reserve a slot of ``key`` under ``policy`` and wait for it; the seconds waited."""
        window = policy.window.total_seconds() / self._scale
        # As the in-process limiters do: a slot frees a little after its window, so the spread of
        # network latency never lets Slack see one post too many in its own window.
        held = window + release_margin(window)
        at = await self._store.reserve(key, policy.limit, held, self._wall())
        wait = at - self._wall()
        if wait > 0:
            await asyncio.sleep(wait)
        return max(wait, 0.0)
