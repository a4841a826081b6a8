"""A connection's usage figures: its billing cycle, its unit, and its totals over a period or by key.

The one place that knows how a source's days are counted (exact local bounds for sources with
timestamps, whole UTC days for Windsurf), what its amounts are worth in dollars, and which rollup
answers a total cheaply. The read answers, digests, alerts and exports all sum through it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.change import ToolChange, ToolPeriod
from bot.domain.errors import MissingCycleError
from bot.domain.periods import Period, PeriodKind, PeriodSpec, resolve_period, utc_day_bounds
from bot.domain.usage import Unit
from bot.domain.vendors import CycleSource, display_name, traits
from bot.messages.answers import USD
from bot.services.clock import Clock
from bot.services.errors import NotFound
from bot.services.people import Viewer
from bot.services.sources import connection_label
from bot.settings import Settings
from bot.store import credit_snapshots, cycle_spend, past_ranges
from bot.store import usage as usage_store
from bot.store.db import Database
from bot.store.models import Connection, UsagePastRange

log = logging.getLogger(__name__)

ZERO = Decimal(0)
NOT_BY_PERSON = "(team total, not by person)"
RECENT_DAYS = 7


def people_unavailable_note(connection: Connection) -> str:
    """What every view by person says when part of a connection's spend is only known as team totals.

    Sync keeps a day's per-person figures only when they add up to the team's total
    (:mod:`bot.domain.reconcile`); other days are stored as team totals, under no one.
    """
    if (remainder := traits(connection.vendor).team_remainder) is not None:
        return (
            f"{connection_label(connection)}: part of this spend was {remainder}, so it counts under no one."
        )
    if not traits(connection.vendor).spend_by_person:
        return (
            f"{connection_label(connection)} reports its spend for the whole organisation only (per person "
            "it reports requests), so that spend counts in the totals but under no one."
        )
    return (
        f"{connection_label(connection)}: per-person figures are unavailable for some of these days (its "
        "per-person data did not add up to its team totals), so that spend counts in the totals but under "
        "no one."
    )


def has_unattributed(rows: Iterable[usage_store.UsageTotal]) -> bool:
    """Whether totals by user hold spend under no one (team totals, see :func:`people_unavailable_note`)."""
    return any(not row.key and row.amount for row in rows)


def calendar_month(now: datetime) -> tuple[datetime, datetime]:
    """The calendar month around ``now`` (start, exclusive end): the cycle of a source that has none."""
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start, (start + timedelta(days=32)).replace(day=1)


def last_whole_days(series: dict[date, Decimal], today: date, days: int = RECENT_DAYS) -> list[Decimal]:
    """The amounts of the ``days`` whole days before ``today``, oldest first (zero for a missing day)."""
    return [series.get(today - timedelta(days=offset), ZERO) for offset in range(days, 0, -1)]


def _has_quarter_hours(connection: Connection) -> bool:
    """Whether a connection's history has quarter-hour rows (else only whole UTC days)."""
    return not traits(connection.vendor).utc_days


class UsageFigures:
    """Cycles, units, dollar values and totals of one connection at a time, from the store."""

    def __init__(self, settings: Settings, db: Database, *, clock: Clock) -> None:
        self._settings = settings
        self._db = db
        self._clock = clock

    async def cycle_of(self, connection: Connection) -> tuple[datetime, datetime] | None:
        """A connection's current billing cycle (start, exclusive end), as the vendor last told us."""
        assert connection.id is not None
        async with self._db.session() as session:
            source = traits(connection.vendor).cycle_source
            if source is CycleSource.CYCLE_SPEND:
                row = await cycle_spend.latest_cycle_spend(session, connection.id)
                if row is not None and row.cycle_end is not None:
                    return row.cycle_start, row.cycle_end
                return None
            if source is CycleSource.CREDITS_SNAPSHOT:
                snapshot = await credit_snapshots.latest_snapshot(session, connection.id)
                if snapshot is not None and snapshot.cycle_start and snapshot.cycle_end:
                    return snapshot.cycle_start, snapshot.cycle_end
                return None
        return calendar_month(self._clock())

    def unit_of(self, connection: Connection) -> str:
        """The unit a connection's amounts are in (``usd_cents`` or ``credits``)."""
        return traits(connection.vendor).unit.value

    def usd_cents(self, connection: Connection, amount: Decimal) -> Decimal | None:
        """``amount`` (in the connection's unit) in US cents, or None when it cannot be counted in dollars."""
        if traits(connection.vendor).unit is not Unit.CREDITS:
            return amount
        price = self._settings.windsurf_credit_price
        return None if price is None else amount * price * 100

    def in_group(self, connection: Connection, amount: Decimal) -> Decimal:
        """``amount`` as it is summed with other sources: in cents when it has a price, else as it is."""
        return amount * self.group_factor(connection)

    def group_factor(self, connection: Connection) -> Decimal:
        """What :meth:`in_group` multiplies by, for loops over thousands of people's rows."""
        converted = self.usd_cents(connection, Decimal(1))
        return Decimal(1) if converted is None else converted

    def group_of(self, connection: Connection, otherwise: str) -> str:
        """``USD`` when the connection's amounts count in dollars, else ``otherwise``."""
        return USD if self.usd_cents(connection, ZERO) is not None else otherwise

    def bounds(self, connection: Connection, period: Period) -> tuple[datetime, datetime]:
        """Exact local bounds for sources with timestamps; whole UTC days for Windsurf."""
        if traits(connection.vendor).utc_days:
            return utc_day_bounds(period)
        return period.start, period.end

    async def period_for(self, connection: Connection, spec: PeriodSpec, viewer: Viewer) -> Period:
        """``spec`` resolved for this reader and connection (``cycle`` is the connection's own, read only
        for it)."""
        cycle = await self.cycle_of(connection) if spec.kind is PeriodKind.CYCLE else None
        try:
            return resolve_period(spec, now=self._clock(), tz=viewer.tz, cycle=cycle)
        except MissingCycleError:
            raise NotFound(
                f"`{connection.name}` has not told us its billing cycle yet; try again after its first sync, "
                "or ask for `mtd` or `30d`."
            ) from None

    async def total(self, connection: Connection, start: datetime, end: datetime) -> usage_store.UsageTotal:
        """One connection's total over a range: from team quarter hours when it has them (cheap, exact)."""
        assert connection.id is not None
        async with self._db.session() as session:
            if traits(connection.vendor).team_quarter_hours:
                return await usage_store.team_total(session, [connection.id], start, end)
            rows = await usage_store.usage_totals(
                session, [connection.id], start, end, complements=_has_quarter_hours(connection)
            )
        return rows[0] if rows else usage_store.UsageTotal(None, ZERO, ZERO)

    async def totals(
        self,
        connection: Connection,
        start: datetime,
        end: datetime,
        *,
        by: str | None = None,
        user_email: str | None = None,
    ) -> list[usage_store.UsageTotal]:
        """A connection's totals over ``[start, end)``, overall or by ``user`` or ``model`` (one person's)."""
        assert connection.id is not None
        async with self._db.session() as session:
            return await usage_store.usage_totals(
                session,
                [connection.id],
                start,
                end,
                by=by,
                user_email=user_email,
                complements=_has_quarter_hours(connection),
            )

    async def ranked(
        self,
        connection: Connection,
        start: datetime,
        end: datetime,
        *,
        by: str,
        limit: int | None,
        order: str = "amount",
        people_first: bool = False,
        previous: Period | None = None,
    ) -> usage_store.RankedTotals:
        """A connection's totals by ``user`` or ``model`` ranked in the store, only the first ``limit``
        read (:func:`~bot.store.usage.ranked_totals`), with the people and totals of ``previous``: kept
        from an earlier answer, else counted in the same pass and kept."""
        assert connection.id is not None
        before = None if previous is None else self.bounds(connection, previous)
        async with self._db.session() as session:
            known, counted_at = await self._known(session, connection.id, before)
            found = await usage_store.ranked_totals(
                session,
                [connection.id],
                start,
                end,
                by=by,
                limit=limit,
                order=order,
                people_first=people_first,
                complements=_has_quarter_hours(connection),
                previous=None if known is not None else before,
            )
        if known is not None:
            return replace(found, previous=known)
        if before is not None and found.previous is not None:
            await self._keep(connection.id, before, found.previous, counted_at)
        return found

    async def people_in(
        self, connection: Connection, before: tuple[datetime, datetime], now: tuple[datetime, datetime]
    ) -> tuple[usage_store.PeopleAndTotal, usage_store.PeopleAndTotal]:
        """The people and totals of a past range ``before`` (kept once counted) and of ``now``."""
        assert connection.id is not None
        async with self._db.session() as session:
            known, counted_at = await self._known(session, connection.id, before)
            ranges = [now] if known is not None else [before, now]
            counted = await usage_store.people_counts(session, [connection.id], ranges)
        if known is not None:
            return known, counted[0]
        await self._keep(connection.id, before, counted[0], counted_at)
        return counted[0], counted[1]

    @staticmethod
    async def _known(
        session: AsyncSession, connection_id: int, bounds: tuple[datetime, datetime] | None
    ) -> tuple[usage_store.PeopleAndTotal | None, int]:
        """A past range's kept figures (None: not kept, or no range), and the history's version read
        before any counting, which a count must still match to be kept."""
        if bounds is None:
            return None, 0
        row, counted_at = await past_ranges.kept(session, connection_id, *bounds)
        if row is None:
            return None, counted_at
        return usage_store.PeopleAndTotal(
            row.people, usage_store.UsageTotal(None, row.amount, row.requests, row.tokens)
        ), counted_at

    async def _keep(
        self,
        connection_id: int,
        bounds: tuple[datetime, datetime],
        figures: usage_store.PeopleAndTotal,
        counted_at: int,
    ) -> None:
        """Keep a past range's figures for the next answers, unless the history changed since they were
        counted. Only a range that ended before now is kept: a range still running changes with each sync."""
        if bounds[1] > self._clock():
            return
        total = figures.total
        row = UsagePastRange(
            connection_id=connection_id,
            range_start=bounds[0],
            range_end=bounds[1],
            people=figures.people,
            amount=total.amount,
            requests=total.requests,
            tokens=total.tokens,
        )
        try:
            async with self._db.write() as session:
                await past_ranges.keep(session, row, counted_at)
        except SQLAlchemyError as error:  # the answer stands; the range is counted again next time
            log.warning("a past range's figures were not kept: %s", type(error).__name__)

    async def by_day(
        self, connection: Connection, start: datetime, end: datetime, tz: ZoneInfo
    ) -> dict[date, Decimal]:
        """Spend per day over ``[start, end)``: local days of ``tz``, or UTC days for Windsurf."""
        assert connection.id is not None
        async with self._db.session() as session:
            if traits(connection.vendor).utc_days:
                first, last = start.date(), (end - timedelta(microseconds=1)).date()
                return await usage_store.usage_by_utc_day(session, [connection.id], first, last)
            return await usage_store.usage_by_local_day(session, [connection.id], start, end, tz)

    async def recent_days(self, connection: Connection, today: date) -> list[Decimal]:
        """The spend of the 7 whole UTC days before ``today`` (still running), oldest first."""
        assert connection.id is not None
        async with self._db.session() as session:
            series = await usage_store.usage_by_utc_day(
                session, [connection.id], today - timedelta(days=RECENT_DAYS), today - timedelta(days=1)
            )
        return last_whole_days(series, today)

    async def cycle_total(self, connection_id: int) -> Decimal | None:
        """The vendor's own team total of its newest cycle (Cursor), or None before the first."""
        async with self._db.session() as session:
            return await cycle_spend.latest_cycle_total(session, connection_id)

    async def cycle_to_date(
        self, connection: Connection
    ) -> tuple[tuple[datetime, datetime], Decimal, list[Decimal]] | None:
        """(cycle bounds, spent so far in the connection's unit, the last 7 whole UTC days), or None.

        Cursor's figure is the vendor's own cycle total; Windsurf's is the credits used in the cycle's UTC
        days. A REST connection has none: its tracked figure is a reading (often a balance), shown with
        the credits, never added to spend or measured against a budget.
        """
        assert connection.id is not None
        if not traits(connection.vendor).reports_usage:
            return None
        span = await self.cycle_of(connection)
        if span is None:
            return None
        recent = await self.recent_days(connection, self._clock().date())
        return span, await self.cycle_spent(connection, span) or ZERO, recent

    async def cycle_spent(self, connection: Connection, span: tuple[datetime, datetime]) -> Decimal | None:
        """Spent in the cycle ``span``: the vendor's own cycle total where it reports one (None before
        its first report), else the usage's total; cycle rows of the others (Anthropic's members with a
        limit) are not the whole team's."""
        assert connection.id is not None
        if traits(connection.vendor).cycle_source is CycleSource.CYCLE_SPEND:
            return await self.cycle_total(connection.id)
        rows = await self.totals(connection, span[0], span[1])
        return rows[0].amount if rows else ZERO

    async def period_total(self, connection: Connection, period: Period) -> usage_store.UsageTotal:
        """A connection's total over a resolved period (local days, or UTC days for Windsurf)."""
        start, end = self.bounds(connection, period)
        return await self.total(connection, start, end)

    async def tool_change(
        self,
        connection: Connection,
        period: Period,
        previous: Period,
        *,
        people: tuple[int, int] | None = None,
    ) -> ToolChange | None:
        """The connection's figures in both periods for ``domain.change`` (None: not countable in dollars).

        ``people``: how many used it in ``previous`` and in ``period``, when the caller has counted them
        already (:meth:`ranked` with its ``previous``); else both are counted in one statement.
        """
        assert connection.id is not None
        if self.usd_cents(connection, Decimal(1)) is None:
            return None
        ranges = [self.bounds(connection, previous), self.bounds(connection, period)]
        if people is None:
            counted = await self.people_in(connection, ranges[0], ranges[1])
            people = (counted[0].people, counted[1].people)
        async with self._db.session() as session:
            models = await usage_store.range_totals(
                session, [connection.id], ranges, by="model", complements=_has_quarter_hours(connection)
            )
        before, after = (
            ToolPeriod(
                count,
                {
                    row.key or "(unknown)": (self.usd_cents(connection, row.amount) or ZERO, row.requests)
                    for row in rows
                },
            )
            for count, rows in zip(people, models, strict=True)
        )
        return ToolChange(
            display_name(connection.vendor) if connection.name == connection.vendor else connection.name,
            before,
            after,
            by_person=traits(connection.vendor).spend_by_person,
        )

    async def period_breakdown(
        self, connection: Connection, period: Period, by: str
    ) -> list[usage_store.UsageTotal]:
        """A connection's totals over a resolved period by ``user`` or ``model``, largest first."""
        start, end = self.bounds(connection, period)
        rows = await self.totals(connection, start, end, by=by)
        return sorted(rows, key=lambda row: (-row.amount, row.key or ""))
