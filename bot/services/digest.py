"""The digest: yesterday's spend per tool, the cycle against budget and forecast, who and what, credits,
headroom, open alerts, freshness, and a 30-day chart, for one channel's time zone.

Everything comes from the store (the syncs keep it fresh), so a thousand digests cost no vendor call.
Under ``no-names`` no person is named.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.domain.forecast import forecast_cycle
from bot.domain.money import format_amount, format_change, format_percent
from bot.domain.periods import Period, PeriodSpec, resolve_period
from bot.domain.vendors import CreditsLeft, traits
from bot.messages.blocks import (
    Block,
    Message,
    context,
    divider,
    escape,
    fields,
    fit,
    header,
    lines_sections,
    section,
)
from bot.messages.replies import credit_lines, freshness_line, requests_part, window_line
from bot.services.alerts import AlertService
from bot.services.charts import Chart, ChartService
from bot.services.clock import Clock
from bot.services.credit_figures import CreditFigures
from bot.services.errors import NotFound
from bot.services.freshness import Freshener
from bot.services.sources import SourcePicker, connection_label
from bot.services.subscriptions import SubscriptionService, source_of
from bot.services.usage_figures import UsageFigures, has_unattributed, people_unavailable_note
from bot.settings import Settings
from bot.store.models import Connection

log = logging.getLogger(__name__)

TOP = 5
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
        *,
        clock: Clock,
    ) -> None:
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
        try:
            connections = await self._sources.pick(team_id, None)
        except NotFound as error:
            message = Message("spendbot digest: no connection yet", [section(error.message)])
            return BuiltDigest(message, None)
        tz = options.tz
        last = day - timedelta(days=1)
        first = last - timedelta(days=6) if options.weekly else last
        period = self._period(first, last, tz)
        before = self._period(first - timedelta(days=(last - first).days + 1), first - timedelta(days=1), tz)
        week_first, week_before_first = last - timedelta(days=6), last - timedelta(days=13)
        week = self._period(week_first, last, tz)
        week_before = self._period(week_before_first, week_first - timedelta(days=1), tz)

        title = "Weekly digest" if options.weekly else "Daily digest"
        label = period.label if options.weekly else f"{last:%a} {last:%b} {last.day}"
        tags = (" [TEST]" if options.test else "") + (" (late)" if options.late else "")
        blocks: list[Block] = [header(f"{title} · {label}{tags}")]
        if options.late:
            blocks.append(context("Posted late: the bot was not running at the scheduled time."))

        usage_sources = [row for row in connections if traits(row.vendor).reports_usage]
        summary_parts: list[str] = []
        pairs: list[tuple[str, str]] = []
        for connection in usage_sources:
            unit = self._figures.unit_of(connection)
            now_total = await self._figures.period_total(connection, period)
            prior = await self._figures.period_total(connection, before)
            this_week = await self._figures.period_total(connection, week)
            last_week = await self._figures.period_total(connection, week_before)
            value = format_amount(now_total.amount, unit)
            lines = [
                f"*{value}*" + requests_part(connection.vendor, now_total.requests),
                f"{format_change(now_total.amount, prior.amount, unit)} on the "
                + ("week before" if options.weekly else "day before"),
                f"7 days: {format_amount(this_week.amount, unit)}, "
                f"{format_change(this_week.amount, last_week.amount, unit)} on the 7 before",
            ]
            if traits(connection.vendor).utc_days:
                lines.append("_UTC days_")
            pairs.append((connection_label(connection), "\n".join(lines)))
            summary_parts.append(f"{connection.name} {value}")
        if pairs:
            blocks.extend(fields(pairs))

        cycle_lines = await self._cycle_lines(team_id, connections, options)
        if cycle_lines:
            blocks.append(divider())
            blocks.append(section("*This cycle*\n" + "\n".join(cycle_lines)))

        who_lines = await self._top_lines(usage_sources, period, options.no_names)
        if who_lines:
            blocks.append(divider())
            blocks.extend(lines_sections(who_lines, max_lines=len(who_lines)))  # each table is cut at TOP

        credit_blocks = await self._credit_lines(connections, tz)
        if credit_blocks:
            blocks.append(divider())
            blocks.append(section("*Credits and limits*\n" + "\n".join(credit_blocks)))

        headroom = await self._headroom_lines(connections, tz)
        if headroom:
            blocks.append(section("*Rate-limit headroom*\n" + "\n".join(headroom)))

        alert_lines = await self._alert_lines(team_id)
        blocks.append(section("*Open alerts*\n" + ("\n".join(alert_lines) if alert_lines else "None.")))

        chart: Chart | None = None
        if with_chart:
            chart = await self._charts.render(team_id, connections, self._clock().date() - timedelta(days=1))
            if chart is not None:
                file_id = await self._charts.file_id(team_id, chart)
                if file_id:
                    blocks.append(
                        {
                            "type": "image",
                            "slack_file": {"id": file_id},
                            "alt_text": "Spend per UTC day over the last 30 days",
                            "title": {"type": "plain_text", "text": "Last 30 days"},
                        }
                    )
        freshness = tuple([await self._freshener.freshness(row, {}) for row in connections])
        blocks.append(context(freshness_line(freshness, tz)))
        text = f"{title} {label}{tags}: " + (", ".join(summary_parts) or "no spend sources")
        return BuiltDigest(Message(text, fit(blocks)), chart)

    async def _cycle_lines(
        self, team_id: str, connections: list[Connection], options: DigestOptions
    ) -> list[str]:
        budgets = [
            row
            for row in await self._subscriptions.alert_subscriptions(team_id)
            if row.kind == "budget" and (options.channel_id is None or row.channel_id == options.channel_id)
        ]
        lines = []
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
            text = (
                f"{connection_label(connection)}: {format_amount(spent, unit)} so far, forecast "
                f"{format_amount(forecast.projected_total, unit)} by {span[1]:%b} {span[1].day}"
            )
            for budget in budgets:
                source = source_of(budget)
                applies = source is not None and (
                    source.connection == connection.name or source.vendor == connection.vendor
                )
                budget_unit = str((budget.params or {}).get("unit") or "usd_cents")
                if applies and budget_unit == unit:
                    amount = Decimal(str((budget.params or {}).get("amount", "0")))
                    if amount > 0:
                        share = format_percent(spent / amount * 100)
                        text += f" — {share} of the {format_amount(amount, unit)} budget"
                        if forecast.projected_total > amount:
                            text += " :warning: forecast over budget"
            lines.append(text)
        return lines

    async def _top_lines(self, connections: list[Connection], period: Period, no_names: bool) -> list[str]:
        people: dict[str, dict[str, Decimal]] = {}
        models: dict[str, dict[str, Decimal]] = {}
        notes: list[str] = []
        for connection in connections:
            unit = self._figures.unit_of(connection)
            group = "usd_cents" if self._figures.usd_cents(connection, ZERO) is not None else unit
            for row in await self._figures.period_breakdown(connection, period, "model"):
                amount = (
                    self._figures.usd_cents(connection, row.amount) if group == "usd_cents" else row.amount
                )
                target = models.setdefault(group, {})
                target[row.key or "(unknown)"] = target.get(row.key or "(unknown)", ZERO) + (amount or ZERO)
            if no_names:
                continue
            by_user = await self._figures.period_breakdown(connection, period, "user")
            if has_unattributed(by_user):
                notes.append(f"_{people_unavailable_note(connection)}_")
            for row in by_user:
                if not row.key:
                    continue
                amount = (
                    self._figures.usd_cents(connection, row.amount) if group == "usd_cents" else row.amount
                )
                target = people.setdefault(group, {})
                target[row.key] = target.get(row.key, ZERO) + (amount or ZERO)
        lines = []
        for title, table in (("Top people", people), ("Top models", models)):
            for group, values in sorted(table.items()):
                ranked = sorted(values.items(), key=lambda item: (-item[1], item[0]))[:TOP]
                if not ranked:
                    continue
                lines.append(f"*{title}* (" + ("credits" if group == "credits" else "dollars") + ")")
                lines.extend(
                    f"{index}. {escape(name)} — {format_amount(amount, group)}"
                    for index, (name, amount) in enumerate(ranked, start=1)
                )
        if no_names and lines:
            lines.append("_People are not named in this channel (no-names)._")
        return lines + notes

    async def _credit_lines(self, connections: list[Connection], tz: ZoneInfo) -> list[str]:
        lines = []
        for connection in connections:
            meaning = traits(connection.vendor).credits_left
            if meaning is CreditsLeft.CREDIT_POOL:
                view = await self._credits.credit_view(connection, tz)
                if view is not None:
                    lines.append(f"{connection_label(connection)}: " + " ".join(credit_lines(view, tz)))
            elif meaning is CreditsLeft.SPEND_LIMITS:
                watch = await self._credits.limit_watch(connection, show_names=False)
                if watch.count:
                    label = connection_label(connection)
                    lines.append(f"{label}: {watch.count} people at 90% or more of their spend limit")
            else:
                figure = await self._credits.tracked_view(connection)
                if figure is not None:
                    lines.append(
                        f"{connection_label(connection)}: `{escape(figure.field)}` = {figure.value:,}"
                    )
        return lines

    async def _headroom_lines(self, connections: list[Connection], tz: ZoneInfo) -> list[str]:
        lines = []
        for connection in connections:
            for window in await self._credits.windows(connection):
                if window.scope in ("headers", "minute", "day") or window.rate_limited_total:
                    lines.append(f"{connection_label(connection)} — {window_line(window, tz)}")
        return lines

    async def _alert_lines(self, team_id: str) -> list[str]:
        open_alerts = await self._alerts.open_alerts(team_id)
        return [
            f":rotating_light: {(state.summary or state.metric).splitlines()[0]}"
            for _, state in open_alerts[:10]
        ]

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
