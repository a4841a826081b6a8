"""Alerts: readings per subscription, one state machine per subscription + metric + threshold + cycle.

Each check turns a subscription into readings (credits low, a budget level crossed or forecast, rate-limit
headroom low, a connection unhealthy), steps each reading's state machine (``bot.domain.alerts``) and
posts what it says: a crossing once, a reminder at most every ``SPENDBOT_REMIND_HOURS``, and on recovery
the original message is edited to show it resolved with a reply in its thread.

Alerts due together for one channel share one message; each alert has its own section (and its own
"Snooze 24h" / "Mute until resolved" buttons) and is resolved in place within it. Every post of every
alert has its own idempotency key in the delivery ledger (the episode and reminder numbers are part of
it, never a time), so a crash or a second replica never posts an alert twice; a key found already sent
after a crash brings the alert's state up to date instead of posting again.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.domain.alerts import AlertAction, AlertState, AlertStatus, mute_until_resolved, snooze, step_alert
from bot.domain.forecast import budget_levels, forecast_cycle
from bot.domain.money import format_amount, format_percent, format_runway
from bot.domain.usage import Unit, Vendor
from bot.domain.vendors import CreditsLeft, traits
from bot.messages.alerts import (
    AlertBatch,
    AlertItem,
    OpenAlert,
    OpenAlerts,
    alert_message,
    mark_resolved,
    open_alerts_message,
    resolved_reply,
)
from bot.messages.message import Message
from bot.messages.mrkdwn import escape
from bot.metrics import Metrics
from bot.services.clock import Clock
from bot.services.deliveries import Claim, DeliveryLedger, key_for
from bot.services.errors import NotFound
from bot.services.queries import QueryService, connection_label
from bot.services.subscriptions import SubscriptionService, source_of
from bot.services.sync import SyncService
from bot.settings import Settings
from bot.store.alerts import AlertStateRepository, state_key
from bot.store.deliveries import DeliveryRepository, DeliveryState
from bot.store.models import AlertStateRow, Connection, Delivery, Subscription

log = logging.getLogger(__name__)

DEFAULT_CREDIT_PERCENT = Decimal(20)
NEAR_LIMIT_PERCENT = Decimal(90)
BUDGET_LEVELS = (50, 80, 100)
ZERO = Decimal(0)


@dataclass(frozen=True)
class Reading:
    """One condition of one subscription, as measured now.

    ``entering`` says whether it holds for an alert that is not firing; ``staying`` whether it still holds
    for one that is (the hysteresis that keeps a reading at the line from flapping).
    """

    metric: str
    threshold: str
    cycle: str
    entering: bool
    staying: bool
    title: str
    detail: str
    value: str | None = None
    rising: bool = False  # breached when ``value`` grew since the last check (429s met), not by a threshold


@dataclass
class _Due:
    subscription: Subscription
    reading: Reading
    row: AlertStateRow
    state: AlertState
    action: AlertAction
    key: str = ""
    episode: int = 0
    reminders: int = 0


@dataclass
class CheckReport:
    readings: int = 0
    posted: int = 0
    resolved: int = 0
    skipped: int = 0
    channels: set[str] = field(default_factory=set)


def to_machine(row: AlertStateRow) -> AlertState:
    return AlertState(
        status=AlertStatus(row.status),
        fired_at=row.fired_at,
        last_notified_at=row.last_notified_at,
        resolved_at=row.resolved_at,
        snoozed_until=row.snoozed_until,
        muted_until_resolved=row.muted_until_resolved,
        notified=row.notified,
    )


def _apply(row: AlertStateRow, state: AlertState, now: datetime) -> None:
    row.status = state.status.value
    row.fired_at = state.fired_at
    row.last_notified_at = state.last_notified_at
    row.resolved_at = state.resolved_at
    row.snoozed_until = state.snoozed_until
    row.muted_until_resolved = state.muted_until_resolved
    row.notified = state.notified
    row.updated_at = now


class AlertService:
    """Checks alert subscriptions and posts their transitions; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        states: AlertStateRepository,
        deliveries: DeliveryRepository,
        queries: QueryService,
        subscriptions: SubscriptionService,
        sync: SyncService,
        ledger: DeliveryLedger,
        *,
        clock: Clock,
        metrics: Metrics,
    ) -> None:
        self._settings = settings
        self._states = states
        self._deliveries = deliveries
        self._queries = queries
        self._subscriptions = subscriptions
        self._sync = sync
        self._ledger = ledger
        self._clock = clock
        self._metrics = metrics

    @property
    def remind_every(self) -> timedelta:
        return timedelta(hours=self._settings.remind_hours)

    # ----- readings ----------------------------------------------------------------------------------

    async def readings(
        self, subscription: Subscription, only: Collection[int] | None = None
    ) -> list[Reading]:
        """What a subscription's conditions measure now (one reading per metric and threshold).

        ``only`` limits the readings to those connections (a budget sums its sources whatever it says).
        """
        connections = await self._queries.sources(subscription.team_id, None)
        if only is not None and subscription.kind != "budget":
            connections = [connection for connection in connections if connection.id in only]
        if subscription.kind == "credit-low":
            return await self._credit_readings(subscription, connections)
        if subscription.kind == "budget":
            return await self._budget_readings(subscription, connections)
        if subscription.kind == "rate-limit":
            return await self._rate_limit_readings(subscription, connections)
        if subscription.kind == "health":
            return await self._health_readings(connections)
        return []

    async def _credit_readings(
        self, subscription: Subscription, connections: list[Connection]
    ) -> list[Reading]:
        params = subscription.params or {}
        percent = Decimal(params["below_percent"]) if params.get("below_percent") else None
        amount = Decimal(params["below_amount"]) if params.get("below_amount") else None
        tz = self._settings.default_zone
        found: list[Reading] = []
        for connection in connections:
            name = connection_label(connection)
            meaning = traits(connection.vendor).credits_left
            if meaning is CreditsLeft.CREDIT_POOL:
                view = await self._queries.credit_view(connection, tz)
                if view is None:
                    continue
                left = view.percent_left if view.percent_left is not None else Decimal(100)
                cycle = f"cycle:{view.cycle_end:%Y-%m-%d}" if view.cycle_end else "cycle:-"
                runs_short = (
                    view.runs_out_at is not None
                    and view.cycle_end is not None
                    and view.runs_out_at < view.cycle_end
                )
                if percent is not None:
                    threshold, entering, staying = f"pct:{percent}", left <= percent, left <= percent + 2
                elif amount is not None:
                    threshold = f"abs:{amount}"
                    entering, staying = view.remaining <= amount, view.remaining <= amount * Decimal("1.05")
                else:
                    threshold = "default"
                    entering = runs_short or left <= DEFAULT_CREDIT_PERCENT
                    staying = runs_short or left <= DEFAULT_CREDIT_PERCENT + 2
                runway = format_runway(view.days_left) if view.days_left is not None else "no recent use"
                detail = (
                    f"{format_amount(view.remaining, view.unit)} left of "
                    f"{format_amount(view.size, view.unit)} "
                    f"({format_percent(left)}); {runway} at the current burn "
                    f"({format_amount(view.burn_per_day, view.unit)}/day)"
                )
                if view.cycle_end is not None:
                    detail += f", cycle resets on {view.cycle_end:%b} {view.cycle_end.day}"
                if view.top_up_by is not None:
                    detail += f". Top up by *{view.top_up_by:%b} {view.top_up_by.day}*."
                found.append(
                    Reading(
                        f"credits:{connection.name}",
                        threshold,
                        cycle,
                        entering,
                        staying,
                        f"{name}: credits running low",
                        detail,
                        str(view.remaining),
                    )
                )
            elif meaning is CreditsLeft.SPEND_LIMITS:
                watch = await self._queries.limit_watch(
                    connection, show_names=True, threshold=NEAR_LIMIT_PERCENT
                )
                cycle_span = await self._queries.cycle_of(connection)
                cycle = f"cycle:{cycle_span[0]:%Y-%m-%d}" if cycle_span else "cycle:-"
                people = ", ".join(
                    f"{escape(person.name or person.email)} ({format_percent(person.percent)} of "
                    f"{format_amount(person.limit_cents, 'usd_cents')})"
                    for person in watch.people[:10]
                )
                more = f" and {watch.count - 10} more" if watch.count > 10 else ""
                share = format_percent(NEAR_LIMIT_PERCENT)
                detail = f"{watch.count} at {share} or more of their spend limit: {people}{more}"
                found.append(
                    Reading(
                        f"limits:{connection.name}",
                        "90",
                        cycle,
                        watch.count > 0,
                        watch.count > 0,
                        f"{name}: people near their spend limit",
                        detail,
                        str(watch.count),
                    )
                )
            elif meaning is CreditsLeft.TRACKED_FIGURE and (percent is not None or amount is not None):
                figure = await self._queries.tracked_view(connection)
                if figure is None:
                    continue
                cycle = f"month:{self._clock():%Y-%m}"
                if amount is not None:
                    threshold, entering = f"abs:{amount}", figure.value <= amount
                    staying = figure.value <= amount * Decimal("1.05")
                else:
                    assert percent is not None
                    peak = await self._tracked_peak(connection)
                    of_peak = figure.value / peak * 100 if peak > 0 else Decimal(100)
                    threshold, entering, staying = (
                        f"pct:{percent}",
                        of_peak <= percent,
                        of_peak <= percent + 2,
                    )
                detail = f"`{escape(figure.field)}` is {figure.value:,}"
                found.append(
                    Reading(
                        f"tracked:{connection.name}",
                        threshold,
                        cycle,
                        entering,
                        staying,
                        f"{name}: tracked figure low",
                        detail,
                        str(figure.value),
                    )
                )
        return found

    async def _tracked_peak(self, connection: Connection) -> Decimal:
        start = self._clock().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return await self._states.tracked_peak(connection.id, start)

    async def _budget_readings(
        self, subscription: Subscription, connections: list[Connection]
    ) -> list[Reading]:
        params = subscription.params or {}
        budget = Decimal(str(params.get("amount", "0")))
        unit = str(params.get("unit") or "usd_cents")
        source = source_of(subscription)
        if source is None:
            chosen = [
                row
                for row in connections
                if traits(row.vendor).unit is not Unit.CREDITS or self._settings.windsurf_credit_price
            ]
        elif source.vendor is not None:
            chosen = [row for row in connections if row.vendor == source.vendor]
        else:
            chosen = [row for row in connections if row.name == source.connection]
        if not chosen or budget <= 0:
            return []
        now = self._clock()
        spent = projected = ZERO
        cycles: list[tuple[datetime, datetime]] = []
        for connection in chosen:
            so_far = await self._queries.cycle_to_date(connection)
            if so_far is None:
                continue
            span, amount, recent = so_far
            cycles.append(span)
            if unit == "usd_cents" and traits(connection.vendor).unit is Unit.CREDITS:
                price = (self._settings.windsurf_credit_price or ZERO) * 100
                amount, recent = amount * price, [value * price for value in recent]
            spent += amount
            forecast = forecast_cycle(
                amount, cycle_start=span[0], cycle_end=span[1], now=now, recent_daily=recent
            )
            projected += forecast.projected_total
        if not cycles:
            return []
        cycle_key = f"cycle:{cycles[0][0]:%Y-%m-%d}" if len(cycles) == 1 else f"month:{now:%Y-%m}"
        reading = budget_levels(spent, projected, budget, BUDGET_LEVELS)
        percent = spent / budget * 100
        what = source.token if source is not None else "all tools"
        span_text = (
            f"{cycles[0][0]:%b} {cycles[0][0].day} – {cycles[0][1]:%b} {cycles[0][1].day}"
            if len(cycles) == 1
            else "this month"
        )
        detail = (
            f"{format_amount(spent, unit)} of {format_amount(budget, unit)} "
            f"({format_percent(percent)}) this cycle "
            f"({span_text}); forecast {format_amount(projected, unit)} at the cycle end"
        )
        found = []
        for level in BUDGET_LEVELS:
            entering = percent >= level
            staying = percent >= level - 2
            found.append(
                Reading(
                    f"budget:{what}",
                    str(level),
                    cycle_key,
                    entering,
                    staying,
                    f"Budget {format_amount(budget, unit)} ({what}): {level}% reached",
                    detail,
                    str(spent),
                )
            )
        over = projected > budget and percent < 100
        found.append(
            Reading(
                f"budget:{what}",
                "forecast",
                cycle_key,
                over and reading.forecast_exceeds,
                projected > budget * Decimal("0.98") and percent < 100,
                f"Budget {format_amount(budget, unit)} ({what}): forecast to be exceeded",
                detail,
                str(projected),
            )
        )
        return found

    async def _rate_limit_readings(
        self, subscription: Subscription, connections: list[Connection]
    ) -> list[Reading]:
        below = Decimal(str((subscription.params or {}).get("below_percent", "10")))
        cycle = f"month:{self._clock():%Y-%m}"
        found: list[Reading] = []
        for connection in connections:
            windows = await self._queries.windows(connection)
            name = connection_label(connection)
            watched = dict(traits(connection.vendor).quota_windows)
            for window in windows:
                if window.scope in watched and window.percent_left is not None:
                    left = window.percent_left
                    scope = watched[window.scope]
                    detail = f"{window.remaining:,} of {window.limit:,} requests left in {scope}"
                    detail += f" ({format_percent(left)})"
                    found.append(
                        Reading(
                            f"ratelimit:{connection.name}:{window.scope}",
                            f"{below}%",
                            cycle,
                            left <= below,
                            left <= below + 5,
                            f"{name}: rate-limit headroom low",
                            detail,
                            str(left),
                        )
                    )
            throttled = sum(window.rate_limited_total for window in windows)
            found.append(
                Reading(
                    f"throttled:{connection.name}",
                    "any",
                    cycle,
                    False,
                    False,
                    f"{name}: the vendor throttled us",
                    f"HTTP 429 met since the last check ({throttled} since the bot started); "
                    "someone else may be using this key, or the vendor lowered its limit",
                    str(throttled),
                    rising=True,
                )
            )
        return found

    async def _health_readings(self, connections: list[Connection]) -> list[Reading]:
        now = self._clock()
        stale_after = timedelta(seconds=2 * self._settings.sync_interval)
        found = []
        for connection in connections:
            assert connection.id is not None
            states = await self._sync.states(connection.id)
            problems = []
            if connection.status == "rejected":
                problems.append(f"the key is rejected ({escape(connection.status_detail or 'no detail')})")
            failing = [state for state in states.values() if state.consecutive_failures >= 2]
            if failing and connection.status != "rejected":
                problems.append(f"fetching fails: {escape(failing[0].last_error or 'unknown error')}")
            vendor = Vendor(connection.vendor)
            limit = max(stale_after, 2 * traits(vendor).fresh_for)
            main = states.get(traits(vendor).main_dataset)
            as_of = main.data_as_of if main else None
            if (as_of is None and now - connection.created_at > limit) or (
                as_of is not None and now - as_of > limit
            ):
                since = f"since {as_of:%b} {as_of.day} {as_of:%H:%M} UTC" if as_of else "ever"
                problems.append(f"no fresh data {since}")
            detail = "; ".join(problems) if problems else "fetching works"
            found.append(
                Reading(
                    f"health:{connection.name}",
                    "any",
                    "-",
                    bool(problems),
                    bool(problems),
                    f"{connection_label(connection)}: cannot fetch data",
                    detail,
                )
            )
        return found

    # ----- checking ----------------------------------------------------------------------------------

    async def check_team(
        self, team_id: str, *, connections: Collection[int] | None = None, budgets: bool = True
    ) -> CheckReport:
        """Step the workspace's alerts once and post what the state machines say.

        ``connections`` limits the pass to the readings of those connections and ``budgets`` says whether
        it takes the budget readings, so that a caller can step each connection's alerts as soon as its
        figures are in: every reading must be stepped by exactly one pass of a check.
        """
        report = CheckReport()
        now = self._clock()
        due: dict[str, list[_Due]] = {}
        for subscription in await self._subscriptions.alert_subscriptions(team_id):
            if subscription.paused_reason is not None or (subscription.kind == "budget" and not budgets):
                continue
            try:
                readings = await self.readings(subscription, connections)
            except NotFound:
                readings = []  # no connection (yet): nothing to measure
            for reading in readings:
                report.readings += 1
                row = await self._state_row(subscription, reading)
                machine = to_machine(row)
                if reading.rising:
                    breached = _rose(row.last_value, reading.value)
                else:
                    breached = reading.staying if machine.status is AlertStatus.FIRING else reading.entering
                new_state, action = step_alert(
                    machine, breached=breached, now=now, remind_every=self.remind_every
                )
                if action is AlertAction.NONE:
                    await self._save(row, new_state, reading, now)
                    continue
                due.setdefault(subscription.channel_id, []).append(
                    _Due(subscription, reading, row, new_state, action)
                )
        for channel_id, items in due.items():
            posts = [item for item in items if item.action in (AlertAction.FIRE, AlertAction.REMIND)]
            if posts:
                report.posted += await self._post_group(team_id, channel_id, posts)
                report.channels.add(channel_id)
            for item in items:
                if item.action is AlertAction.RESOLVE and await self._resolve(team_id, channel_id, item):
                    report.resolved += 1
        return report

    async def _state_row(self, subscription: Subscription, reading: Reading) -> AlertStateRow:
        """The alert's stored state, created on its first reading (the store settles two replicas'
        race to create it); a new one inherits the subscription's snooze while that is in force."""
        subscription_id = subscription.id
        assert subscription_id is not None

        def new() -> AlertStateRow:
            metric, threshold, cycle = state_key(reading.metric, reading.threshold, reading.cycle)
            return AlertStateRow(
                subscription_id=subscription_id,
                metric=metric,
                threshold=threshold,
                cycle=cycle,
                snoozed_until=subscription.snoozed_until
                if subscription.snoozed_until and subscription.snoozed_until > self._clock()
                else None,
                updated_at=self._clock(),
            )

        return await self._states.state_for(
            subscription_id, reading.metric, reading.threshold, reading.cycle, new
        )

    async def _save(
        self, row: AlertStateRow, state: AlertState, reading: Reading, now: datetime, **fields: Any
    ) -> None:

        def change(stored: AlertStateRow) -> None:
            _apply(stored, state, now)
            stored.last_value = reading.value[:64] if reading.value else stored.last_value
            stored.summary = f"*{reading.title}*\n{reading.detail}"
            for name, value in fields.items():
                setattr(stored, name, value)

        await self._states.update(row.id, change)

    def _key(self, team_id: str, channel_id: str, item: _Due) -> str:
        reading = item.reading
        period = f"{reading.metric}|{reading.threshold}|{reading.cycle}|{item.action.value}"
        period += f"|e{item.episode}|r{item.reminders}"
        return key_for(team_id, channel_id, item.subscription.id, "alert", period)

    async def _post_group(self, team_id: str, channel_id: str, items: list[_Due]) -> int:
        """Claim each alert's post, then post the claimed ones together in one message."""
        ready: list[_Due] = []
        for item in items:
            item.episode = item.row.episode + (1 if item.action is AlertAction.FIRE else 0)
            item.reminders = item.row.reminders + 1 if item.action is AlertAction.REMIND else 0
            item.key = self._key(team_id, channel_id, item)
            existing = await self._ledger.find(item.key)
            if existing is None:
                ready.append(item)
            elif existing.state == DeliveryState.SENT:
                await self._record_posted(item, existing.message_ts)  # posted before a crash: catch up
            # a key still "posting" is settled by the ledger; a failed one waits for its retry
        if not ready:
            return 0
        message = alert_message(self._batch(ready))
        keys = [item.key for item in ready]
        claimed: list[tuple[_Due, Delivery]] = []
        for item in ready:
            claim = Claim(
                item.key, team_id, channel_id, item.subscription.id, "alert", item.key.split(":", 4)[-1][:64]
            )
            row = await self._ledger.claim(claim, message, keys=keys)
            if row is not None:
                claimed.append((item, row))
        if not claimed:
            return 0
        if len(claimed) != len(ready):
            message = alert_message(self._batch([item for item, _ in claimed]))
        result = await self._ledger.post([row for _, row in claimed], message)
        if not result.ok:
            return 0
        for item, _ in claimed:
            await self._record_posted(item, result.ts)
        return len(claimed)

    async def _record_posted(self, item: _Due, ts: str | None) -> None:
        now = self._clock()
        fields: dict[str, Any] = {"channel_id": item.subscription.channel_id, "reminders": item.reminders}
        if item.action is AlertAction.FIRE:
            fields.update(message_ts=ts, episode=item.episode)
        await self._save(item.row, item.state, item.reading, now, **fields)
        self._metrics.alert_transitions.labels(kind=item.subscription.kind, action=item.action.value).inc()

    async def _resolve(self, team_id: str, channel_id: str, item: _Due) -> bool:
        """Edit the alert's section of its message to "resolved", reply in the thread, save the state."""
        row = item.row
        item.episode = row.episode
        item.reminders = 0
        item.key = self._key(team_id, channel_id, item)
        existing = await self._ledger.find(item.key)
        if existing is not None:
            if existing.state == DeliveryState.SENT:
                await self._finish_resolve(item)
                return True
            return False
        now = self._clock()
        if row.message_ts:
            await self._edit_resolved(
                team_id, row.channel_id or channel_id, row.message_ts, row, item.reading, now
            )
        reply = resolved_reply(item.reading.title, item.reading.detail)
        claim = Claim(item.key, team_id, channel_id, item.subscription.id, "alert", "resolve")
        delivery = await self._ledger.claim(claim, reply)
        if delivery is None:
            return False
        result = await self._ledger.post([delivery], reply, thread_ts=row.message_ts)
        if not result.ok:
            return False
        await self._finish_resolve(item)
        return True

    async def _finish_resolve(self, item: _Due) -> None:
        await self._save(item.row, item.state, item.reading, self._clock(), reminders=0)
        self._metrics.alert_transitions.labels(kind=item.subscription.kind, action="resolve").inc()

    async def _edit_resolved(
        self, team_id: str, channel_id: str, ts: str, row: AlertStateRow, reading: Reading, now: datetime
    ) -> None:
        """Rewrite one alert's section of a (possibly shared) message as resolved; keep the others."""
        deliveries = await self._deliveries.of_message(channel_id, ts)
        if not deliveries or not deliveries[0].payload:
            return
        assert row.id is not None  # a stored alert state
        payload = dict(deliveries[0].payload)
        blocks = mark_resolved(payload.get("blocks") or [], row.id, reading.title, now)
        payload["blocks"] = blocks
        if await self._ledger.update(
            team_id, channel_id, ts, Message(str(payload.get("text") or ""), blocks)
        ):
            await self._deliveries.set_payload(deliveries, payload)

    # ----- messages ----------------------------------------------------------------------------------

    def _batch(self, items: list[_Due], *, test: bool = False) -> AlertBatch:
        """The alerts due together in a channel, for one message.

        Past Slack's 50 blocks the message counts the last alerts in a "+N more alerts" line; each is
        still recorded as posted, in this message.
        """
        return AlertBatch(
            tuple(
                AlertItem(
                    item.row.id,
                    item.reading.title,
                    item.reading.detail,
                    reminder=item.action is AlertAction.REMIND,
                )
                for item in items
            ),
            remind_hours=self._settings.remind_hours,
            test=test,
        )

    async def sample(self, subscription: Subscription) -> Message:
        """A test message showing what this subscription's alerts look like, from the current readings."""
        try:
            readings = await self.readings(subscription)
        except NotFound:
            readings = []
        if not readings:
            readings = [
                Reading(
                    "sample",
                    "-",
                    "-",
                    True,
                    True,
                    f"{subscription.kind}: nothing to measure yet",
                    "Add a connection for this alert to have something to watch.",
                )
            ]
        placeholder = AlertStateRow(
            id=0, subscription_id=subscription.id or 0, metric="", threshold="", cycle=""
        )
        items = [
            _Due(subscription, reading, placeholder, AlertState(), AlertAction.FIRE)
            for reading in readings[:10]
        ]
        return alert_message(self._batch(items, test=True))

    async def open_alerts(self, team_id: str) -> list[tuple[Subscription, AlertStateRow]]:
        """A workspace's firing alerts with their subscriptions, oldest first."""
        return await self._states.firing_of_team(team_id)

    async def preview(self, team_id: str) -> Message | None:
        """The open alerts as one message (the demo and App Home show it); None when nothing is open."""
        open_alerts = await self.open_alerts(team_id)
        if not open_alerts:
            return None
        return open_alerts_message(
            OpenAlerts(
                tuple(
                    OpenAlert(
                        state.summary or state.metric,
                        subscription.id,
                        subscription.kind,
                        subscription.channel_id,
                    )
                    for subscription, state in open_alerts
                )
            )
        )

    # ----- buttons -----------------------------------------------------------------------------------

    async def snooze_state(self, team_id: str, user_id: str, state_id: int, hours: float = 24) -> str:
        return await self._change_state(team_id, user_id, state_id, "snooze", hours)

    async def mute_state(self, team_id: str, user_id: str, state_id: int) -> str:
        return await self._change_state(team_id, user_id, state_id, "mute", 0)

    async def _change_state(self, team_id: str, user_id: str, state_id: int, what: str, hours: float) -> str:
        now = self._clock()

        def change(row: AlertStateRow) -> None:
            machine = to_machine(row)
            if what == "snooze":
                machine = snooze(machine, now + timedelta(hours=hours))
            else:
                machine = mute_until_resolved(machine)
            _apply(row, machine, now)

        if not await self._states.change_of_team(state_id, team_id, change):
            raise NotFound("This alert no longer exists.")
        if what == "snooze":
            return f"snoozed for {hours:g} h"
        return "muted until it resolves (the recovery will still be posted)"


def _rose(previous: str | None, current: str | None) -> bool:
    """Whether a counter grew since the last check (a restart resets counters: no growth then)."""
    if previous is None or current is None:
        return False
    return Decimal(current) > Decimal(previous)
