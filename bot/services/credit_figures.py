"""What is left per connection: credit pools and runway, people near their spend limit, the tracked
figure, and rate-limit headroom.

These are the figures ``credits``, ``limits`` and ``status`` show and that digests and alerts watch;
each is read from what the last sync stored, never fetched here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.domain.forecast import NEAR_LIMIT_PERCENT, daily_burn, runway
from bot.domain.usage import CreditPool
from bot.messages.answers import CreditView, LimitWatch, NearLimit, TrackedView, WindowView
from bot.services.clock import Clock
from bot.services.usage_figures import UsageFigures
from bot.store import credit_snapshots, cycle_spend, rate_limit_readings, tracked_figures
from bot.store.db import Database
from bot.store.models import Connection, CreditSnapshot, CycleSpendRow, RateLimitReading, TrackedFigureRow

ZERO = Decimal(0)
DAY_BEFORE = timedelta(hours=23)
"""A tracked figure is compared with the newest reading at least this much older (about a day)."""


def pools_of(stored: Iterable[Mapping[str, str]]) -> tuple[CreditPool, ...]:
    """The credit pools of a snapshot, as stored (name, size, used), with amounts as ``Decimal``."""
    return tuple(
        CreditPool(
            str(pool.get("name")), Decimal(str(pool.get("size", "0"))), Decimal(str(pool.get("used", "0")))
        )
        for pool in stored
    )


def near_limit(rows: Iterable[CycleSpendRow], threshold: Decimal) -> list[NearLimit]:
    """The people with a limit who spent ``threshold``% of it or more (or whose limit is zero), most first."""
    near = [
        NearLimit(row.user_email, row.name, row.total, row.limit_cents)
        for row in rows
        if row.limit_cents is not None
        and (row.limit_cents <= 0 or row.total * 100 >= threshold * row.limit_cents)
    ]
    near.sort(key=lambda item: (-item.percent, item.email))
    return near


def window_view(row: RateLimitReading) -> WindowView:
    """A stored rate-limit reading as the answers show it."""
    return WindowView(
        scope=row.scope,
        limit=row.limit,
        remaining=row.remaining,
        reset_at=row.reset_at,
        window_seconds=row.window_seconds,
        rate_limited_total=row.rate_limited_total,
        waited_seconds_total=row.waited_seconds_total,
        observed_at=row.observed_at,
    )


class CreditFigures:
    """Credit pools, limit watches, tracked figures and rate-limit windows of one connection at a time."""

    def __init__(self, db: Database, figures: UsageFigures, *, clock: Clock) -> None:
        self._db = db
        self._figures = figures
        self._clock = clock

    async def credit_view(self, connection: Connection, tz: ZoneInfo) -> CreditView | None:
        """A credit source's pools and runway at the burn of the last 7 whole days, or None without data."""
        assert connection.id is not None
        async with self._db.session() as session:
            snapshot = await credit_snapshots.latest_snapshot(session, connection.id)
        if snapshot is None:
            return None
        now = self._clock()
        return credit_view_of(
            connection, snapshot, await self._figures.recent_days(connection, now.date()), now, tz
        )

    async def snapshots_by_day(
        self, connection: Connection, start: datetime, end: datetime
    ) -> dict[date, CreditSnapshot]:
        """The newest credit snapshot of each UTC day in ``[start, end)`` that has one."""
        assert connection.id is not None
        async with self._db.session() as session:
            return await credit_snapshots.last_of_each_day(session, connection.id, start, end)

    async def limit_watch(
        self, connection: Connection, *, show_names: bool, threshold: Decimal = NEAR_LIMIT_PERCENT
    ) -> LimitWatch:
        """People (Cursor, Anthropic) at ``threshold``% or more of their own spend limit this cycle."""
        assert connection.id is not None
        async with self._db.session() as session:
            rows = await cycle_spend.latest_cycle_rows(session, connection.id)
        near = near_limit(rows, threshold)
        return LimitWatch(
            connection=connection.name,
            threshold_percent=threshold,
            people=tuple(near) if show_names else (),
            count=len(near),
            names_hidden=not show_names,
            with_limits=len([row for row in rows if row.limit_cents is not None]),
            vendor=connection.vendor,
        )

    async def tracked_view(self, connection: Connection) -> TrackedView | None:
        """A REST connection's tracked figure: the newest reading beside the one of about a day before."""
        assert connection.id is not None
        async with self._db.session() as session:
            latest = await tracked_figures.latest_figure(session, connection.id)
            if latest is None:
                return None
            day_ago = await tracked_figures.figure_at_or_before(
                session, connection.id, latest.observed_at - DAY_BEFORE
            )
        return tracked_view_of(connection, latest, day_ago)

    async def tracked_readings(
        self, connection: Connection, start: datetime, end: datetime
    ) -> list[TrackedFigureRow]:
        """Every reading of a connection's tracked figure in ``[start, end)``, oldest first."""
        assert connection.id is not None
        async with self._db.session() as session:
            return await tracked_figures.readings_between(session, connection.id, start, end)

    async def windows(self, connection: Connection) -> tuple[WindowView, ...]:
        """The connection's rate-limit windows, by scope: headroom, 429s met, time waited."""
        assert connection.id is not None
        async with self._db.session() as session:
            rows: Sequence[RateLimitReading] = await rate_limit_readings.readings(session, connection.id)
        return tuple(window_view(row) for row in rows)


def credit_view_of(
    connection: Connection, snapshot: CreditSnapshot, recent: Sequence[Decimal], now: datetime, tz: ZoneInfo
) -> CreditView:
    """A credit pool as it stood at ``now``: ``snapshot`` (its newest reading by then) and the runway at
    the burn of ``recent`` (the whole days before, oldest first). ``backtest`` replays old snapshots."""
    burn = daily_burn(recent)
    run = runway(snapshot.remaining, burn, now=now, cycle_end=snapshot.cycle_end, tz=tz)
    return CreditView(
        connection=connection.name,
        vendor=connection.vendor,
        unit=snapshot.unit,
        pools=pools_of(snapshot.pools),
        remaining=snapshot.remaining,
        size=snapshot.size,
        burn_per_day=burn,
        days_left=run.days_left,
        runs_out_at=run.runs_out_at,
        top_up_by=run.top_up_by,
        cycle_end=snapshot.cycle_end,
        observed_at=snapshot.observed_at,
    )


def tracked_view_of(
    connection: Connection, latest: TrackedFigureRow, day_ago: TrackedFigureRow | None
) -> TrackedView:
    """A tracked figure as it stood at its reading ``latest``, beside the one of about a day before."""
    track = str((connection.options or {}).get("track") or "")
    return TrackedView(
        connection=connection.name,
        field=track.split("#", 1)[-1] if track else "",
        value=latest.value,
        observed_at=latest.observed_at,
        previous=day_ago.value if day_ago else None,
    )
