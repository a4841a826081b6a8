"""Leases: one holder at a time, taken over only once expired, given back only by their holder."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.store.db import Database
from bot.store.models import Lease
from bot.store.repositories import Repositories
from tests.store.rows import NOW

LATER = NOW + timedelta(minutes=5)


async def test_a_held_lease_is_refused_to_others_until_it_expires(store: Repositories) -> None:
    leases = store.leases
    assert await leases.take("sync:1", "a", NOW, LATER)
    assert not await leases.take("sync:1", "b", NOW, LATER)
    assert await leases.take("sync:1", "a", NOW, LATER)  # the holder renews
    assert await leases.take("sync:1", "b", LATER, LATER + timedelta(minutes=5))  # expired: taken over
    assert not await leases.take("sync:1", "a", LATER, LATER + timedelta(minutes=5))


async def test_concurrent_takes_let_one_holder_through(store: Repositories) -> None:
    outcomes = await asyncio.gather(*(store.leases.take("digest:7", f"h{i}", NOW, LATER) for i in range(6)))
    assert sorted(outcomes) == [False] * 5 + [True]


async def test_only_the_holder_gives_a_lease_back_and_old_ones_are_purged(
    database: Database, store: Repositories
) -> None:
    leases = store.leases
    await leases.take("a", "me", NOW, LATER)
    await leases.take("old", "me", NOW - timedelta(days=3), NOW - timedelta(days=2))
    await leases.give_back("a", "someone else")
    assert not await leases.take("a", "other", NOW, LATER)
    await leases.give_back("a", "me")
    assert await leases.take("a", "other", NOW, LATER)
    await leases.purge_expired_before(NOW - timedelta(days=1))
    async with database.session() as session:
        assert await session.get(Lease, "old") is None
        assert await session.get(Lease, "a") is not None
