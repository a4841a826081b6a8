"""What a sync records besides usage history: its progress per dataset, and the latest vendor figures.

Sync state (one row per connection and dataset: watermark, coverage, last success, failures), the
members of a connection, the current billing cycle's spend per person, credit balance snapshots,
tracked figures and rate-limit readings. The quarter-hour and day usage rows are ``bot.store.usage``'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.usage import RateLimitStatus, SpendRow
from bot.store import cycle_spend, running
from bot.store import usage as usage_store
from bot.store.db import Database, execute
from bot.store.models import (
    CreditSnapshot,
    CycleSpendRow,
    MemberRow,
    RateLimitReading,
    SyncState,
    TrackedFigureRow,
)


class SyncRecords:
    """Reads and writes the rows a sync keeps per connection (see the module docstring)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # ----- sync state ------------------------------------------------------------------------------

    async def states(self, connection_id: int) -> dict[str, SyncState]:
        """The sync state of each dataset of a connection, by dataset."""
        async with self._db.session() as session:
            rows = await session.exec(select(SyncState).where(SyncState.connection_id == connection_id))
            return {row.dataset: row for row in rows.all()}

    async def last_success_by_connection(self, connection_ids: Sequence[int]) -> dict[int, datetime | None]:
        """The latest successful sync of any dataset, per connection (absent: never synced)."""
        async with self._db.session() as session:
            found = await session.exec(
                select(SyncState.connection_id, func.max(SyncState.last_success_at))
                .where(col(SyncState.connection_id).in_(connection_ids))
                .group_by(col(SyncState.connection_id))
            )
            return dict(found.all())

    async def _sync_state(self, session: AsyncSession, connection_id: int, dataset: str) -> SyncState:
        """The stored state of a dataset in the caller's transaction, or a new one to fill and save."""
        state = await session.get(SyncState, (connection_id, dataset))
        return state if state is not None else SyncState(connection_id=connection_id, dataset=dataset)

    async def record_success(
        self,
        connection_id: int,
        dataset: str,
        attempt_at: datetime,
        succeeded_at: datetime,
        watermark: datetime | None,
    ) -> None:
        """A dataset synced: its data is as of ``attempt_at``, and its failure count starts again."""
        async with self._db.write() as session:
            state = await self._sync_state(session, connection_id, dataset)
            state.last_attempt_at = attempt_at
            state.last_success_at = succeeded_at
            state.data_as_of = attempt_at
            state.last_error = None
            state.consecutive_failures = 0
            if watermark is not None:
                state.watermark = watermark
            session.add(state)

    async def record_failure(
        self, connection_id: int, dataset: str, attempt_at: datetime, error: str
    ) -> None:
        """A dataset failed to sync: keep the error and count one more failure in a row."""
        async with self._db.write() as session:
            state = await self._sync_state(session, connection_id, dataset)
            state.last_attempt_at = attempt_at
            state.last_error = error
            state.consecutive_failures += 1
            session.add(state)

    # ----- figures of the last sync ----------------------------------------------------------------

    async def replace_cycle_spend(
        self, connection_id: int, cycle_start: datetime, rows: Sequence[CycleSpendRow]
    ) -> None:
        """Make a billing cycle's spend rows exactly ``rows`` (one per person), in one transaction."""
        async with self._db.write() as session:
            await execute(
                session,
                delete(CycleSpendRow).where(
                    col(CycleSpendRow.connection_id) == connection_id,
                    col(CycleSpendRow.cycle_start) == cycle_start,
                ),
            )
            session.add_all(rows)

    async def replace_members(self, connection_id: int, rows: Sequence[MemberRow]) -> None:
        """Make a connection's members exactly ``rows`` (one per email), in one transaction."""
        async with self._db.write() as session:
            await execute(session, delete(MemberRow).where(col(MemberRow.connection_id) == connection_id))
            session.add_all(rows)

    async def add_reading(self, row: CreditSnapshot | TrackedFigureRow) -> None:
        """Keep one more observation of a credit balance or a tracked figure."""
        async with self._db.write() as session:
            session.add(row)

    async def save_rate_limits(
        self,
        connection_id: int,
        statuses: Sequence[RateLimitStatus],
        limiter_totals: Mapping[str, tuple[int, float]],
    ) -> None:
        """Keep the latest reading of each rate-limit scope, with our limiter's 429 count and waits.

        A scope without a limiter of ours keeps the totals it had.
        """
        async with self._db.write() as session:
            for status in statuses:
                row = await session.get(RateLimitReading, (connection_id, status.scope))
                if row is None:
                    row = RateLimitReading(
                        connection_id=connection_id, scope=status.scope, observed_at=status.observed_at
                    )
                row.limit = status.limit
                row.remaining = status.remaining
                row.reset_at = status.reset_at
                row.window_seconds = int(status.window.total_seconds()) if status.window else None
                row.observed_at = status.observed_at
                totals = limiter_totals.get(status.scope)
                if totals is not None:
                    row.rate_limited_total, row.waited_seconds_total = totals
                session.add(row)

    # ----- members ---------------------------------------------------------------------------------

    async def connections_with_member(self, connection_ids: Sequence[int], email: str) -> set[int]:
        """Which of ``connection_ids`` had ``email`` among their members at the last sync."""
        async with self._db.session() as session:
            rows = await session.exec(
                select(MemberRow.connection_id).where(
                    col(MemberRow.connection_id).in_(connection_ids), MemberRow.email == email
                )
            )
            return set(rows.all())

    async def membership(
        self, connection_id: int, email: str
    ) -> tuple[MemberRow | None, CycleSpendRow | None]:
        """A person's member row and newest cycle spend row on a connection, read together."""
        async with self._db.session() as session:
            member = await session.get(MemberRow, (connection_id, email))
            spend = await cycle_spend.latest_cycle_spend(session, connection_id, email)
        return member, spend

    # ----- usage history, with the progress it makes -----------------------------------------------

    async def replace_quarter_hours(
        self,
        connection_id: int,
        start: datetime,
        end: datetime,
        rows: Sequence[SpendRow],
        coverage: tuple[datetime, datetime, datetime | None] | None,
    ) -> None:
        """Replace ``[start, end)`` of quarter-hour history and, in the same transaction, note how far
        back the usage history is now complete (``coverage``: covered from, target, watermark or None),
        so a crash never leaves the state claiming rows that are not there."""
        async with self._db.write() as session:
            await usage_store.replace_buckets(session, connection_id, start, end, rows)
            if coverage is not None:
                covered_from, target_from, watermark = coverage
                state = await self._sync_state(session, connection_id, "usage")
                state.covered_from = covered_from
                state.target_from = target_from
                if watermark is not None:
                    state.watermark = watermark
                session.add(state)

    async def replace_days(
        self, connection_id: int, first: date, last: date, rows: Sequence[SpendRow]
    ) -> None:
        """Replace days ``first..last`` of whole-day history (sources without timestamps)."""
        async with self._db.write() as session:
            await usage_store.replace_days(session, connection_id, first, last, rows)

    async def refresh_running_totals(self, connection_id: int) -> None:
        """Rebuild the running totals by person the writes made stale, a few days per transaction.

        Read first: every sync of every connection ends here, and most have nothing stale (a source
        without usage, a sync that wrote nothing), so they take no write lock for nothing.
        """
        async with self._db.session() as session:
            state = (await running.states(session, [connection_id])).get(connection_id)
        more = state is not None and state.stale_from is not None
        steps = 0
        while more:
            async with self._db.write() as session:
                more = await running.rebuild_step(session, connection_id)
            steps += 1
        if steps > 1:  # more than a week rewritten (a backfill): the planner's figures of the history are old
            await self._db.analyze(usage_store.HISTORY_TABLES)

    async def requests_by_utc_day(self, connection_id: int, first: date, last: date) -> dict[date, Decimal]:
        async with self._db.session() as session:
            return await usage_store.requests_by_utc_day(session, connection_id, first, last)
