"""Limit requests: stored when asked, decided by one compare-and-set on their state.

The state change is a single ``UPDATE … WHERE state = :expected``, so of two clicks (a double click, a
replayed request, two admins, two replicas) exactly one sees its row change and goes on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, func, select, update

from bot.store.db import Database
from bot.store.models import LimitRequest


class LimitRequestRepository:
    """Adds, reads and moves :class:`LimitRequest` rows."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, request: LimitRequest) -> LimitRequest:
        async with self._db.write() as session:
            session.add(request)
            await session.flush()
            await session.refresh(request)
        return request

    async def get(self, team_id: str, request_id: int) -> LimitRequest | None:
        """The request ``request_id`` of ``team_id`` (None for another workspace's: ids are not trusted)."""
        async with self._db.session() as session:
            rows = await session.exec(
                select(LimitRequest).where(LimitRequest.id == request_id, LimitRequest.team_id == team_id)
            )
            return rows.first()

    async def move(self, request_id: int, expected: str, state: str, **fields: Any) -> bool:
        """Set ``state`` (and ``fields``) if the request is still in ``expected``; False if it moved on."""
        async with self._db.write() as session:
            result = await session.exec(
                update(LimitRequest)
                .where(col(LimitRequest.id) == request_id, col(LimitRequest.state) == expected)
                .values(state=state, **fields)
            )
            return bool(result.rowcount == 1)

    async def count_since(self, team_id: str, requester_id: str, since: datetime) -> int:
        """How many requests ``requester_id`` made since ``since`` (to refuse a flood of them)."""
        async with self._db.session() as session:
            rows = await session.exec(
                select(func.count())
                .select_from(LimitRequest)
                .where(
                    LimitRequest.team_id == team_id,
                    LimitRequest.requester_id == requester_id,
                    col(LimitRequest.created_at) >= since,
                )
            )
            return int(rows.one())

    async def pending_count(self, team_id: str) -> int:
        """How many of the workspace's requests wait for a decision."""
        async with self._db.session() as session:
            rows = await session.exec(
                select(func.count())
                .select_from(LimitRequest)
                .where(LimitRequest.team_id == team_id, LimitRequest.state == "pending")
            )
            return int(rows.one())
