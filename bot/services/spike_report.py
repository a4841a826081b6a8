"""Spikes in the stored history: each person's UTC days on each dollar source, judged by ``domain.spikes``.

Only sources whose per-person figures are money in dollars take part (Cursor, Copilot, Windsurf with a
credit price): a spike is about money. Read from the per-person day rollups alone, 29 days a source.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from bot.domain.spikes import (
    BASELINE_DAYS,
    DEFAULT_FACTOR,
    DEFAULT_MINIMUM_CENTS,
    ReplayedPost,
    Spike,
    replay,
    spikes_on,
)
from bot.domain.vendors import traits
from bot.services.usage_figures import UsageFigures
from bot.store import usage
from bot.store.db import Database
from bot.store.models import Connection


class SpikeReport:
    """Finds the people whose UTC day was far above their own usual."""

    def __init__(self, db: Database, figures: UsageFigures) -> None:
        self._db = db
        self._figures = figures

    async def on(
        self,
        connections: list[Connection],
        day: date,
        *,
        factor: Decimal = DEFAULT_FACTOR,
        minimum_cents: Decimal = DEFAULT_MINIMUM_CENTS,
    ) -> list[Spike]:
        """The spikes of UTC ``day`` over ``connections``, largest excess first."""
        series = await self._series(connections, day - timedelta(days=BASELINE_DAYS), day)
        return spikes_on(day, series, factor=factor, minimum_cents=minimum_cents)

    async def replay(
        self,
        connections: list[Connection],
        first: date,
        last: date,
        *,
        factor: Decimal,
        minimum_cents: Decimal,
    ) -> list[ReplayedPost]:
        """What ``subscribe spike`` would have posted over the UTC days ``first..last`` (``backtest``)."""
        series = await self._series(connections, first - timedelta(days=BASELINE_DAYS), last)
        return replay(first, last, series, factor=factor, minimum_cents=minimum_cents)

    async def _series(
        self, connections: list[Connection], first: date, last: date
    ) -> dict[tuple[str, str, str], dict[date, Decimal]]:
        """Cents per UTC day ``first..last`` of each (person, connection, vendor) of the dollar sources."""
        series: dict[tuple[str, str, str], dict[date, Decimal]] = {}
        async with self._db.session() as session:
            for connection in connections:
                priced = self._figures.usd_cents(connection, Decimal(1))
                if connection.id is None or not traits(connection.vendor).spend_by_person or priced is None:
                    continue
                for email, days in (
                    await usage.user_day_amounts(session, connection.id, first, last)
                ).items():
                    series[(email, connection.name, connection.vendor)] = {
                        when: self._figures.usd_cents(connection, amount) or Decimal(0)
                        for when, amount in days.items()
                    }
        return series
