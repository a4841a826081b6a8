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

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, delete

from bot.services.clock import Clock
from bot.store.db import Database, execute
from bot.store.models import Lease

log = logging.getLogger(__name__)


class Leases:
    """Claims and releases named leases for this process (``holder`` identifies it)."""

    def __init__(self, db: Database, *, clock: Clock, holder: str | None = None) -> None:
        self._db = db
        self._clock = clock
        self.holder = holder or secrets.token_hex(8)

    async def claim(self, name: str, ttl: timedelta) -> bool:
        """Take ``name`` for ``ttl`` if nobody holds it (or their lease expired); True when we hold it."""
        now = self._clock()
        values = {"name": name[:200], "holder": self.holder, "expires_at": now + ttl}
        dialect_insert = sqlite_insert if self._db.is_sqlite else pg_insert
        statement = (
            dialect_insert(Lease)
            .values(**values)
            .on_conflict_do_update(
                index_elements=["name"],
                set_={"holder": self.holder, "expires_at": now + ttl},
                where=(col(Lease.expires_at) <= now) | (col(Lease.holder) == self.holder),
            )
            .returning(col(Lease.holder))
        )
        async with self._db.write() as session:
            row = (await execute(session, statement)).first()
        return row is not None and row[0] == self.holder

    async def release(self, name: str) -> None:
        async with self._db.write() as session:
            await execute(
                session, delete(Lease).where(col(Lease.name) == name[:200], col(Lease.holder) == self.holder)
            )

    async def purge_expired(self) -> None:
        async with self._db.write() as session:
            await execute(
                session, delete(Lease).where(col(Lease.expires_at) < self._clock() - timedelta(days=1))
            )
