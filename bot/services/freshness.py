"""How fresh each source's data is, and syncing it first when a reader is waiting and it is too old.

Every answer says how fresh each source's data is. When a source's data is older than its vendor's
refresh interval, it is synced first within a short budget; if the vendor is slow or failing, the
answer says so and uses what is stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.domain.vendors import traits
from bot.messages.answers import Freshness
from bot.services.clock import Clock
from bot.services.sync import SyncReport, SyncService
from bot.store.models import Connection, SyncState
from bot.vendors import interactive

FRESHEN_BUDGET_SECONDS = 3.0
OVERDUE_FACTOR = 1.5
"""Data older than this many of its refresh intervals is shown as overdue: the interval, plus time for
the sync tick to start it and for it to run."""


class Freshener:
    """Syncs stale connections within a budget before an answer, and reports each one's freshness."""

    def __init__(
        self,
        sync: SyncService,
        *,
        clock: Clock,
        sync_interval: timedelta,
        freshen_budget: float = FRESHEN_BUDGET_SECONDS,
    ) -> None:
        self._sync = sync
        self._clock = clock
        self._sync_interval = sync_interval
        self._budget = freshen_budget
        self._background: set[asyncio.Task[SyncReport]] = set()

    async def freshen(self, connections: Sequence[Connection]) -> dict[int, str]:
        """Sync the connections whose data is too old, within the budget; returns problems by connection id.

        A sync that outlives the budget carries on in the background; the answer uses what is stored.
        """
        return await self._freshen(self._stale(connections, await self._states(connections)))

    async def _freshen(self, stale: dict[int, Connection]) -> dict[int, str]:
        if not stale:
            return {}
        with interactive():  # a person is waiting: these requests go before background work
            tasks = {
                connection_id: asyncio.create_task(self._sync.sync(connection))
                for connection_id, connection in stale.items()
            }
        _, pending = await asyncio.wait(tasks.values(), timeout=self._budget)
        problems: dict[int, str] = {}
        for connection_id, task in tasks.items():
            if task in pending:
                self._background.add(task)
                task.add_done_callback(self._background.discard)
                problems[connection_id] = (
                    "still fetching newer data (the vendor is slow); showing what is stored"
                )
                continue
            report = task.result()
            if not report.ok:
                problems[connection_id] = "; ".join(report.errors) + "; showing what is stored"
        return problems

    async def _states(self, connections: Sequence[Connection]) -> dict[int, dict[str, SyncState]]:
        found: dict[int, dict[str, SyncState]] = {}
        for connection in connections:
            assert connection.id is not None
            found[connection.id] = await self._sync.states(connection.id)
        return found

    def _stale(
        self, connections: Sequence[Connection], states: dict[int, dict[str, SyncState]]
    ) -> dict[int, Connection]:
        now = self._clock()
        return {
            connection_id: connection
            for connection in connections
            if (connection_id := connection.id) is not None
            and not self._sync.is_fresh(connection, states[connection_id], now)
        }

    async def freshness(self, connection: Connection, problems: dict[int, str]) -> Freshness:
        """How old a connection's main data is, and the problem to show beside it (this sync's or its own)."""
        assert connection.id is not None
        return self._freshness(connection, await self._sync.states(connection.id), problems)

    def _freshness(
        self, connection: Connection, states: dict[str, SyncState], problems: dict[int, str]
    ) -> Freshness:
        state = states.get(traits(connection.vendor).main_dataset)
        problem = problems.get(connection.id) if connection.id is not None else None
        if problem is None and connection.status in ("failing", "rejected") and connection.status_detail:
            problem = connection.status_detail
        as_of = state.data_as_of if state else None
        return Freshness(connection.name, connection.vendor, as_of, problem, self._overdue(as_of))

    def _overdue(self, as_of: datetime | None) -> timedelta | None:
        """The sync interval when the data is older than ``OVERDUE_FACTOR`` of it (a sync overran it),
        else None. (Live data is refreshed more often, by the alert checks, but only in workspaces that
        have alerts: the sync interval is what every connection is held to.)"""
        if as_of is None or self._clock() - as_of <= self._sync_interval * OVERDUE_FACTOR:
            return None
        return self._sync_interval

    async def prepared(self, connections: Sequence[Connection]) -> tuple[Freshness, ...]:
        """Freshen the connections, then say how fresh each one is (in their order); the sync records
        are read once, and again only for the connections just synced."""
        states = await self._states(connections)
        stale = self._stale(connections, states)
        problems = await self._freshen(stale)
        states.update(await self._states(list(stale.values())))
        found = []
        for connection in connections:
            assert connection.id is not None
            found.append(self._freshness(connection, states[connection.id], problems))
        return tuple(found)

    async def reported(
        self, connections: Sequence[Connection], problems: dict[int, str] | None = None
    ) -> tuple[Freshness, ...]:
        """How fresh each connection is, without syncing: for an answer on whole past days
        (``backtest``), which a sync of today would not change."""
        return tuple([await self.freshness(connection, problems or {}) for connection in connections])
