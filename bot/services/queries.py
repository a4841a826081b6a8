"""The read commands' answers, computed from the store (after a sync when the data is too old).

Every answer is for one reader: periods resolve in their time zone (Slack profile, else
``SPENDBOT_TIMEZONE``), figures about named people follow ``SPENDBOT_PEOPLE_VISIBLE_TO`` (a person
always sees their own), and every answer says how fresh each source's data is. When a source's data is
older than its vendor's refresh interval, it is synced first within a short budget; if the vendor is
slow or failing, the answer says so and uses what is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.commands import SourceFilter, Spend, Top, UserQuery, UserRef
from bot.domain.errors import MissingCycleError
from bot.domain.forecast import daily_burn, runway
from bot.domain.periods import Period, PeriodSpec, previous_period, resolve_period, utc_day_bounds
from bot.domain.usage import Unit
from bot.domain.vendors import CreditsLeft, CycleSource, display_name, traits
from bot.messages.answers import (
    CREDITS,
    USD,
    Breakdown,
    BreakdownRow,
    CreditsAnswer,
    CreditView,
    Freshness,
    LimitsAnswer,
    LimitWatch,
    NearLimit,
    PersonSource,
    PersonTotal,
    Pool,
    Ranking,
    SourceTotal,
    SpendAnswer,
    StatusAnswer,
    StatusCard,
    TopAnswer,
    TrackedView,
    UserAnswer,
    WindowView,
)
from bot.services.access import Access
from bot.services.clock import Clock
from bot.services.connections import ConnectionRegistry
from bot.services.errors import NotAllowed, NotFound
from bot.services.slack_api import SlackApi
from bot.services.sync import SyncReport, SyncService
from bot.settings import Settings
from bot.store import usage as usage_store
from bot.store.db import Database
from bot.store.models import (
    Connection,
    CreditSnapshot,
    CycleSpendRow,
    MemberRow,
    RateLimitReading,
    TrackedFigureRow,
)
from bot.vendors import interactive

log = logging.getLogger(__name__)

FRESHEN_BUDGET_SECONDS = 3.0
NEAR_LIMIT_PERCENT = Decimal(90)
ZERO = Decimal(0)


@dataclass(frozen=True)
class Viewer:
    """Who is asking: their zone, their email, and whether they may see other people's figures."""

    team_id: str
    user_id: str
    tz: ZoneInfo
    email: str | None
    may_see_people: bool


def connection_label(connection: Connection) -> str:
    """ "Cursor" for the connection named after its vendor, else "Cursor `team-b`"."""
    vendor = display_name(connection.vendor)
    return vendor if connection.name == connection.vendor else f"{vendor} `{connection.name}`"


def people_unavailable_note(connection: Connection) -> str:
    """What every view by person says when part of a connection's spend is only known as team totals.

    Sync keeps a day's per-person figures only when they add up to the team's total
    (:mod:`bot.domain.reconcile`); other days are stored as team totals, under no one.
    """
    return (
        f"{connection_label(connection)}: per-person figures are unavailable for some of these days (its "
        "per-person data did not add up to its team totals), so that spend counts in the totals but under "
        "no one."
    )


def has_unattributed(rows: Iterable[usage_store.UsageTotal]) -> bool:
    """Whether totals by user hold spend under no one (team totals, see :func:`people_unavailable_note`)."""
    return any(not row.key and row.amount for row in rows)


NOT_BY_PERSON = "(team total, not by person)"


class QueryService:
    """Answers ``spend``, ``top``, ``user``, ``credits``, ``limits`` and ``status``."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        connections: ConnectionRegistry,
        sync: SyncService,
        access: Access,
        slack: SlackApi,
        *,
        clock: Clock,
        freshen_budget: float = FRESHEN_BUDGET_SECONDS,
    ) -> None:
        self._settings = settings
        self._db = db
        self._connections = connections
        self._sync = sync
        self._access = access
        self._slack = slack
        self._clock = clock
        self._budget = freshen_budget
        self._background: set[asyncio.Task[SyncReport]] = set()

    # ----- who is asking, about what ------------------------------------------------------------------

    async def viewer(self, team_id: str, user_id: str) -> Viewer:
        user = None
        try:
            user = await self._slack.user(team_id, user_id)
        except Exception as error:  # noqa: BLE001 - without a profile we still answer, in the default zone
            log.warning("users.info failed for %s: %s", user_id, type(error).__name__)
        tz = self._settings.default_zone
        if user is not None and user.tz:
            with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
                tz = ZoneInfo(user.tz)
        may_see = await self._access.may_see_people(team_id, user_id)
        email = user.email.lower() if user is not None and user.email else None
        return Viewer(team_id, user_id, tz, email, may_see)

    async def sources(
        self, team_id: str, source: SourceFilter | None, *, vendors: Iterable[str] | None = None
    ) -> list[Connection]:
        """The connections a command is about, or a readable :class:`NotFound`."""
        every = await self._connections.for_team(team_id)
        if not every:
            raise NotFound(
                "There is no connection yet. An admin can add one with `"
                f"{self._settings.command} connect cursor` (or `windsurf`, `rest`)."
            )
        if source is None:
            chosen = every
        elif source.vendor is not None:
            chosen = [row for row in every if row.vendor == source.vendor]
            if not chosen:
                raise NotFound(
                    f"There is no {display_name(source.vendor)} connection yet. An admin can add one with "
                    f"`{self._settings.command} connect {source.vendor}`."
                )
        else:
            chosen = [row for row in every if row.name == source.connection]
            if not chosen:
                names = ", ".join(f"`{row.name}`" for row in every)
                raise NotFound(
                    f"There is no connection named `{source.connection}`. Connections: {names}.",
                    wrong_input=True,
                )
        if vendors is not None:
            wanted = set(vendors)
            chosen = [row for row in chosen if row.vendor in wanted]
        return chosen

    # ----- freshness ---------------------------------------------------------------------------------

    async def freshen(self, connections: Sequence[Connection]) -> dict[int, str]:
        """Sync the connections whose data is too old, within the budget; returns problems by connection id.

        A sync that outlives the budget carries on in the background; the answer uses what is stored.
        """
        now = self._clock()
        stale: dict[int, Connection] = {}
        for connection in connections:
            assert connection.id is not None
            states = await self._sync.states(connection.id)
            if not self._sync.is_fresh(connection, states, now):
                stale[connection.id] = connection
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

    async def freshness(self, connection: Connection, problems: dict[int, str]) -> Freshness:
        assert connection.id is not None
        states = await self._sync.states(connection.id)
        state = states.get(traits(connection.vendor).main_dataset)
        problem = problems.get(connection.id)
        if problem is None and connection.status in ("failing", "rejected") and connection.status_detail:
            problem = connection.status_detail
        return Freshness(connection.name, connection.vendor, state.data_as_of if state else None, problem)

    async def _prepared(self, connections: Sequence[Connection]) -> tuple[Freshness, ...]:
        problems = await self.freshen(connections)
        return tuple([await self.freshness(connection, problems) for connection in connections])

    # ----- cycles and units ----------------------------------------------------------------------------

    async def cycle_of(self, connection: Connection) -> tuple[datetime, datetime] | None:
        """A connection's current billing cycle (start, exclusive end), as the vendor last told us."""
        assert connection.id is not None
        async with self._db.session() as session:
            source = traits(connection.vendor).cycle_source
            if source is CycleSource.CYCLE_SPEND:
                row = await usage_store.latest_cycle_spend(session, connection.id)
                if row is not None and row.cycle_end is not None:
                    return row.cycle_start, row.cycle_end
                return None
            if source is CycleSource.CREDITS_SNAPSHOT:
                snapshot = await self._latest_snapshot(session, connection.id)
                if snapshot is not None and snapshot.cycle_start and snapshot.cycle_end:
                    return snapshot.cycle_start, snapshot.cycle_end
                return None
        now = self._clock()
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = (start + timedelta(days=32)).replace(day=1)
        return start, end

    def unit_of(self, connection: Connection) -> str:
        return traits(connection.vendor).unit.value

    def usd_cents(self, connection: Connection, amount: Decimal) -> Decimal | None:
        """``amount`` (in the connection's unit) in US cents, or None when it cannot be counted in dollars."""
        if traits(connection.vendor).unit is not Unit.CREDITS:
            return amount
        price = self._settings.windsurf_credit_price
        return None if price is None else amount * price * 100

    def _bounds(self, connection: Connection, period: Period) -> tuple[datetime, datetime]:
        """Exact local bounds for sources with timestamps; whole UTC days for Windsurf."""
        if traits(connection.vendor).utc_days:
            return utc_day_bounds(period)
        return period.start, period.end

    async def period_for(self, connection: Connection, spec: PeriodSpec, viewer: Viewer) -> Period:
        try:
            return resolve_period(
                spec, now=self._clock(), tz=viewer.tz, cycle=await self.cycle_of(connection)
            )
        except MissingCycleError:
            raise NotFound(
                f"`{connection.name}` has not told us its billing cycle yet; try again after its first sync, "
                "or ask for `mtd` or `30d`."
            ) from None

    # ----- spend -------------------------------------------------------------------------------------------

    async def spend(self, team_id: str, user_id: str, command: Spend) -> SpendAnswer:
        """Totals per source and overall (dollars only), the change on the previous period, a breakdown."""
        viewer = await self.viewer(team_id, user_id)
        if command.names_people and not viewer.may_see_people:
            raise NotAllowed(self._access.people_refusal())
        connections = await self._usage_sources(team_id, command.source)
        freshness = await self._prepared(connections)
        totals: list[SourceTotal] = []
        label = previous_label = ""
        breakdown_parts: dict[str, dict[str, BreakdownRow]] = {}
        day_series: dict[str, dict[date, Decimal]] = {}
        notes: list[str] = []
        for connection in connections:
            assert connection.id is not None
            period = await self.period_for(connection, command.period, viewer)
            previous = previous_period(period)
            label, previous_label = label or period.label, previous_label or previous.label
            start, end = self._bounds(connection, period)
            prev_start, prev_end = self._bounds(connection, previous)
            async with self._db.session() as session:
                current = await self.total(session, connection, start, end)
                amount, requests = current.amount, current.requests
                prior = (await self.total(session, connection, prev_start, prev_end)).amount
                unit = self.unit_of(connection)
                group = USD if self.usd_cents(connection, ZERO) is not None else unit
                if command.by in ("user", "model"):
                    rows = await usage_store.usage_totals(session, [connection.id], start, end, by=command.by)
                    if command.by == "user" and has_unattributed(rows):
                        notes.append(people_unavailable_note(connection))
                    part = breakdown_parts.setdefault(group, {})
                    for row in rows:
                        value = self._in_group(connection, row.amount)
                        key = row.key or (NOT_BY_PERSON if command.by == "user" else "(unknown)")
                        existing = part.get(key)
                        part[key] = BreakdownRow(
                            key,
                            value + (existing.amount if existing else ZERO),
                            group,
                            row.requests + (existing.requests if existing else ZERO),
                        )
                elif command.by == "day":
                    if traits(connection.vendor).utc_days:
                        first, last = start.date(), (end - timedelta(microseconds=1)).date()
                        series = await usage_store.usage_by_utc_day(session, [connection.id], first, last)
                    else:
                        series = await usage_store.usage_by_local_day(
                            session, [connection.id], start, end, viewer.tz
                        )
                    target = day_series.setdefault(group, {})
                    for day, value in series.items():
                        target[day] = target.get(day, ZERO) + self._in_group(connection, value)
            totals.append(
                SourceTotal(
                    connection=connection.name,
                    vendor=connection.vendor,
                    unit=unit,
                    amount=amount,
                    previous=prior,
                    requests=requests,
                    utc_days=traits(connection.vendor).utc_days,
                    usd_cents=self.usd_cents(connection, amount),
                    previous_usd_cents=self.usd_cents(connection, prior),
                )
            )
            if command.period.kind.value == "cycle" and len(connections) > 1:
                notes.append(f"`{connection.name}`: {period.label}")
        counted = [item for item in totals if item.usd_cents is not None]
        left_out = tuple(item.connection for item in totals if item.usd_cents is None)
        total = sum((item.usd_cents or ZERO for item in counted), ZERO) if counted else None
        previous_total = sum((item.previous_usd_cents or ZERO for item in counted), ZERO) if counted else None
        breakdowns = self._breakdowns(command.by, breakdown_parts, day_series, viewer)
        if any(item.utc_days for item in totals):
            notes.append("Windsurf reports whole UTC days, so its figures are by UTC day.")
        return SpendAnswer(
            period_label=label,
            previous_label=previous_label,
            tz=viewer.tz,
            sources=tuple(totals),
            total_usd_cents=total,
            previous_total_usd_cents=previous_total,
            left_out=left_out,
            breakdowns=breakdowns,
            freshness=freshness,
            notes=tuple(notes),
        )

    async def total(
        self, session: AsyncSession, connection: Connection, start: datetime, end: datetime
    ) -> usage_store.UsageTotal:
        """One connection's total over a range: from team quarter hours when it has them (cheap, exact)."""
        assert connection.id is not None
        if traits(connection.vendor).team_quarter_hours:
            return await usage_store.team_total(session, [connection.id], start, end)
        rows = await usage_store.usage_totals(session, [connection.id], start, end)
        return rows[0] if rows else usage_store.UsageTotal(None, ZERO, ZERO)

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
        today = self._clock().date()
        async with self._db.session() as session:
            series = await usage_store.usage_by_utc_day(
                session, [connection.id], today - timedelta(days=7), today - timedelta(days=1)
            )
            if traits(connection.vendor).cycle_source is CycleSource.CYCLE_SPEND:
                spent = await self.cursor_cycle_total(connection.id) or ZERO
            else:
                rows = await usage_store.usage_totals(session, [connection.id], span[0], span[1])
                spent = rows[0].amount if rows else ZERO
        recent = [series.get(today - timedelta(days=offset), ZERO) for offset in range(7, 0, -1)]
        return span, spent, recent

    async def period_total(self, connection: Connection, period: Period) -> usage_store.UsageTotal:
        """A connection's total over a resolved period (local days, or UTC days for Windsurf)."""
        start, end = self._bounds(connection, period)
        async with self._db.session() as session:
            return await self.total(session, connection, start, end)

    async def period_breakdown(
        self, connection: Connection, period: Period, by: str
    ) -> list[usage_store.UsageTotal]:
        """A connection's totals over a resolved period by ``user`` or ``model``, largest first."""
        assert connection.id is not None
        start, end = self._bounds(connection, period)
        async with self._db.session() as session:
            rows = await usage_store.usage_totals(session, [connection.id], start, end, by=by)
        return sorted(rows, key=lambda row: (-row.amount, row.key or ""))

    def _in_group(self, connection: Connection, amount: Decimal) -> Decimal:
        converted = self.usd_cents(connection, amount)
        return amount if converted is None else converted

    def _breakdowns(
        self,
        by: str | None,
        parts: dict[str, dict[str, BreakdownRow]],
        days: dict[str, dict[date, Decimal]],
        viewer: Viewer,
    ) -> tuple[Breakdown, ...]:
        if by in ("user", "model"):
            return tuple(
                Breakdown(by, tuple(sorted(rows.values(), key=lambda row: (-row.amount, row.label))))
                for _, rows in sorted(parts.items())
            )
        if by == "day":
            return tuple(
                Breakdown(
                    "day",
                    tuple(
                        BreakdownRow(day.isoformat(), value, group) for day, value in sorted(series.items())
                    ),
                )
                for group, series in sorted(days.items())
            )
        return ()

    async def _usage_sources(self, team_id: str, source: SourceFilter | None) -> list[Connection]:
        connections = await self.sources(team_id, source)
        with_usage = [row for row in connections if traits(row.vendor).reports_usage]
        if not with_usage:
            raise NotFound(
                "REST connections track rate limits and a figure, not spend by period: see "
                f"`{self._settings.command} status` and `{self._settings.command} limits`."
            )
        return with_usage

    # ----- top and user ---------------------------------------------------------------------------------

    async def top(self, team_id: str, user_id: str, command: Top) -> TopAnswer:
        """The N people who spent most in the period, ranked within each unit."""
        viewer = await self.viewer(team_id, user_id)
        if not viewer.may_see_people:
            raise NotAllowed(self._access.people_refusal())
        connections = await self._usage_sources(team_id, command.source)
        freshness = await self._prepared(connections)
        groups: dict[str, dict[str, Decimal]] = {}
        group_sources: dict[str, list[str]] = {}
        notes: list[str] = []
        label = ""
        for connection in connections:
            assert connection.id is not None
            period = await self.period_for(connection, command.period, viewer)
            label = label or period.label
            start, end = self._bounds(connection, period)
            group = USD if self.usd_cents(connection, ZERO) is not None else CREDITS
            async with self._db.session() as session:
                rows = await usage_store.usage_totals(session, [connection.id], start, end, by="user")
            target = groups.setdefault(group, {})
            group_sources.setdefault(group, []).append(connection.name)
            if has_unattributed(rows):
                notes.append(people_unavailable_note(connection))
            for row in rows:
                if row.key:
                    target[row.key] = target.get(row.key, ZERO) + self._in_group(connection, row.amount)
        ranked = {
            group: sorted(people.items(), key=lambda item: (-item[1], item[0]))
            for group, people in groups.items()
        }
        shown = {email for ordered in ranked.values() for email, _ in ordered[: command.n]}
        names = await self._names([row.id for row in connections if row.id is not None], shown)
        rankings = []
        for group, ordered in sorted(ranked.items()):
            rankings.append(
                Ranking(
                    unit=group,
                    sources=tuple(group_sources[group]),
                    people=tuple(
                        PersonTotal(email, names.get(email), amount, group)
                        for email, amount in ordered[: command.n]
                    ),
                    total_people=len([item for item in ordered if item[1] > 0]),
                )
            )
        return TopAnswer(label, viewer.tz, command.n, tuple(rankings), freshness, tuple(notes))

    async def _names(self, connection_ids: Sequence[int], emails: Iterable[str]) -> dict[str, str]:
        """Display names of the people shown (never the whole roster of a large team)."""
        wanted = sorted(emails)
        if not connection_ids or not wanted:
            return {}
        async with self._db.session() as session:
            rows = await session.exec(
                select(MemberRow.email, MemberRow.name).where(
                    col(MemberRow.connection_id).in_(connection_ids), col(MemberRow.email).in_(wanted)
                )
            )
            return {email: name for email, name in rows.all() if name}

    async def resolve_person(self, team_id: str, who: UserRef) -> tuple[str, str | None]:
        """An email (and display name) for a mention or an email; NotFound when Slack does not know them."""
        if who.email is not None:
            return who.email.lower(), None
        assert who.slack_id is not None
        user = await self._slack.user(team_id, who.slack_id)
        if user is None or not user.email:
            raise NotFound(
                f"Slack did not give an email for <@{who.slack_id}>, so I cannot find them in the vendors' "
                "data. Try their email instead."
            )
        return user.email.lower(), user.name

    async def user(self, team_id: str, user_id: str, command: UserQuery) -> UserAnswer:
        """One person across every tool: the period's spend, the cycle so far, their limit and models."""
        viewer = await self.viewer(team_id, user_id)
        email, name = await self.resolve_person(team_id, command.who)
        if not viewer.may_see_people and email != viewer.email:
            raise NotAllowed(self._access.people_refusal())
        connections = await self._usage_sources(team_id, None)
        freshness = await self._prepared(connections)
        sources: list[PersonSource] = []
        models: dict[str, BreakdownRow] = {}
        notes: list[str] = []
        label = ""
        known = False
        for connection in connections:
            assert connection.id is not None
            period = await self.period_for(connection, command.period, viewer)
            label = label or period.label
            start, end = self._bounds(connection, period)
            prev_start, prev_end = self._bounds(connection, previous_period(period))
            async with self._db.session() as session:
                member = await session.get(MemberRow, (connection.id, email))
                now_rows = await usage_store.usage_totals(
                    session, [connection.id], start, end, user_email=email
                )
                before = await usage_store.usage_totals(
                    session, [connection.id], prev_start, prev_end, user_email=email
                )
                by_model = await usage_store.usage_totals(
                    session, [connection.id], start, end, by="model", user_email=email
                )
                cycle = await usage_store.latest_cycle_spend(session, connection.id, email)
                unattributed = has_unattributed(
                    await usage_store.usage_totals(session, [connection.id], start, end, by="user")
                )
            if member is None and not now_rows and not before and cycle is None:
                continue
            known = True
            if unattributed:
                notes.append(people_unavailable_note(connection))
            name = name or (member.name if member else None) or (cycle.name if cycle else None)
            unit = self.unit_of(connection)
            sources.append(
                PersonSource(
                    connection=connection.name,
                    vendor=connection.vendor,
                    unit=unit,
                    amount=now_rows[0].amount if now_rows else ZERO,
                    previous=before[0].amount if before else ZERO,
                    cycle_total=cycle.total if cycle else None,
                    limit=cycle.limit_cents if cycle else None,
                    utc_days=traits(connection.vendor).utc_days,
                )
            )
            for row in by_model:
                key = f"{row.key or '(unknown)'}"
                existing = models.get(key)
                models[key] = BreakdownRow(
                    key, row.amount + (existing.amount if existing else ZERO), unit, row.requests
                )
        if not known:
            raise NotFound(
                f"No connection has any data for `{email}`. They may use another email with the vendors, "
                f"or not use these tools. `{self._settings.command} top` lists who spends."
            )
        return UserAnswer(
            email=email,
            name=name,
            period_label=label,
            tz=viewer.tz,
            sources=tuple(sources),
            models=tuple(sorted(models.values(), key=lambda row: (-row.amount, row.label))),
            freshness=freshness,
            notes=tuple(notes),
        )

    # ----- credits, limits, status -----------------------------------------------------------------------

    async def credit_view(self, connection: Connection, tz: ZoneInfo) -> CreditView | None:
        """A credit source's pools and runway at the burn of the last 7 whole days, or None without data."""
        assert connection.id is not None
        async with self._db.session() as session:
            snapshot = await self._latest_snapshot(session, connection.id)
            if snapshot is None:
                return None
            now = self._clock()
            today = now.date()
            series = await usage_store.usage_by_utc_day(
                session, [connection.id], today - timedelta(days=7), today - timedelta(days=1)
            )
        burn = daily_burn([series.get(today - timedelta(days=offset), ZERO) for offset in range(7, 0, -1)])
        run = runway(snapshot.remaining, burn, now=now, cycle_end=snapshot.cycle_end, tz=tz)
        pools = tuple(
            Pool(
                str(pool.get("name")),
                Decimal(str(pool.get("size", "0"))),
                Decimal(str(pool.get("used", "0"))),
            )
            for pool in snapshot.pools
        )
        return CreditView(
            connection=connection.name,
            vendor=connection.vendor,
            unit=snapshot.unit,
            pools=pools,
            remaining=snapshot.remaining,
            size=snapshot.size,
            burn_per_day=burn,
            days_left=run.days_left,
            runs_out_at=run.runs_out_at,
            top_up_by=run.top_up_by,
            cycle_end=snapshot.cycle_end,
            observed_at=snapshot.observed_at,
        )

    async def limit_watch(
        self, connection: Connection, *, show_names: bool, threshold: Decimal = NEAR_LIMIT_PERCENT
    ) -> LimitWatch:
        """Cursor people at ``threshold``% or more of their own spend limit this cycle."""
        assert connection.id is not None
        async with self._db.session() as session:
            latest = (
                await session.exec(
                    select(func.max(CycleSpendRow.cycle_start)).where(
                        CycleSpendRow.connection_id == connection.id
                    )
                )
            ).one()
            rows = (
                await session.exec(
                    select(CycleSpendRow).where(
                        CycleSpendRow.connection_id == connection.id, CycleSpendRow.cycle_start == latest
                    )
                )
            ).all()
        limited = [row for row in rows if row.limit_cents is not None]
        near = [
            NearLimit(row.user_email, row.name, row.total, row.limit_cents or ZERO)
            for row in limited
            if (row.limit_cents or ZERO) <= 0 or row.total * 100 >= threshold * (row.limit_cents or ZERO)
        ]
        near.sort(key=lambda item: (-item.percent, item.email))
        return LimitWatch(
            connection=connection.name,
            threshold_percent=threshold,
            people=tuple(near) if show_names else (),
            count=len(near),
            names_hidden=not show_names,
            with_limits=len(limited),
        )

    async def tracked_view(self, connection: Connection) -> TrackedView | None:
        assert connection.id is not None
        async with self._db.session() as session:
            rows = (
                await session.exec(
                    select(TrackedFigureRow)
                    .where(TrackedFigureRow.connection_id == connection.id)
                    .order_by(col(TrackedFigureRow.observed_at).desc())
                    .limit(1)
                )
            ).all()
            if not rows:
                return None
            latest = rows[0]
            day_ago = (
                await session.exec(
                    select(TrackedFigureRow)
                    .where(
                        TrackedFigureRow.connection_id == connection.id,
                        col(TrackedFigureRow.observed_at) <= latest.observed_at - timedelta(hours=23),
                    )
                    .order_by(col(TrackedFigureRow.observed_at).desc())
                    .limit(1)
                )
            ).first()
        track = str((connection.options or {}).get("track") or "")
        return TrackedView(
            connection=connection.name,
            field=track.split("#", 1)[-1] if track else "",
            value=latest.value,
            observed_at=latest.observed_at,
            previous=day_ago.value if day_ago else None,
        )

    async def credits(self, team_id: str, user_id: str, source: SourceFilter | None = None) -> CreditsAnswer:
        """Credit pools and runway (Windsurf), people near their limit (Cursor), tracked figures (REST)."""
        viewer = await self.viewer(team_id, user_id)
        connections = await self.sources(team_id, source)
        freshness = await self._prepared(connections)
        credits: list[CreditView] = []
        limits: list[LimitWatch] = []
        tracked: list[TrackedView] = []
        notes: list[str] = []
        for connection in connections:
            meaning = traits(connection.vendor).credits_left
            if meaning is CreditsLeft.CREDIT_POOL:
                view = await self.credit_view(connection, viewer.tz)
                if view is None:
                    notes.append(f"`{connection.name}`: no credit balance fetched yet.")
                else:
                    credits.append(view)
            elif meaning is CreditsLeft.SPEND_LIMITS:
                limits.append(await self.limit_watch(connection, show_names=viewer.may_see_people))
            else:
                figure = await self.tracked_view(connection)
                if figure is not None:
                    tracked.append(figure)
                elif not (connection.options or {}).get("track"):
                    notes.append(f"`{connection.name}`: no figure tracked (REST_TRACK, or the connect form).")
        return CreditsAnswer(
            viewer.tz, tuple(credits), tuple(limits), tuple(tracked), freshness, tuple(notes)
        )

    async def windows(self, connection: Connection) -> tuple[WindowView, ...]:
        assert connection.id is not None
        async with self._db.session() as session:
            rows = (
                await session.exec(
                    select(RateLimitReading)
                    .where(RateLimitReading.connection_id == connection.id)
                    .order_by(col(RateLimitReading.scope))
                )
            ).all()
        return tuple(
            WindowView(
                scope=row.scope,
                limit=row.limit,
                remaining=row.remaining,
                reset_at=row.reset_at,
                window_seconds=row.window_seconds,
                rate_limited_total=row.rate_limited_total,
                waited_seconds_total=row.waited_seconds_total,
                observed_at=row.observed_at,
            )
            for row in rows
        )

    async def limits(self, team_id: str, user_id: str, source: SourceFilter | None = None) -> LimitsAnswer:
        """Rate-limit headroom per connection: the vendor's headers, our own count, 429s met, time waited."""
        viewer = await self.viewer(team_id, user_id)
        connections = await self.sources(team_id, source)
        live = [row for row in connections if traits(row.vendor).has_probe]
        if live:
            await self.freshen(live)
        return LimitsAnswer(
            viewer.tz,
            tuple([(row.name, row.vendor, await self.windows(row)) for row in connections]),
        )

    async def status(self, team_id: str, user_id: str, *, refresh: bool = True) -> StatusAnswer:
        """One card per connection: spend this cycle, credits and runway, headroom, freshness, errors.

        ``refresh=False`` answers from the store alone (App Home, which is re-drawn after each sync and
        so must not start one).
        """
        viewer = await self.viewer(team_id, user_id)
        problems = await self.freshen(await self.sources(team_id, None)) if refresh else {}
        connections = await self.sources(team_id, None)  # again: the sync may have changed their status
        cards = []
        for connection in connections:
            assert connection.id is not None
            cycle = await self.cycle_of(connection)
            spent: Decimal | None = None
            credit = None
            near = None
            tracked = None
            unattributed = False
            meaning = traits(connection.vendor).credits_left
            if meaning is CreditsLeft.SPEND_LIMITS:
                spent = await self.cursor_cycle_total(connection.id)
                near = (await self.limit_watch(connection, show_names=False)).count
            elif meaning is CreditsLeft.CREDIT_POOL:
                credit = await self.credit_view(connection, viewer.tz)
                if cycle is not None:
                    async with self._db.session() as session:
                        rows = await usage_store.usage_totals(
                            session, [connection.id], cycle[0], cycle[1], by="user"
                        )
                    spent = sum((row.amount for row in rows), ZERO)
                    unattributed = has_unattributed(rows)
            else:
                tracked = await self.tracked_view(connection)
            states = await self._sync.states(connection.id)
            errors = tuple(
                f"{name}: {state.last_error}"
                for name, state in sorted(states.items())
                if state.last_error is not None
            )
            cards.append(
                StatusCard(
                    connection=connection.name,
                    vendor=connection.vendor,
                    origin=connection.origin,
                    status=connection.status,
                    status_detail=connection.status_detail,
                    unit=self.unit_of(connection),
                    cycle_spent=spent,
                    cycle_start=cycle[0] if cycle else None,
                    cycle_end=cycle[1] if cycle else None,
                    credit=credit,
                    near_limit=near,
                    tracked=tracked,
                    windows=await self.windows(connection),
                    freshness=await self.freshness(connection, problems),
                    errors=errors,
                    people_unavailable=unattributed,
                )
            )
        return StatusAnswer(viewer.tz, tuple(cards))

    async def cursor_cycle_total(self, connection_id: int) -> Decimal | None:
        async with self._db.session() as session:
            latest: datetime | None = (
                await session.exec(
                    select(func.max(CycleSpendRow.cycle_start)).where(
                        CycleSpendRow.connection_id == connection_id
                    )
                )
            ).one()
            if latest is None:
                return None
            total = (
                await session.exec(
                    select(func.sum(CycleSpendRow.total)).where(
                        CycleSpendRow.connection_id == connection_id, CycleSpendRow.cycle_start == latest
                    )
                )
            ).one()
        return total or ZERO

    @staticmethod
    async def _latest_snapshot(session: object, connection_id: int) -> CreditSnapshot | None:
        rows = await session.exec(  # type: ignore[attr-defined]
            select(CreditSnapshot)
            .where(CreditSnapshot.connection_id == connection_id)
            .order_by(col(CreditSnapshot.observed_at).desc())
            .limit(1)
        )
        snapshot: CreditSnapshot | None = rows.first()
        return snapshot
