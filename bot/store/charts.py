"""Which Slack file holds a chart in a workspace, so each chart is uploaded once per workspace."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from bot.store.db import Database
from bot.store.models import ChartFile


class ChartFileRepository:
    """Reads and remembers :class:`ChartFile` rows."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def file_id(self, team_id: str, chart_key: str) -> str | None:
        async with self._db.session() as session:
            row = await session.get(ChartFile, (team_id, chart_key))
        return row.file_id if row is not None else None

    async def remember(self, row: ChartFile) -> bool:
        """Insert ``row``; False when another upload of the same chart was remembered first."""
        try:
            async with self._db.write() as session:
                session.add(row)
        except IntegrityError:
            return False
        return True
