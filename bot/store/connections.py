"""Workspaces and their vendor connections, scoped by team id.

Deleting a workspace cascades (foreign keys) to its connections and everything hanging off them. The
writes that must hold against a second replica say so in their WHERE clause: a stored key is replaced
only if it is still the one read, a connection added in Slack is removed only if it still is one.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.db import Database
from bot.store.models import Connection, Workspace


class ConnectionRepository:
    """Reads and writes :class:`Workspace` and :class:`Connection` rows."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # ----- workspaces ------------------------------------------------------------------------------

    async def ensure_workspace(self, team_id: str, name: str | None, origin: str, now: datetime) -> None:
        """Insert the workspace row if missing; rename it when a new non-empty ``name`` is known."""
        async with self._db.write() as session:
            workspace = await session.get(Workspace, team_id)
            if workspace is None:
                session.add(Workspace(team_id=team_id, name=name, origin=origin, installed_at=now))
            elif name and workspace.name != name:
                workspace.name = name
                session.add(workspace)

    async def delete_workspace(self, team_id: str) -> list[int]:
        """Delete the workspace (its connections follow by cascade); the ids its connections had."""
        async with self._db.write() as session:
            ids = (await session.exec(select(Connection.id).where(Connection.team_id == team_id))).all()
            await session.exec(delete(Workspace).where(col(Workspace.team_id) == team_id))
        return [connection_id for connection_id in ids if connection_id is not None]

    # ----- reading ---------------------------------------------------------------------------------

    async def for_team(self, team_id: str) -> list[Connection]:
        """The connections of ``team_id`` by name."""
        async with self._db.session() as session:
            rows = await session.exec(
                select(Connection).where(Connection.team_id == team_id).order_by(col(Connection.name))
            )
            return list(rows.all())

    async def every(self) -> list[Connection]:
        """Every workspace's connections, by id."""
        async with self._db.session() as session:
            return list((await session.exec(select(Connection).order_by(col(Connection.id)))).all())

    async def named(self, team_id: str, name: str) -> Connection | None:
        async with self._db.session() as session:
            rows = await session.exec(
                select(Connection).where(Connection.team_id == team_id, Connection.name == name)
            )
            return rows.first()

    async def by_id(self, connection_id: int) -> Connection | None:
        async with self._db.session() as session:
            return await session.get(Connection, connection_id)

    async def not_from_the_environment(self) -> list[Connection]:
        """Connections added in Slack, in every workspace, by workspace then name."""
        async with self._db.session() as session:
            rows = await session.exec(
                select(Connection)
                .where(Connection.origin != "env")
                .order_by(col(Connection.team_id), col(Connection.name))
            )
            return list(rows.all())

    # ----- in the caller's transaction -------------------------------------------------------------

    async def declared_in_the_environment(self, session: AsyncSession) -> list[Connection]:
        """Every workspace's env connections, to upsert the declared ones and drop the rest."""
        return list((await session.exec(select(Connection).where(Connection.origin == "env"))).all())

    async def clashing_with_env(self, session: AsyncSession, team_id: str, name: str) -> Connection | None:
        """A connection of ``team_id`` named ``name`` that is not from the environment."""
        rows = await session.exec(
            select(Connection).where(
                Connection.team_id == team_id,
                Connection.name == name,
                Connection.origin != "env",
            )
        )
        return rows.first()

    async def name_taken(self, session: AsyncSession, team_id: str, name: str) -> bool:
        clash = await session.exec(
            select(Connection.id).where(Connection.team_id == team_id, Connection.name == name)
        )
        return clash.first() is not None

    def save(self, session: AsyncSession, row: Connection) -> None:
        session.add(row)

    async def delete(self, session: AsyncSession, row: Connection) -> None:
        await session.delete(row)

    async def delete_added_in_slack(self, session: AsyncSession, connection_id: int, team_id: str) -> bool:
        """Delete the connection if it is still ``team_id``'s and added in Slack; False when it is not."""
        result = await session.exec(
            delete(Connection).where(
                col(Connection.id) == connection_id,
                col(Connection.team_id) == team_id,
                col(Connection.origin) == "slack",
            )
        )
        return bool(result.rowcount)

    # ----- status and keys -------------------------------------------------------------------------

    async def set_status(self, connection_id: int, status: str, detail: str | None, now: datetime) -> None:
        """Record a connection's health; the row is written only when the status or its detail changed."""
        async with self._db.write() as session:
            row = await session.get(Connection, connection_id)
            if row is None:
                return
            if row.status != status or row.status_detail != detail:
                row.status = status
                row.status_detail = detail[:500] if detail else None
                row.status_at = now
                session.add(row)

    async def stored_keys(self) -> list[tuple[int, str, str, str]]:
        """``(id, name, team id, ciphertext)`` of every connection with a stored key, by id."""
        async with self._db.session() as session:
            rows = (
                await session.exec(
                    select(Connection.id, Connection.name, Connection.team_id, Connection.secret_ciphertext)
                    .where(col(Connection.secret_ciphertext).is_not(None))
                    .order_by(col(Connection.id))
                )
            ).all()
        return [
            (i, name, team, cipher) for i, name, team, cipher in rows if i is not None and cipher is not None
        ]

    async def replace_key(self, connection_id: int, old: str, new: str) -> None:
        """Store ``new`` as the key ciphertext only if ``old`` is still there (a key re-entered stays)."""
        async with self._db.write() as session:
            await session.exec(
                update(Connection)
                .where(col(Connection.id) == connection_id, col(Connection.secret_ciphertext) == old)
                .values(secret_ciphertext=new)
            )
