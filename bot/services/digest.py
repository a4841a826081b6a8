"""The digest: yesterday's spend per tool, the cycle against budget and forecast, who and what, credits,
headroom, open alerts, freshness, and a 30-day chart, for one channel's time zone.

Everything comes from the store (the syncs keep it fresh), so a thousand digests cost no vendor call.
Under ``no-names`` no person is named.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.domain.change import explain
from bot.domain.forecast import forecast_cycle
from bot.domain.periods import Period, PeriodSpec, resolve_period
from bot.domain.vendors import CreditsLeft, traits
from bot.messages.digest import (
    CreditLine,
    CycleStanding,
    Digest,
    Headroom,
    Ranked,
    SourceSpend,
    TopTable,
    digest_message,
    no_sources_message,
)
from bot.messages.insights import spike_line
from bot.messages.message import Message
from bot.messages.why import why_line
from bot.metrics import Metrics
from bot.services.alerts import AlertService
from bot.services.charts import Chart, ChartService
from bot.services.clock import Clock
from bot.services.credit_figures import CreditFigures
from bot.services.errors import NotFound
from bot.services.freshness import Freshener
from bot.services.idle_report import IdleReport
from bot.services.sources import SourcePicker
from bot.services.spike_report import SpikeReport
from bot.services.subscriptions import SubscriptionService, source_of
from bot.services.usage_figures import UsageFigures, has_unattributed, people_unavailable_note
from bot.settings import Settings
from bot.store.models import Connection, Subscription

log = logging.getLogger(__name__)

TOP = 5
SPIKES_SHOWN = 5
OPEN_ALERTS_SHOWN = 10
SPIKE_UNNAMED = "A person spent far above their usual (names are not shown in this channel)"
ZERO = Decimal(0)


@dataclass(frozen=True)
class DigestOptions:
    tz: ZoneInfo
    no_names: bool = False
    weekly: bool = False
    late: bool = False
    test: bool = False
    channel_id: str | None = None


@dataclass
class BuiltDigest:
    message: Message
    chart: Chart | None


class DigestService:
    """Builds digests; the scheduler and ``digest now`` post them through the delivery ledger."""

    def __init__(
        self,
        settings: Settings,
        sources: SourcePicker,
        figures: UsageFigures,
        freshener: Freshener,
        credit_figures: CreditFigures,
        subscriptions: SubscriptionService,
        charts: ChartService,
        alerts: AlertService,
        idle: IdleReport,
        spikes: SpikeReport,
        *,
        clock: Clock,
        metrics: Metrics,
    ) -> None:
        self._metrics = metrics
        self._idle = idle
        self._spikes = spikes
        self._settings = settings
        self._sources = sources
        self._figures = figures
        self._freshener = freshener
        self._credits = credit_figures
        self._subscriptions = subscriptions
        self._charts = charts
        self._alerts = alerts
        self._clock = clock

    def _period(self, first: date, last: date, tz: ZoneInfo) -> Period:
        return resolve_period(PeriodSpec.between(first, last), now=self._clock(), tz=tz)

    async def build(
        self, team_id: str, day: date, options: DigestOptions, *, with_chart: bool = True
    ) -> BuiltDigest:
        """The digest for local ``day`` (it reports the day before, or the week before for weekly ones)."""
        self._metrics.digest_builds.inc()
        try:
            connections = await self._sources.pick(team_id, None)
        except NotFound as error:
            return BuiltDigest(no_sources_message(error.message), None)
        last = day - timedelta(days=1)
        spans = self._spans(last - timedelta(days=6) if options.weekly else last, last, options.tz)
        period = spans[0]
        usage_sources = [row for row in connections if traits(row.vendor).reports_usage]
        top, people_notes = await self._top_tables(usage_sources, period, options.no_names)
        chart = await self._chart(team_id, connections) if with_chart else None
        shown_alerts, more_alerts = await self._open_alerts(team_id, options.no_names)
        digest = Digest(
            tz=options.tz,
            day=last,
            period_label=period.label,
            weekly=options.weekly,
            late=options.late,
            test=options.test,
            no_names=options.no_names,
            sources=tuple([await self._source_spend(row, spans) for row in usage_sources]),
            cycles=await self._cycles(team_id, connections, options),
            top=top,
            people_notes=people_notes,
            credits=await self._credit_lines(connections, options.tz),
            headroom=await self._headroom(connections),
            open_alerts=shown_alerts,
            more_alerts=more_alerts,
            idle=await self._idle.summary(connections, last) if options.weekly else None,
            spikes=await self._spike_lines(usage_sources, last, options.no_names),
            why=await self._why(usage_sources, spans[0], spans[1]),
            freshness=tuple([await self._freshener.freshness(row, {}) for row in connections]),
            chart_file_id=await self._charts.file_id(team_id, chart) if chart is not None else None,
        )
        return BuiltDigest(digest_message(digest), chart)

    async def _why(self, connections: list[Connection], period: Period, previous: Period) -> str | None:
        """Why the dollar sources' spend changed on the period before, in parts (``domain.change``)."""
        changes = [
            change
            for connection in connections
            if (change := await self._figures.tool_change(connection, period, previous)) is not None
        ]
        why = explain(changes) if changes else None
        return why_line(why) if why is not None and why.parts else None

    async def _spike_lines(
        self, connections: list[Connection], last: date, no_names: bool
    ) -> tuple[str, ...]:
        """The people whose last UTC day was far above their usual (a count alone under ``no_names``)."""
        found = await self._spikes.on(connections, last)
        if no_names and found:
            people = len({spike.email for spike in found})
            return (f"{people} {'person' if people == 1 else 'people'} spent far above their usual.",)
        return tuple(spike_line(spike) for spike in found[:SPIKES_SHOWN]) + (
            (f"+{len(found) - SPIKES_SHOWN} more",) if len(found) > SPIKES_SHOWN else ()
        )

    async def _chart(self, team_id: str, connections: list[Connection]) -> Chart | None:
        return await self._charts.render(team_id, connections, self._clock().date() - timedelta(days=1))

    def _spans(self, first: date, last: date, tz: ZoneInfo) -> tuple[Period, Period, Period, Period]:
        """The digest's days ``first``..``last`` and as many days before them; the last 7 days and the 7
        before those."""
        before_first = first - timedelta(days=(last - first).days + 1)
        week_first = last - timedelta(days=6)
        return (
            self._period(first, last, tz),
            self._period(before_first, first - timedelta(days=1), tz),
            self._period(week_first, last, tz),
            self._period(last - timedelta(days=13), week_first - timedelta(days=1), tz),
        )

    async def _source_spend(
        self, connection: Connection, spans: tuple[Period, Period, Period, Period]
    ) -> SourceSpend:
        """A source's totals over the digest's spans (see :meth:`_spans`)."""
        totals = [await self._figures.period_total(connection, span) for span in spans]
        now, before, week, week_before = totals
        return SourceSpend(
            connection.name,
            connection.vendor,
            self._figures.unit_of(connection),
            now.amount,
            now.requests,
            before.amount,
            week.amount,
            week_before.amount,
            utc_days=traits(connection.vendor).utc_days,
            tokens=now.tokens,
        )

    async def team_budgets(self, team_id: str) -> list[Subscription]:
        """Every budget subscription of the workspace (a digest shows its channel's)."""
        return [row for row in await self._subscriptions.alert_subscriptions(team_id) if row.kind == "budget"]

    @staticmethod
    def content_key(team_id: str, day: date, options: DigestOptions, budgets: list[Subscription]) -> Hashable:
        """What a digest's content depends on beside the store: two channels with the same key get the
        same message (the workspace, the day, the zone and options, and the channel's budgets, picked
        from the workspace's ``budgets``)."""
        shown_budgets = tuple(
            sorted(repr(sorted((row.params or {}).items())) for row in _of_channel(budgets, options))
        )
        shown = (options.tz.key, options.no_names, options.weekly, options.late, options.test)
        return (team_id, day, shown, shown_budgets)

    async def _cycles(
        self, team_id: str, connections: list[Connection], options: DigestOptions
    ) -> tuple[CycleStanding, ...]:
        """Each source's cycle so far and its forecast, with the channel's budgets in its unit."""
        budgets = _of_channel(await self.team_budgets(team_id), options)
        cycles = []
        now = self._clock()
        for connection in connections:
            so_far = await self._figures.cycle_to_date(connection)
            if so_far is None:
                continue
            span, spent, recent = so_far
            unit = self._figures.unit_of(connection)
            forecast = forecast_cycle(
                spent, cycle_start=span[0], cycle_end=span[1], now=now, recent_daily=recent
            )
            amounts = []
            for budget in budgets:
                source = source_of(budget)
                applies = source is not None and (
                    source.connection == connection.name or source.vendor == connection.vendor
                )
                budget_unit = str((budget.params or {}).get("unit") or "usd_cents")
                if applies and budget_unit == unit:
                    amount = Decimal(str((budget.params or {}).get("amount", "0")))
                    if amount > 0:
                        amounts.append(amount)
            cycles.append(
                CycleStanding(
                    connection.name,
                    connection.vendor,
                    unit,
                    spent,
                    forecast.projected_total,
                    span[1],
                    tuple(amounts),
                )
            )
        return tuple(cycles)

    async def _top_tables(
        self, connections: list[Connection], period: Period, no_names: bool
    ) -> tuple[tuple[TopTable, ...], tuple[str, ...]]:
        """The top people and models per unit (dollars where a source counts in them), and the notes
        of sources whose spend is partly known only as team totals. No people under ``no_names``."""
        people: dict[str, dict[str, Decimal]] = {}
        models: dict[str, dict[str, Decimal]] = {}
        notes: list[str] = []
        for connection in connections:
            group = (
                "usd_cents"
                if self._figures.usd_cents(connection, ZERO) is not None
                else self._figures.unit_of(connection)
            )
            for row in await self._figures.period_breakdown(connection, period, "model"):
                _add(
                    models.setdefault(group, {}),
                    row.key or "(unknown)",
                    self._in_group(connection, group, row.amount),
                )
            if no_names:
                continue
            by_user = await self._figures.period_breakdown(connection, period, "user")
            if has_unattributed(by_user):
                notes.append(people_unavailable_note(connection))
            for row in by_user:
                if row.key:
                    _add(people.setdefault(group, {}), row.key, self._in_group(connection, group, row.amount))
        tables = [
            TopTable(by, group, _ranked(values))
            for by, table in (("people", people), ("models", models))
            for group, values in sorted(table.items())
        ]
        return tuple(tables), tuple(notes)

    def _in_group(self, connection: Connection, group: str, amount: Decimal) -> Decimal:
        converted = self._figures.usd_cents(connection, amount) if group == "usd_cents" else amount
        return converted or ZERO

    async def _credit_lines(self, connections: list[Connection], tz: ZoneInfo) -> tuple[CreditLine, ...]:
        """What "credits left" means for each source that has a figure for it."""
        lines = []
        for connection in connections:
            meaning = traits(connection.vendor).credits_left
            name, vendor = connection.name, connection.vendor
            if meaning is CreditsLeft.CREDIT_POOL:
                view = await self._credits.credit_view(connection, tz)
                if view is not None:
                    lines.append(CreditLine(name, vendor, pool=view))
            elif meaning is CreditsLeft.SPEND_LIMITS:
                watch = await self._credits.limit_watch(connection, show_names=False)
                if watch.count:
                    lines.append(CreditLine(name, vendor, near_limit=watch.count))
            else:
                figure = await self._credits.tracked_view(connection)
                if figure is not None:
                    lines.append(CreditLine(name, vendor, tracked=figure))
        return tuple(lines)

    async def _headroom(self, connections: list[Connection]) -> tuple[Headroom, ...]:
        """The windows worth a line: the vendor's own and our counts, and any where a 429 was met."""
        return tuple(
            [
                Headroom(connection.name, connection.vendor, window)
                for connection in connections
                for window in await self._credits.windows(connection)
                if window.scope in ("headers", "minute", "day") or window.rate_limited_total
            ]
        )

    async def _open_alerts(self, team_id: str, no_names: bool) -> tuple[tuple[str, ...], int]:
        """The summaries of the first ``OPEN_ALERTS_SHOWN`` firing alerts and how many more fire; under
        ``no_names`` a spike alert (it names its person) is said without its name."""
        open_alerts = await self._alerts.open_alerts(team_id)
        shown = tuple(
            SPIKE_UNNAMED if no_names and subscription.kind == "spike" else state.summary or state.metric
            for subscription, state in open_alerts[:OPEN_ALERTS_SHOWN]
        )
        return shown, max(0, len(open_alerts) - OPEN_ALERTS_SHOWN)

    async def preview(self, team_id: str) -> tuple[Message, Chart | None]:
        """Today's digest in the default zone, with the chart rendered to disk but not uploaded (the demo)."""
        tz = self._settings.default_zone
        day = self._clock().astimezone(tz).date()
        built = await self.build(team_id, day, DigestOptions(tz=tz), with_chart=False)
        chart = None
        try:
            chart = await self._charts.render(
                team_id, await self._sources.pick(team_id, None), self._clock().date() - timedelta(days=1)
            )
        except NotFound:
            chart = None
        return built.message, chart


def _add(table: dict[str, Decimal], key: str, amount: Decimal) -> None:
    table[key] = table.get(key, ZERO) + amount


def _ranked(values: dict[str, Decimal]) -> tuple[Ranked, ...]:
    ranked = sorted(values.items(), key=lambda item: (-item[1], item[0]))[:TOP]
    return tuple(Ranked(name, amount) for name, amount in ranked)


def _of_channel(budgets: list[Subscription], options: DigestOptions) -> list[Subscription]:
    """The budgets a digest shows: its channel's (every one when it is for no channel)."""
    return [row for row in budgets if options.channel_id is None or row.channel_id == options.channel_id]


class DigestBuilds:
    """The digests of one scheduled pass, each built once per distinct content (``content_key``) and
    shared by every channel that wants it; channels asking while it is being built wait for that build.
    A failed build fails every digest that shared it (each stays due for the next tick)."""

    def __init__(self, service: DigestService) -> None:
        self._service = service
        self._builds: dict[Hashable, asyncio.Task[BuiltDigest]] = {}
        self._budgets: dict[str, list[Subscription]] = {}  # read once a workspace, for the pass's keys

    async def get(self, team_id: str, day: date, options: DigestOptions) -> BuiltDigest:
        if team_id not in self._budgets:
            self._budgets[team_id] = await self._service.team_budgets(team_id)
        key = self._service.content_key(team_id, day, options, self._budgets[team_id])
        build = self._builds.get(key)
        if build is None:
            build = asyncio.ensure_future(self._service.build(team_id, day, options))
            self._builds[key] = build
        return await build
