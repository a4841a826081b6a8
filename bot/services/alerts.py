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

import hashlib
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.domain.alerts import (
    AlertAction,
    AlertState,
    AlertStatus,
    mute_until_resolved,
    snooze,
    step_alert,
)
from bot.domain.forecast import DEFAULT_BUDGET_LEVELS, NEAR_LIMIT_PERCENT
from bot.domain.usage import Vendor
from bot.domain.vendors import CreditsLeft, traits
from bot.messages.alerts import (
    AlertBatch,
    AlertItem,
    OpenAlert,
    OpenAlerts,
    alert_message,
    alert_summary,
    fetch_failing_problem,
    health_detail,
    mark_resolved,
    open_alerts_message,
    rejected_problem,
    resolved_reply,
    stale_problem,
    summary_title,
)
from bot.messages.insights import spike_line, spike_tool
from bot.messages.message import Message
from bot.metrics import Metrics
from bot.services.alert_readings import (
    CreditThreshold,
    CycleSoFar,
    Reading,
    budget_factor,
    budget_figures,
    budget_readings,
    budget_sources,
    credit_pool_reading,
    rate_limit_readings,
    spend_limits_reading,
    tracked_reading,
)
from bot.services.clock import Clock
from bot.services.credit_figures import CreditFigures
from bot.services.deliveries import Claim, DeliveryLedger, key_for
from bot.services.errors import NotFound
from bot.services.sources import SourcePicker, connection_label
from bot.services.spike_report import SpikeReport
from bot.services.subscriptions import SubscriptionService, source_of, spike_params
from bot.services.sync import SyncService, failure_kind
from bot.services.usage_figures import UsageFigures
from bot.settings import Settings
from bot.store.alerts import METRIC_WIDTH, AlertStateRepository, state_key
from bot.store.deliveries import DeliveryRepository, DeliveryState
from bot.store.models import AlertStateRow, Connection, Delivery, Subscription
from bot.vendors import RateLimited

log = logging.getLogger(__name__)

ZERO = Decimal(0)


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
        sources: SourcePicker,
        figures: UsageFigures,
        credit_figures: CreditFigures,
        subscriptions: SubscriptionService,
        sync: SyncService,
        ledger: DeliveryLedger,
        spikes: SpikeReport,
        *,
        clock: Clock,
        metrics: Metrics,
    ) -> None:
        self._spikes = spikes
        self._settings = settings
        self._states = states
        self._deliveries = deliveries
        self._sources = sources
        self._figures = figures
        self._credits = credit_figures
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
        connections = await self._sources.pick(subscription.team_id, None)
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
        if subscription.kind == "spike":
            return await self._spike_readings(subscription, connections)
        return []

    async def _spike_readings(
        self, subscription: Subscription, connections: list[Connection]
    ) -> list[Reading]:
        """One reading per person whose UTC day so far is a spike, keyed on the day (so each person
        and day fires once), and one per firing spike alert of an earlier day, which resolves it."""
        factor, minimum = spike_params(subscription)
        today = self._clock().astimezone(UTC).date()
        spikes = await self._spikes.on(connections, today, factor=factor, minimum_cents=minimum)
        ids = {connection.name: connection.id for connection in connections}
        threshold, cycle = f"x{factor}", today.isoformat()
        readings = [
            Reading(
                spike_metric(ids[spike.source], spike.email),
                threshold,
                cycle,
                True,
                True,
                f"{spike.email} spent far above their usual on {spike_tool(spike)}",
                spike_line(spike) + f" · UTC day {cycle}, so far",
            )
            for spike in spikes
        ]
        watched = tuple(f"spike:{connection_id}:" for connection_id in ids.values())
        for owner, row in await self._states.firing_of_team(subscription.team_id):
            if owner.id == subscription.id and row.cycle != cycle and row.metric.startswith(watched):
                title = summary_title(row.summary) or "A spike"
                readings.append(
                    Reading(
                        row.metric,
                        row.threshold,
                        row.cycle,
                        False,
                        False,
                        title,
                        f"UTC day {row.cycle} is over.",
                    )
                )
        return readings

    async def _credit_readings(
        self, subscription: Subscription, connections: list[Connection]
    ) -> list[Reading]:
        line = CreditThreshold.of(subscription.params or {})
        found: list[Reading] = []
        for connection in connections:
            reading = await self._credit_reading(connection, line)
            if reading is not None:
                found.append(reading)
        return found

    async def _credit_reading(self, connection: Connection, line: CreditThreshold) -> Reading | None:
        """One connection's credit-low reading, by what "credits left" means for its vendor."""
        name = connection_label(connection)
        meaning = traits(connection.vendor).credits_left
        if meaning is CreditsLeft.CREDIT_POOL:
            view = await self._credits.credit_view(connection, self._settings.default_zone)
            return None if view is None else credit_pool_reading(connection.name, name, view, line)
        if meaning is CreditsLeft.SPEND_LIMITS:
            watch = await self._credits.limit_watch(connection, show_names=True, threshold=NEAR_LIMIT_PERCENT)
            cycle_span = await self._figures.cycle_of(connection)
            return spend_limits_reading(connection.name, name, watch, cycle_span, NEAR_LIMIT_PERCENT)
        if meaning is CreditsLeft.TRACKED_FIGURE and (line.percent is not None or line.amount is not None):
            figure = await self._credits.tracked_view(connection)
            if figure is None:
                return None
            cycle = f"month:{self._clock():%Y-%m}"
            peak = await self._tracked_peak(connection) if line.amount is None else None
            return tracked_reading(connection.name, name, figure, cycle, line, peak)
        return None

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
        price = self._settings.windsurf_credit_price
        chosen = budget_sources(source, connections, price)
        if not chosen or budget <= 0:
            return []
        parts: list[CycleSoFar] = []
        for connection in chosen:
            so_far = await self._figures.cycle_to_date(connection)
            if so_far is not None:
                span, amount, recent = so_far
                factor = budget_factor(connection, unit, price)
                parts.append(CycleSoFar(span, amount * factor, [value * factor for value in recent]))
        what = source.token if source is not None else "all tools"
        figures = budget_figures(budget, unit, what, parts, self._clock())
        return [] if figures is None else budget_readings(figures, DEFAULT_BUDGET_LEVELS)

    async def _rate_limit_readings(
        self, subscription: Subscription, connections: list[Connection]
    ) -> list[Reading]:
        below = Decimal(str((subscription.params or {}).get("below_percent", "10")))
        cycle = f"month:{self._clock():%Y-%m}"
        found: list[Reading] = []
        for connection in connections:
            windows = await self._credits.windows(connection)
            watched = dict(traits(connection.vendor).quota_windows)
            found += rate_limit_readings(
                connection.name, connection_label(connection), windows, watched, below, cycle
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
                problems.append(rejected_problem(connection.status_detail))
            failing = [state for state in states.values() if state.consecutive_failures >= 2]
            if failing and connection.status != "rejected":
                latest = max(failing, key=lambda state: state.last_attempt_at or now)
                throttled = failure_kind(latest) == RateLimited.kind
                problems.append(fetch_failing_problem(latest.last_error, throttled=throttled))
            vendor = Vendor(connection.vendor)
            limit = max(stale_after, 2 * traits(vendor).fresh_for)
            main = states.get(traits(vendor).main_dataset)
            as_of = main.data_as_of if main else None
            if (as_of is None and now - connection.created_at > limit) or (
                as_of is not None and now - as_of > limit
            ):
                problems.append(stale_problem(as_of))
            detail = health_detail(problems)
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
                item = await self._step(subscription, reading, now)
                if item is not None:
                    due.setdefault(subscription.channel_id, []).append(item)
        for channel_id, items in due.items():
            posts = [item for item in items if item.action in (AlertAction.FIRE, AlertAction.REMIND)]
            if posts:
                report.posted += await self._post_group(team_id, channel_id, posts)
                report.channels.add(channel_id)
            for item in items:
                if item.action is AlertAction.RESOLVE and await self._resolve(team_id, channel_id, item):
                    report.resolved += 1
        return report

    async def _step(self, subscription: Subscription, reading: Reading, now: datetime) -> _Due | None:
        """Step one reading's state machine: what is due to post, or None (the new state saved)."""
        row = await self._state_row(subscription, reading)
        machine = to_machine(row)
        if reading.rising:
            breached = _rose(row.last_value, reading.value)
        else:
            breached = reading.staying if machine.status is AlertStatus.FIRING else reading.entering
        new_state, action = step_alert(machine, breached=breached, now=now, remind_every=self.remind_every)
        if action is AlertAction.NONE:
            await self._save(row, new_state, reading, now)
            return None
        return _Due(subscription, reading, row, new_state, action)

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
            stored.summary = alert_summary(reading.title, reading.detail)
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
            claim = _alert_claim(item, team_id, channel_id)
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
        claim = _alert_claim(item, team_id, channel_id)
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


def _alert_claim(item: _Due, team_id: str, channel_id: str) -> Claim:
    """The ledger claim of an alert's post: its period is the key's own (metric, threshold, cycle and
    step), which ``deliveries`` reads back as a label, for a resolution as for a firing."""
    return Claim(
        item.key, team_id, channel_id, item.subscription.id, "alert", item.key.split(":", 4)[-1][:64]
    )


def _rose(previous: str | None, current: str | None) -> bool:
    """Whether a counter grew since the last check (a restart resets counters: no growth then)."""
    if previous is None or current is None:
        return False
    return Decimal(current) > Decimal(previous)


def spike_metric(connection_id: int | None, email: str) -> str:
    """A spike alert's metric: the connection and the person (hashed past the column's width)."""
    metric = f"spike:{connection_id}:{email}"
    if len(metric) <= METRIC_WIDTH:
        return metric
    return f"spike:{connection_id}:" + hashlib.sha256(email.encode()).hexdigest()[:40]
