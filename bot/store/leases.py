"""Lease rows: taking one is a single atomic upsert, so only one process holds a name at a time.

The upsert inserts the row, or takes over an existing one only when it expired or is already ours; its
``RETURNING`` says who holds the row afterwards. Both backends do this in one statement.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, delete

from bot.store.db import Database, execute
from bot.store.models import Lease


class LeaseRepository:
    """Takes, gives back and purges :class:`Lease` rows."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def take(self, name: str, holder: str, now: datetime, expires_at: datetime) -> bool:
        """Hold ``name`` for ``holder`` until ``expires_at`` unless someone else holds it past ``now``."""
        values = {"name": name, "holder": holder, "expires_at": expires_at}
        dialect_insert = sqlite_insert if self._db.is_sqlite else pg_insert
        statement = (
            dialect_insert(Lease)
            .values(**values)
            .on_conflict_do_update(
                index_elements=["name"],
                set_={"holder": holder, "expires_at": expires_at},
                where=(col(Lease.expires_at) <= now) | (col(Lease.holder) == holder),
            )
            .returning(col(Lease.holder))
        )
        async with self._db.write() as session:
            row = (await execute(session, statement)).first()
        return row is not None and row[0] == holder

    async def give_back(self, name: str, holder: str) -> None:
        """Drop ``name`` if ``holder`` holds it (never someone else's lease)."""
        async with self._db.write() as session:
            await execute(session, delete(Lease).where(col(Lease.name) == name, col(Lease.holder) == holder))

    async def purge_expired_before(self, cutoff: datetime) -> None:
        async with self._db.write() as session:
            await execute(session, delete(Lease).where(col(Lease.expires_at) < cutoff))
