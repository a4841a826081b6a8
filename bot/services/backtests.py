"""``backtest``: a rule replayed over the stored history before anyone subscribes to it (no vendor call).

Each of the last N complete UTC days is judged as the live alert would have judged it at that day's end,
through the same readings and the same alert state machine:

- spike: each person's day against their own 28 days before (``domain.spikes.replay``);
- budget: each source's billing-cycle spend to that day and its forecast, at the 50/80/100% levels;
- credit-low: each credit pool's newest snapshot of that day and its runway at the week's burn;
- credit-low on a REST tracked figure: each day's newest reading, against the month's peak so far for
  a percent line.

Sources whose history holds no such figure (people's spend limits) are named as left out rather than
replayed as if quiet.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.domain.commands import Backtest, SubscribeBudget, SubscribeCreditLow, SubscribeSpike
from bot.domain.forecast import DEFAULT_BUDGET_LEVELS, cycle_at
from bot.domain.money import format_amount
from bot.domain.vendors import CreditsLeft, traits
from bot.messages.answers import AlertBacktestAnswer, BacktestAnswer
from bot.services.alert_readings import (
    CreditThreshold,
    CycleSoFar,
    Reading,
    budget_factor,
    budget_figures,
    budget_readings,
    budget_sources,
    credit_pool_reading,
    tracked_reading,
)
from bot.services.alert_replay import replay_readings
from bot.services.clock import Clock
from bot.services.credit_figures import DAY_BEFORE, CreditFigures, credit_view_of, tracked_view_of
from bot.services.errors import NotAllowed, NotFound
from bot.services.freshness import Freshener
from bot.services.people import People
from bot.services.sources import SourcePicker, connection_label
from bot.services.spike_report import SpikeReport
from bot.services.subscriptions import SubscriptionService
from bot.services.usage_figures import UsageFigures, last_whole_days
from bot.settings import Settings
from bot.store.models import Connection, TrackedFigureRow

ZERO = Decimal(0)
DAY = timedelta(days=1)
CYCLE_LOOKBACK = timedelta(days=40)
"""Read before the first replayed day: its cycle's start (a month at most) and the week of burn before."""
DayReadings = list[tuple[date, list[Reading]]]
UTC_ZONE = ZoneInfo("UTC")
BUDGET_NOTE = (
    "Each source's billing-cycle spend to the day's end, summed from its stored daily spend (the live alert "
    "takes Cursor's own cycle total), and its forecast at the burn of the 7 days before."
)
CREDIT_NOTE = (
    "Each credit pool as its newest snapshot of the day showed it, with its runway at the burn of the 7 "
    "days before; a tracked figure as its newest reading of the day, against the month's peak so far."
)


class Backtests:
    """Answers ``backtest`` for one reader (who must be allowed to see people's figures)."""

    def __init__(
        self,
        settings: Settings,
        people: People,
        sources: SourcePicker,
        freshener: Freshener,
        spikes: SpikeReport,
        subscriptions: SubscriptionService,
        usage: UsageFigures,
        credits: CreditFigures,
        *,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._people = people
        self._sources = sources
        self._freshener = freshener
        self._spikes = spikes
        self._subscriptions = subscriptions
        self._usage = usage
        self._credits = credits
        self._clock = clock

    async def answer(
        self, team_id: str, user_id: str, command: Backtest
    ) -> BacktestAnswer | AlertBacktestAnswer:
        viewer = await self._people.viewer(team_id, user_id)
        if not viewer.may_see_people:
            raise NotAllowed(self._people.refusal())
        today = self._clock().astimezone(UTC).date()
        first, last = today - timedelta(days=command.days), today - DAY
        rule = command.rule
        if isinstance(rule, SubscribeSpike):
            connections = await self._sources.with_usage(team_id, None)
            posts = await self._spikes.replay(
                connections, first, last, factor=rule.factor, minimum_cents=rule.minimum_dollars * 100
            )
            return BacktestAnswer(
                rule=rule,
                first=first,
                last=last,
                posts=tuple(posts),
                tz=viewer.tz,
                freshness=await self._freshener.reported(connections),
            )
        connections = await self._sources.pick(team_id, None)
        left_out: list[tuple[str, str]] = []
        if isinstance(rule, SubscribeBudget):
            text, chosen, days = await self._budget_days(team_id, rule, connections, first, last)
            note = BUDGET_NOTE
        else:
            text, chosen, days, left_out = await self._credit_days(rule, connections, first, last, viewer.tz)
            note = CREDIT_NOTE
        return AlertBacktestAnswer(
            rule=text,
            first=first,
            last=last,
            episodes=tuple(replay_readings(days, timedelta(hours=self._settings.remind_hours))),
            replayed=tuple(connection_label(row) for row in chosen),
            left_out=tuple(left_out),
            remind_hours=self._settings.remind_hours,
            note=note,
            tz=viewer.tz,
            freshness=await self._freshener.reported(chosen),
        )

    # ----- budget -------------------------------------------------------------------------------------

    async def _budget_days(
        self,
        team_id: str,
        rule: SubscribeBudget,
        connections: list[Connection],
        first: date,
        last: date,
    ) -> tuple[str, list[Connection], DayReadings]:
        """The budget's readings at the end of each day, from each source's stored daily spend."""
        params = await self._subscriptions.budget_params(team_id, rule)
        budget, unit = Decimal(params["amount"]), str(params["unit"])
        price = self._settings.windsurf_credit_price
        chosen = [
            row for row in budget_sources(rule.source, connections, price) if traits(row.vendor).reports_usage
        ]
        if not chosen:
            raise NotFound(
                f"No connection reports spend for `{rule.source.token if rule.source else 'all'}`."
            )
        what = rule.source.token if rule.source is not None else "all tools"
        text = f"budget {format_amount(budget, unit)} ({what})"
        start = datetime.combine(first, time(0), tzinfo=UTC) - CYCLE_LOOKBACK
        end = datetime.combine(last + DAY, time(0), tzinfo=UTC)
        sources: list[tuple[tuple[datetime, datetime], dict[date, Decimal], Decimal]] = []
        for connection in chosen:
            current = await self._usage.cycle_of(connection)
            if current is None:
                continue  # no cycle reported yet: the live alert has nothing to measure either
            series = await self._usage.by_day(connection, start, end, UTC_ZONE)
            sources.append((current, series, budget_factor(connection, unit, price)))
        days: DayReadings = []
        for day in _days(first, last):
            at = datetime.combine(day + DAY, time(0), tzinfo=UTC)
            parts = [_cycle_so_far(current, series, factor, day, at) for current, series, factor in sources]
            figures = budget_figures(budget, unit, what, parts, at)
            days.append((day, [] if figures is None else budget_readings(figures, DEFAULT_BUDGET_LEVELS)))
        return text, chosen, days

    # ----- credit-low ---------------------------------------------------------------------------------

    async def _credit_days(
        self,
        rule: SubscribeCreditLow,
        connections: list[Connection],
        first: date,
        last: date,
        tz: ZoneInfo,
    ) -> tuple[str, list[Connection], DayReadings, list[tuple[str, str]]]:
        """Each source's credit-low reading at the end of each day that has a figure of it."""
        line = CreditThreshold(rule.below_percent, rule.below_amount)
        text = (
            f"credit-low below {rule.below_percent}%"
            if rule.below_percent is not None
            else f"credit-low below {rule.below_amount}"
            if rule.below_amount is not None
            else "credit-low (under 20% left, or running out before the cycle ends)"
        )
        chosen: list[Connection] = []
        left_out: list[tuple[str, str]] = []
        by_day: dict[date, list[Reading]] = {day: [] for day in _days(first, last)}
        for connection in connections:
            found = await self._credit_readings(connection, line, first, last, tz)
            if isinstance(found, str):
                left_out.append((connection_label(connection), found))
                continue
            chosen.append(connection)
            for day, reading in found.items():
                by_day[day].append(reading)
        if not chosen and not left_out:
            raise NotFound("No connection has credits to replay.")
        return text, chosen, sorted(by_day.items()), left_out

    async def _credit_readings(
        self, connection: Connection, line: CreditThreshold, first: date, last: date, tz: ZoneInfo
    ) -> dict[date, Reading] | str:
        """One source's readings by day, or why it is left out."""
        label = connection_label(connection)
        meaning = traits(connection.vendor).credits_left
        start = datetime.combine(first, time(0), tzinfo=UTC)
        end = datetime.combine(last + DAY, time(0), tzinfo=UTC)
        if meaning is CreditsLeft.TRACKED_FIGURE and (line.percent is not None or line.amount is not None):
            month = datetime(first.year, first.month, 1, tzinfo=UTC) - DAY
            rows = await self._credits.tracked_readings(connection, month, end)
            if not rows:
                return "no reading of its tracked figure stored in those days"
            return _tracked_days(connection, label, rows, line, first, last)
        if meaning is not CreditsLeft.CREDIT_POOL:
            return _not_replayed(meaning)
        snapshots = await self._credits.snapshots_by_day(connection, start, end)
        if not snapshots:
            return "no credit balance stored in those days"
        series = await self._usage.by_day(connection, start - CYCLE_LOOKBACK, end, UTC_ZONE)
        found: dict[date, Reading] = {}
        for day, snapshot in sorted(snapshots.items()):
            at = datetime.combine(day + DAY, time(0), tzinfo=UTC)
            view = credit_view_of(connection, snapshot, last_whole_days(series, day + DAY), at, tz)
            found[day] = credit_pool_reading(connection.name, label, view, line)
        return found


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def _cycle_so_far(
    current: tuple[datetime, datetime], series: dict[date, Decimal], factor: Decimal, day: date, at: datetime
) -> CycleSoFar:
    """One source's cycle as it stood at ``at`` (the end of ``day``), in the budget's unit: the days
    from the one its cycle starts on to ``day``, and the 7 whole days before ``at``."""
    span = cycle_at(current, at - timedelta(microseconds=1))
    spent = sum((amount for when, amount in series.items() if span[0].date() <= when <= day), ZERO)
    recent: Sequence[Decimal] = last_whole_days(series, day + DAY)
    return CycleSoFar(span, spent * factor, [value * factor for value in recent])


def _tracked_days(
    connection: Connection,
    label: str,
    rows: Sequence[TrackedFigureRow],
    line: CreditThreshold,
    first: date,
    last: date,
) -> dict[date, Reading]:
    """A tracked figure's reading at the end of each day that has a reading of it, as the live alert
    reads it: the day's newest reading beside the one of about a day before, against the month's peak
    so far for a percent line."""
    times = [row.observed_at for row in rows]
    found: dict[date, Reading] = {}
    for day in _days(first, last):
        start = datetime.combine(day, time(0), tzinfo=UTC)
        upto = bisect_left(times, start + DAY)
        if upto == 0 or times[upto - 1] < start:
            continue  # no reading that day
        latest = rows[upto - 1]
        before = bisect_right(times, latest.observed_at - DAY_BEFORE)
        month = bisect_left(times, datetime(day.year, day.month, 1, tzinfo=UTC))
        peak = None if line.amount is not None else max(row.value for row in rows[month:upto])
        view = tracked_view_of(connection, latest, rows[before - 1] if before else None)
        found[day] = tracked_reading(connection.name, label, view, f"month:{day:%Y-%m}", line, peak)
    return found


def _not_replayed(meaning: CreditsLeft | None) -> str:
    if meaning is CreditsLeft.SPEND_LIMITS:
        return "people's spend limits are kept as they stand now, not day by day"
    if meaning is CreditsLeft.TRACKED_FIGURE:
        return "the default rule does not watch a tracked figure (give `below N%` or `below N`)"
    return "it has no credits"
