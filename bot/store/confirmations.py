"""Used confirmation tokens: a unique insert is what lets exactly one click of a button through."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete

from bot.store.db import Database, execute
from bot.store.models import ConfirmationUse


class ConfirmationRepository:
    """Claims and releases :class:`ConfirmationUse` rows."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def claim(self, use: ConfirmationUse) -> bool:
        """Insert ``use``; False when its token was claimed before (the primary key refused it)."""
        try:
            async with self._db.write() as session:
                session.add(use)
        except IntegrityError:
            return False
        return True

    async def release(self, token: str) -> None:
        """Forget the claim of ``token``."""
        async with self._db.write() as session:
            await execute(session, delete(ConfirmationUse).where(col(ConfirmationUse.token) == token))
