"""Shared pace slots on both backends: no window of the limit's length ever holds more than the limit,
whoever reserves, and two databases' worth of callers (two replicas) reserving at once count together."""

from __future__ import annotations

import asyncio

from bot.store.db import Database
from bot.store.repositories import Repositories


async def test_a_slot_past_the_limit_waits_for_the_oldest_counted_one_to_leave_the_window(
    store: Repositories,
) -> None:
    taken = [await store.pace.reserve("slack:T1:workspace", 3, 10.0, now=100.0) for _ in range(7)]
    assert taken == [100.0, 100.0, 100.0, 110.0, 110.0, 110.0, 120.0]
    # Another key has its own allowance; a later call starts from its own now once the window passed.
    assert await store.pace.reserve("slack:T2:workspace", 3, 10.0, now=100.0) == 100.0
    assert await store.pace.reserve("slack:T1:workspace", 3, 10.0, now=200.0) == 200.0


async def test_two_replicas_reserving_at_once_share_one_allowance(database_url: str) -> None:
    first, second = Database(database_url), Database(database_url)
    await first.upgrade()
    try:
        replicas = [Repositories.on(first), Repositories.on(second)]
        slots = await asyncio.gather(
            *(
                replicas[index % 2].pace.reserve("slack:T1:workspace", 5, 60.0, now=1000.0)
                for index in range(40)
            )
        )
    finally:
        await first.dispose()
        await second.dispose()
    ordered = sorted(slots)
    assert ordered == sorted([1000.0 + 60.0 * (index // 5) for index in range(40)])
    # Any 60-second window holds at most 5 of them.
    assert all(sum(1 for slot in ordered if start <= slot < start + 60.0) <= 5 for start in ordered)
