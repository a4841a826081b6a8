"""The sync's writes with every person stored under their canonical email (``SPENDBOT_PERSON_ALIASES``).

One place applies the aliases, on write, for every vendor: usage rows (whole days and quarter hours),
members and cycle spend. Rows that become one person's are added together, so nothing is lost or
counted twice. A change of the aliases applies to what is synced after it; ``sync --backfill``
rewrites history with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

from bot.domain.people import PersonAliases
from bot.domain.usage import SpendRow
from bot.store.db import Database
from bot.store.models import CycleSpendRow, MemberRow
from bot.store.sync import SyncRecords

__all__ = ["AliasedSyncRecords", "merged_rows"]


def merged_rows(rows: Sequence[SpendRow]) -> list[SpendRow]:
    """One row per (bucket, person, model): amounts, requests and tokens of rows sharing a key are added."""
    merged: dict[tuple[datetime, str | None, str | None], SpendRow] = {}
    for row in rows:
        key = (row.bucket_start, row.user_email, row.model)
        seen = merged.get(key)
        merged[key] = (
            row
            if seen is None
            else replace(
                seen,
                amount=seen.amount + row.amount,
                requests=seen.requests + row.requests,
                tokens=seen.tokens + row.tokens,
            )
        )
    return list(merged.values())


class AliasedSyncRecords(SyncRecords):
    """:class:`SyncRecords` whose writes store people under :meth:`PersonAliases.canonical`."""

    def __init__(self, db: Database, aliases: PersonAliases) -> None:
        super().__init__(db)
        self._aliases = aliases

    def _spend(self, rows: Sequence[SpendRow]) -> Sequence[SpendRow]:
        if not self._aliases:
            return rows
        canonical = self._aliases.canonical
        return merged_rows(
            [
                row if row.user_email is None else replace(row, user_email=canonical(row.user_email))
                for row in rows
            ]
        )

    async def replace_days(
        self, connection_id: int, first: date, last: date, rows: Sequence[SpendRow]
    ) -> None:
        await super().replace_days(connection_id, first, last, self._spend(rows))

    async def replace_quarter_hours(
        self,
        connection_id: int,
        start: datetime,
        end: datetime,
        rows: Sequence[SpendRow],
        coverage: tuple[datetime, datetime, datetime | None] | None,
    ) -> None:
        await super().replace_quarter_hours(connection_id, start, end, self._spend(rows), coverage)

    async def replace_members(self, connection_id: int, rows: Sequence[MemberRow]) -> None:
        kept: dict[str, MemberRow] = {}
        for row in rows:
            row.email = self._aliases.canonical(row.email)
            seen = kept.setdefault(row.email, row)
            if seen is not row and row.last_active_at is not None:  # one person's two seats: the later use
                seen.last_active_at = max(filter(None, (seen.last_active_at, row.last_active_at)))
        await super().replace_members(connection_id, list(kept.values()))

    async def replace_cycle_spend(
        self, connection_id: int, cycle_start: datetime, rows: Sequence[CycleSpendRow]
    ) -> None:
        kept: dict[str, CycleSpendRow] = {}
        for row in rows:
            row.user_email = self._aliases.canonical(row.user_email)
            seen = kept.setdefault(row.user_email, row)
            if seen is not row:  # two keys of one person on one team: their spend is theirs together
                seen.total = seen.total + row.total
                if row.on_demand is not None:
                    seen.on_demand = (seen.on_demand or Decimal(0)) + row.on_demand
        await super().replace_cycle_spend(connection_id, cycle_start, list(kept.values()))
