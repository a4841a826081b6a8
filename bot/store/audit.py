"""The audit log's rows: written with the change they record, read newest first per workspace."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.db import Database
from bot.store.models import AuditEntry


class AuditRepository:
    """Stores and reads :class:`AuditEntry` rows."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, session: AsyncSession, entry: AuditEntry) -> None:
        """Add ``entry`` to the caller's write transaction, so the change and its record commit together."""
        session.add(entry)

    async def record(self, entry: AuditEntry) -> None:
        """Write ``entry`` in a transaction of its own."""
        async with self._db.write() as session:
            session.add(entry)

    async def recent(self, team_id: str, limit: int) -> list[AuditEntry]:
        """The latest ``limit`` entries of ``team_id``, newest first."""
        async with self._db.session() as session:
            rows = await session.exec(
                select(AuditEntry)
                .where(AuditEntry.team_id == team_id)
                .order_by(col(AuditEntry.created_at).desc(), col(AuditEntry.id).desc())
                .limit(limit)
            )
            return list(rows.all())
