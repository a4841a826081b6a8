"""Short claims on scheduled work, held in the database, so that several replicas do not do it twice.

A lease is a row named after the work ("sync:42", "digest:7:2026-11-20"); taking it is one atomic
statement (insert, or take over a row whose lease has expired), so only one process gets it whatever
the backend. Leases only save duplicate work; what must never happen twice (a post) is also guarded by
the delivery ledger's unique key.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from bot.services.clock import Clock
from bot.store.leases import LeaseRepository

log = logging.getLogger(__name__)


class Leases:
    """Claims and releases named leases for this process (``holder`` identifies it)."""

    def __init__(self, store: LeaseRepository, *, clock: Clock, holder: str | None = None) -> None:
        self._store = store
        self._clock = clock
        self.holder = holder or secrets.token_hex(8)

    async def claim(self, name: str, ttl: timedelta) -> bool:
        """Take ``name`` for ``ttl`` if nobody holds it (or their lease expired); True when we hold it."""
        now = self._clock()
        return await self._store.take(name[:200], self.holder, now, now + ttl)

    async def release(self, name: str) -> None:
        await self._store.give_back(name[:200], self.holder)

    async def purge_expired(self) -> None:
        await self._store.purge_expired_before(self._clock() - timedelta(days=1))
