"""Sync: fetch each connection's data once and keep it in the store for every command, digest and alert.

Per connection and dataset, a sync starts from a stored watermark (where the last one stopped) minus a
small lookback for late data, and replaces that time range wholesale, so it is idempotent and history
stays beyond the vendors' retention. Usage events are fetched in windows sized from the data's density
(about ``WINDOW_TARGET_EVENTS`` each), so memory and transactions stay small whatever the team size.

Only one sync of a connection runs at a time in a process; a caller arriving while one runs waits for
it and reuses its result instead of fetching again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError

from bot.domain.reconcile import per_person_days
from bot.domain.usage import CycleSpendReport, RateLimitStatus, SpendRow, Unit, Vendor
from bot.domain.vendors import VendorTraits, traits
from bot.metrics import Metrics
from bot.services.clock import Clock
from bot.services.connections import ConnectionRegistry, ConnectionStatus
from bot.services.person_keys import merged_rows
from bot.store.models import (
    Connection,
    CreditSnapshot,
    CycleSpendRow,
    MemberRow,
    SyncState,
    TrackedFigureRow,
)
from bot.store.sync import SyncRecords
from bot.vendors import (
    AnthropicClient,
    AuthError,
    CopilotClient,
    CursorClient,
    DeadlineExceeded,
    OpenAIClient,
    PermissionDenied,
    RateLimited,
    RestClient,
    SpendRowAccumulator,
    UpstreamError,
    VendorClient,
    VendorError,
    WindsurfClient,
    patience,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

CURSOR_LOOKBACK = timedelta(hours=3)
WINDSURF_LOOKBACK_DAYS = 2
OPENAI_LOOKBACK_DAYS = 2  # costs of the last day or two are still being revised
OPENAI_WINDOW_DAYS = 31  # one page of daily completions usage
ANTHROPIC_LOOKBACK_DAYS = 2  # the reports of the last day or two may still be filling in
ANTHROPIC_WINDOW_DAYS = 31  # one page of the daily cost report
COPILOT_LOOKBACK_DAYS = 2  # GitHub's billing usage of the last day or two may still be filling in
COPILOT_WINDOW_DAYS = 31  # days written together (one replace_days)
DEFAULT_BACKFILL = timedelta(days=62)  # covers "30d" and the period before it, and last month for "mtd"
WINDOW_TARGET_EVENTS = 30_000
_FIRST_WINDOW = timedelta(hours=6)
_MIN_WINDOW = timedelta(hours=1)
_MAX_WINDOW = timedelta(days=30)
_QUARTER = timedelta(minutes=15)
SYNC_PATIENCE_SECONDS = 120.0
"""How long one sync may wait, in all, on the vendor's own rate limit (vendor seconds, scaled like the
limiters): one retry after a per-minute vendor's window (60 s and its jitter), and no more. A key the
vendor keeps throttling fails the sync as rate limited within about two minutes, so its health and its
card say so, instead of the sync waiting out every attempt of every request while its data ages."""
VENDOR_WIDE = frozenset({AuthError.kind, RateLimited.kind, UpstreamError.kind, DeadlineExceeded.kind})
"""Failures that say the vendor (or the key) is unusable now, not that one endpoint is: after one, the
sync's remaining datasets are not tried (each would meet the same fault and hold the sync for minutes)."""
SKIPPED = "not tried"
REJECTED_KINDS = frozenset({AuthError.kind, PermissionDenied.kind})
"""Failures that say the key is refused: the connection is marked rejected, and trying again is no use."""


@dataclass(frozen=True)
class ProgressEvent:
    """What a long sync reports as it goes (the CLI draws a progress bar from it)."""

    connection: str
    dataset: str
    done: float  # 0..1 of this dataset
    requests: int
    waited_seconds: float
    note: str = ""


SyncProgress = Callable[[ProgressEvent], None]
SyncListener = Callable[[Connection, "SyncReport"], None]
"""Told after every sync of a connection (App Home re-publishes); must not block: schedule work instead."""


@dataclass
class DatasetResult:
    dataset: str
    ok: bool
    rows: int = 0
    error: str | None = None
    error_kind: str | None = None


@dataclass
class SyncReport:
    """What one sync of one connection did."""

    connection_id: int
    name: str
    vendor: Vendor
    started_at: datetime
    finished_at: datetime | None = None
    requests: int = 0
    waited_seconds: float = 0.0
    rate_limited: int = 0
    results: list[DatasetResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.results)

    @property
    def errors(self) -> list[str]:
        return [
            f"{result.dataset}: {result.error}" for result in self.results if not result.ok and result.error
        ]


def floor_quarter(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


Coverage = tuple[datetime, datetime, datetime | None]
"""What a written usage window proves: complete from (its start), target, and complete up to (or None)."""


@dataclass(frozen=True)
class UsagePlan:
    """Which time ranges one Cursor usage sync fetches (each walked newest first), and to what end.

    ``ranges[0]`` ends at ``end``, the current quarter hour; an incremental sync may add a second range,
    the backfill left unfinished. ``target`` is how far back the data should eventually reach.
    """

    end: datetime
    target: datetime
    fresh_start: bool
    ranges: tuple[tuple[datetime, datetime], ...]

    @property
    def span(self) -> timedelta:
        """The time all ranges cover together (what progress is measured against)."""
        return sum(((stop - first) for first, stop in self.ranges), timedelta())

    def coverage(self, index: int, window_start: datetime, *, newest: bool) -> Coverage | None:
        """What writing the window starting at ``window_start`` of range ``index`` proves, if anything.

        A re-fetch of recent data (the first range of an incremental sync) extends no coverage. Only the
        newest window of a fresh start proves the data complete up to ``end``: later windows only push
        ``covered_from`` back.
        """
        if not (self.fresh_start or index > 0):
            return None
        return (window_start, self.target, self.end if self.fresh_start and newest else None)


def plan_usage_sync(now: datetime, state: SyncState | None, backfill: timedelta | None) -> UsagePlan:
    """The ranges a Cursor usage sync at ``now`` fetches, from the dataset's stored state.

    The first sync (or an explicit ``backfill``) walks back from now to its target; a later one re-fetches
    from the watermark minus ``CURSOR_LOOKBACK`` (for late events), then resumes an unfinished backfill.
    """
    end = floor_quarter(now) + _QUARTER  # the current quarter hour, so events up to now are included
    if backfill is not None or state is None or state.watermark is None:
        target = floor_quarter(now - (backfill or DEFAULT_BACKFILL))
        return UsagePlan(end=end, target=target, fresh_start=True, ranges=((target, end),))
    target = state.target_from or floor_quarter(now - DEFAULT_BACKFILL)
    ranges = [(floor_quarter(min(state.watermark, now) - CURSOR_LOOKBACK), end)]
    if state.covered_from is not None and state.covered_from > target:
        ranges.append((target, state.covered_from))
    return UsagePlan(end=end, target=target, fresh_start=False, ranges=tuple(ranges))


class SyncService:
    """Syncs connections into the store; see the module docstring."""

    def __init__(
        self,
        records: SyncRecords,
        registry: ConnectionRegistry,
        *,
        clock: Clock,
        metrics: Metrics,
        window_target_events: int = WINDOW_TARGET_EVENTS,
    ) -> None:
        self._records = records
        self._registry = registry
        self._clock = clock
        self._metrics = metrics
        self._window_target = window_target_events
        self._locks: dict[int, asyncio.Lock] = {}
        self._last_reports: dict[int, SyncReport] = {}
        self._listeners: list[SyncListener] = []

    # ----- entry points ----------------------------------------------------------------------------

    async def sync(
        self,
        connection: Connection,
        *,
        datasets: Collection[str] | None = None,
        backfill: timedelta | None = None,
        progress: SyncProgress | None = None,
        within: timedelta | None = None,
    ) -> SyncReport:
        """Sync ``datasets`` (all of the vendor's by default) of one connection; never raises vendor errors.

        ``backfill`` re-fetches usage that far back instead of continuing from the watermark. ``within``
        bounds the whole call, waiting for another sync of the connection included: a dataset not fetched
        by then fails with :class:`DeadlineExceeded`, recorded like any vendor failure (so the
        connection's health says why its figures are old), and the caller has its report on time.
        """
        assert connection.id is not None
        deadline = _Deadline.after(within)
        lock = self._locks.setdefault(connection.id, asyncio.Lock())
        asked_at = self._clock()
        waited = lock.locked()
        try:
            async with asyncio.timeout_at(deadline.when if deadline else None):
                await lock.acquire()
        except TimeoutError:
            assert deadline is not None
            return self._still_busy(connection, datasets, deadline)
        try:
            previous = self._last_reports.get(connection.id)
            if (
                waited
                and previous is not None
                and previous.started_at >= asked_at - timedelta(seconds=1)
                and backfill is None
            ):
                return previous  # the sync we waited for has just fetched it all
            try:
                report = await self._sync_locked(
                    connection, datasets=datasets, backfill=backfill, progress=progress, deadline=deadline
                )
            except IntegrityError:
                if await self._registry.by_id(connection.id) is not None:
                    raise
                report = self._removed(connection)
            self._last_reports[connection.id] = report
        finally:
            lock.release()
        self._notify(connection, report)
        return report

    def _still_busy(
        self, connection: Connection, datasets: Collection[str] | None, deadline: _Deadline
    ) -> SyncReport:
        """The deadline passed while another sync of the connection ran: that one records its outcome."""
        assert connection.id is not None
        vendor = Vendor(connection.vendor)
        report = SyncReport(connection.id, connection.name, vendor, started_at=self._clock())
        message = f"another sync of it was still running after {deadline.seconds:g} s"
        report.results = [
            DatasetResult(name, False, error=message, error_kind=DeadlineExceeded.kind)
            for name in traits(vendor).datasets
            if datasets is None or name in datasets
        ]
        report.finished_at = report.started_at
        return report

    def _removed(self, connection: Connection) -> SyncReport:
        """The report of a sync whose connection was disconnected meanwhile (here or on another replica).

        Every row hangs off the connection with ``ON DELETE CASCADE``, so the disconnect took what the
        sync had written, and the foreign key refuses whatever it would write next: the first refused
        write is where the sync notices, and it stops there with nothing left behind.
        """
        assert connection.id is not None
        log.info("connection %s was removed while it synced; the sync stopped", connection.name)
        report = SyncReport(connection.id, connection.name, Vendor(connection.vendor), self._clock())
        report.results = [DatasetResult("connection", False, error="the connection was removed")]
        report.finished_at = report.started_at
        return report

    def add_listener(self, callback: SyncListener) -> None:
        """Call ``callback(connection, report)`` after each sync; its errors are logged, never raised."""
        self._listeners.append(callback)

    def _notify(self, connection: Connection, report: SyncReport) -> None:
        for callback in list(self._listeners):
            try:
                callback(connection, report)
            except Exception:
                log.exception("a sync listener failed after syncing %s", connection.name)

    async def sync_live(self, connection: Connection, *, within: timedelta | None = None) -> SyncReport:
        """Fetch only the cheap live figures (Windsurf balance, REST probe and tracked figure)."""
        live = traits(connection.vendor).live_datasets
        return await self.sync(connection, datasets=live, within=within)

    async def states(self, connection_id: int) -> dict[str, SyncState]:
        return await self._records.states(connection_id)

    def is_fresh(self, connection: Connection, states: dict[str, SyncState], now: datetime) -> bool:
        vendor = Vendor(connection.vendor)
        for dataset in traits(vendor).datasets:
            state = states.get(dataset)
            if state is None or state.data_as_of is None or now - state.data_as_of > traits(vendor).fresh_for:
                return False
        return True

    def is_due(
        self, connection: Connection, states: dict[str, SyncState], now: datetime, interval: timedelta
    ) -> bool:
        """Whether the full sync of a connection is due: see :func:`full_sync_due`."""
        return full_sync_due(traits(connection.vendor), states, now, interval)

    # ----- the work ------------------------------------------------------------------------------

    async def _sync_locked(
        self,
        connection: Connection,
        *,
        datasets: Collection[str] | None,
        backfill: timedelta | None,
        progress: SyncProgress | None,
        deadline: _Deadline | None,
    ) -> SyncReport:
        assert connection.id is not None
        vendor = Vendor(connection.vendor)
        wanted = [name for name in traits(vendor).datasets if datasets is None or name in datasets]
        report = SyncReport(connection.id, connection.name, vendor, started_at=self._clock())
        started = time.perf_counter()
        try:
            client = self._registry.client(connection)
        except Exception as error:  # noqa: BLE001 - a key that cannot be read is a status, not a crash
            message = f"cannot read this connection's key: {error}"
            report.results = [DatasetResult(name, False, error=message, error_kind="key") for name in wanted]
            await self._registry.set_status(connection.id, ConnectionStatus.REJECTED, message)
            report.finished_at = self._clock()
            return report
        counters = _Counters(client)
        report.results = await self._run_datasets(
            connection, client, wanted, backfill, progress, counters, deadline
        )
        await self._records.refresh_running_totals(connection.id)
        report.requests, report.waited_seconds, report.rate_limited = counters.delta()
        report.finished_at = self._clock()
        await self._save_rate_limits(connection.id, client)
        await self._set_connection_status(connection.id, report)
        outcome = "ok" if report.ok else "error"
        self._metrics.sync_seconds.labels(vendor=vendor.value, outcome=outcome).observe(
            time.perf_counter() - started
        )
        log.info(
            "synced %s (%s) %s: %d requests, %.1fs waiting on the rate limit%s",
            connection.name,
            vendor.value,
            ",".join(wanted),
            report.requests,
            report.waited_seconds,
            "" if report.ok else f"; errors: {'; '.join(report.errors)}",
        )
        return report

    async def _run_datasets(
        self,
        connection: Connection,
        client: VendorClient,
        wanted: list[str],
        backfill: timedelta | None,
        progress: SyncProgress | None,
        counters: _Counters,
        deadline: _Deadline | None,
    ) -> list[DatasetResult]:
        """Each dataset in turn, all within one :data:`SYNC_PATIENCE_SECONDS` of waiting on the vendor's
        rate limit, the rest not tried once one meets a vendor-wide failure (:data:`VENDOR_WIDE`)."""
        results: list[DatasetResult] = []
        wait = client.transport.registry.scaled(SYNC_PATIENCE_SECONDS)
        with patience(wait if deadline is None else min(wait, deadline.seconds)):
            for dataset in wanted:
                if any(result.error_kind in VENDOR_WIDE for result in results):
                    results.append(DatasetResult(dataset, False, error_kind=SKIPPED))
                    continue
                run = self._run_dataset(connection, client, dataset, backfill, progress, counters, deadline)
                results.append(await run)
        return results

    async def _run_dataset(
        self,
        connection: Connection,
        client: VendorClient,
        dataset: str,
        backfill: timedelta | None,
        progress: SyncProgress | None,
        counters: _Counters,
        deadline: _Deadline | None,
    ) -> DatasetResult:
        assert connection.id is not None
        attempt_at = self._clock()
        state = (await self.states(connection.id)).get(dataset)

        def report(done: float, note: str = "") -> None:
            if progress is not None:
                requests, waited, _ = counters.delta()
                progress(ProgressEvent(connection.name, dataset, done, requests, waited, note))

        report(0.0)
        try:
            rows, watermark = await _within(
                deadline, self._fetch_dataset(connection, client, dataset, state, backfill, report)
            )
        except VendorError as error:
            await self._record_state(connection.id, dataset, attempt_at, error=error)
            report(1.0, f"failed: {error.kind}")
            return DatasetResult(dataset, False, error=error.message or str(error), error_kind=error.kind)
        await self._record_state(connection.id, dataset, attempt_at, watermark=watermark)
        report(1.0)
        return DatasetResult(dataset, True, rows=rows)

    async def _fetch_dataset(
        self,
        connection: Connection,
        client: VendorClient,
        dataset: str,
        state: SyncState | None,
        backfill: timedelta | None,
        report: Callable[[float, str], None],
    ) -> tuple[int, datetime | None]:
        """Fetch and store one dataset; returns (rows written, new watermark)."""
        assert connection.id is not None
        if not isinstance(client, RestClient):  # what every vendor with people has
            if dataset == "probe":
                await client.probe()  # one cheap call that only says whether the vendor answers
                return 0, None
            if dataset == "members":
                return await self._store_members(connection.id, await client.members()), None
        if isinstance(client, CursorClient):
            if dataset == "cycle_spend":
                return await self._cursor_cycle_spend(connection.id, client), None
            return await self._cursor_usage(connection.id, client, state, backfill, report)
        if isinstance(client, WindsurfClient):
            if dataset == "credits":
                return await self._windsurf_credits(connection.id, client), None
            return await self._windsurf_usage(connection.id, client, state, backfill)
        if isinstance(client, OpenAIClient):
            if dataset == "spend_limit":
                return await self._openai_spend_limit(connection.id, client), None
            return await self._openai_usage(connection.id, client, state, backfill)
        if isinstance(client, AnthropicClient):
            if dataset == "spend_limits":
                limits = await client.spend_limits()
                return (0 if limits is None else await self._store_cycle_spend(connection.id, limits)), None
            return await self._anthropic_usage(connection.id, client, state, backfill)
        if isinstance(client, CopilotClient):
            if dataset == "budget":
                return await self._copilot_budget(connection.id, client), None
            return await self._copilot_usage(connection.id, client, state, backfill)
        if isinstance(client, RestClient):
            if dataset == "probe":
                statuses = await client.probe()
                return len(statuses), None
            return await self._rest_tracked(connection.id, client), None
        raise AssertionError(f"no client for {connection.vendor}")  # pragma: no cover

    # ----- Cursor ------------------------------------------------------------------------------------

    async def _cursor_cycle_spend(self, connection_id: int, client: CursorClient) -> int:
        return await self._store_cycle_spend(connection_id, await client.cycle_spend())

    async def _store_cycle_spend(self, connection_id: int, report: CycleSpendReport) -> int:
        """Each person's spend and limit this cycle (Cursor's spend report, Anthropic's spend limits)."""
        cycle_start = report.cycle_start or _month_start(self._clock())
        now = self._clock()
        rows: list[CycleSpendRow] = []
        seen: set[str] = set()
        for row in report.rows:
            email = row.user_email.lower()
            if email in seen:
                continue
            seen.add(email)
            rows.append(
                CycleSpendRow(
                    connection_id=connection_id,
                    cycle_start=cycle_start,
                    cycle_end=report.cycle_end,
                    user_email=email,
                    name=row.name,
                    total=row.total_cents,
                    on_demand=row.on_demand_cents,
                    limit_cents=row.limit_cents,
                    total_is_fallback=row.total_is_fallback,
                    observed_at=now,
                )
            )
        await self._records.replace_cycle_spend(connection_id, cycle_start, rows)
        return len(seen)

    async def _cursor_usage(
        self,
        connection_id: int,
        client: CursorClient,
        state: SyncState | None,
        backfill: timedelta | None,
        report: Callable[[float, str], None],
    ) -> tuple[int, datetime | None]:
        """Usage events into quarter-hour buckets, newest first, resumable.

        The first sync (or an explicit backfill) walks back from now to its target, recording after each
        window how far back the data is complete (``covered_from``); later syncs re-fetch from the
        watermark minus a lookback, then carry on with any backfill left unfinished.

        Windows are sized from the densest stretch seen so far (about ``WINDOW_TARGET_EVENTS`` each,
        growing at most twofold), so memory stays bounded when a quiet weekend is followed by busy
        weekdays. Each window is written while the next one is fetched, and the next page is fetched
        while the current one is summed, so a backfill keeps pace with the vendor's rate limit.
        """
        now = self._clock()
        plan = plan_usage_sync(now, state, backfill)
        progress = _WindowProgress(plan.span, report)
        sizer = _WindowSizer(self._window_target, await self._busiest_day(connection_id, now))
        writer = _WindowWriter(self._records, connection_id)
        try:
            for index, (first, stop) in enumerate(plan.ranges):
                cursor_end = stop
                # Newest first: the recent days people ask about are ready before a backfill finishes.
                while cursor_end > first:
                    window_start = max(
                        first, floor_quarter(cursor_end - sizer.next_window(cursor_end - first))
                    )
                    rows, events = await _fetch_usage_window(client, window_start, cursor_end)
                    sizer.observe(events, cursor_end - window_start)
                    coverage = plan.coverage(index, window_start, newest=cursor_end == stop)
                    await writer.submit(window_start, cursor_end, rows, coverage, progress.advance)
                    cursor_end = window_start
            await writer.finish()
        finally:
            await writer.settle()
        return writer.written, plan.end

    async def _busiest_day(self, connection_id: int, now: datetime) -> int:
        """Events on the busiest of the last 14 UTC days in the store (0 without history)."""
        series = await self._records.requests_by_utc_day(
            connection_id, (now - timedelta(days=14)).date(), now.date()
        )
        return int(max(series.values(), default=0))

    # ----- Windsurf ----------------------------------------------------------------------------------

    async def _windsurf_credits(self, connection_id: int, client: WindsurfClient) -> int:
        balance = await client.credit_balance()
        await self._records.add_reading(
            CreditSnapshot(
                connection_id=connection_id,
                observed_at=balance.observed_at,
                cycle_start=balance.cycle_start,
                cycle_end=balance.cycle_end,
                unit=balance.unit.value,
                size=balance.size,
                used=balance.used,
                remaining=balance.remaining,
                pools=[
                    {"name": pool.name, "size": str(pool.size), "used": str(pool.used)}
                    for pool in balance.pools
                ],
            )
        )
        return 1

    async def _windsurf_usage(
        self, connection_id: int, client: WindsurfClient, state: SyncState | None, backfill: timedelta | None
    ) -> tuple[int, datetime | None]:
        now = self._clock()
        today = now.date()
        first = _first_day(now, state, backfill, lookback_days=WINDSURF_LOOKBACK_DAYS)
        written = 0
        for window_first, window_last in _day_windows(first, today, days=30):
            team = await client.team_daily_credits(window_first, window_last)
            try:
                people = await client.user_daily_credits(window_first, window_last)
            except VendorError as error:
                if error.status not in (400, 404, 422):
                    raise
                # The per-person source is undocumented; without it, the team's daily figures still count.
                log.info("windsurf per-person credits unavailable (%s); using team totals", error.message)
                people = []
            rows = _reconciled_windsurf_rows(people, team)
            await self._records.replace_days(connection_id, window_first, window_last, rows)
            written += len(rows)
        return written, now

    # ----- OpenAI ------------------------------------------------------------------------------------

    async def _openai_usage(
        self, connection_id: int, client: OpenAIClient, state: SyncState | None, backfill: timedelta | None
    ) -> tuple[int, datetime | None]:
        """Whole UTC days of team cents (costs) and per-person requests and tokens (usage), by window.

        A window's costs and usage are written together, so a day never holds one without the other.
        """
        now = self._clock()
        today = now.date()
        first = _first_day(now, state, backfill, lookback_days=OPENAI_LOOKBACK_DAYS)
        emails = await client.user_emails()
        written = 0
        for window_first, window_last in _day_windows(first, today, days=OPENAI_WINDOW_DAYS):
            costs = await client.daily_costs(window_first, window_last)
            usage = await client.daily_usage(window_first, window_last, emails)
            rows = merged_rows(costs + usage)
            await self._records.replace_days(connection_id, window_first, window_last, rows)
            written += len(rows)
        return written, now

    async def _openai_spend_limit(self, connection_id: int, client: OpenAIClient) -> int:
        """The hard spend limit as a pool of this month's cents; nothing when it is unset or unreadable."""
        limit = await client.spend_limit()
        if limit is None:
            return 0
        month = _month_start(self._clock())
        costs = await client.daily_costs(month.date(), self._clock().date())
        spent = sum((row.amount for row in costs), Decimal(0))
        await self._add_month_pool(connection_id, "hard spend limit", limit.limit_cents, spent)
        return 1

    async def _add_month_pool(self, connection_id: int, name: str, size: Decimal, spent: Decimal) -> None:
        """A reading of a calendar month's dollar pool (a hard limit or a budget) and what it has spent."""
        now = self._clock()
        month = _month_start(now)
        next_month = (month + timedelta(days=32)).replace(day=1)
        await self._records.add_reading(
            CreditSnapshot(
                connection_id=connection_id,
                observed_at=now,
                cycle_start=month,
                cycle_end=next_month,
                unit=Unit.USD_CENTS.value,
                size=size,
                used=spent,
                remaining=max(size - spent, Decimal(0)),
                pools=[{"name": name, "size": str(size), "used": str(spent)}],
            )
        )

    # ----- Anthropic ---------------------------------------------------------------------------------

    async def _anthropic_usage(
        self, connection_id: int, client: AnthropicClient, state: SyncState | None, backfill: timedelta | None
    ) -> tuple[int, datetime | None]:
        """Whole UTC days of team cents (cost report), tokens per person and model (messages usage
        report) and per-person Claude Code sessions, by window.

        The Claude Code report answers one day a request; a window's costs, tokens and sessions are
        written together, so a day never holds one without the others.
        """
        now = self._clock()
        today = now.date()
        first = _first_day(now, state, backfill, lookback_days=ANTHROPIC_LOOKBACK_DAYS)
        emails = await client.user_emails()
        written = 0
        for window_first, window_last in _day_windows(first, today, days=ANTHROPIC_WINDOW_DAYS):
            rows = await client.daily_costs(window_first, window_last)
            rows += await client.daily_tokens(window_first, window_last, emails)
            for offset in range((window_last - window_first).days + 1):
                rows += await client.claude_code_sessions(window_first + timedelta(days=offset))
            merged = merged_rows(rows)
            await self._records.replace_days(connection_id, window_first, window_last, merged)
            written += len(merged)
        return written, now

    # ----- Copilot -----------------------------------------------------------------------------------

    async def _copilot_usage(
        self, connection_id: int, client: CopilotClient, state: SyncState | None, backfill: timedelta | None
    ) -> tuple[int, datetime | None]:
        """Whole UTC days of net cents per person and model, by window (one request per day, and one
        per person whose seat was active on or after it: ``CopilotClient.daily_spend``)."""
        now = self._clock()
        first = _first_day(now, state, backfill, lookback_days=COPILOT_LOOKBACK_DAYS)
        seats = await client.seats()
        written = 0
        for window_first, window_last in _day_windows(first, now.date(), days=COPILOT_WINDOW_DAYS):
            rows: list[SpendRow] = []
            for offset in range((window_last - window_first).days + 1):
                rows += await client.daily_spend(window_first + timedelta(days=offset), seats)
            merged = merged_rows(rows)
            await self._records.replace_days(connection_id, window_first, window_last, merged)
            written += len(merged)
        return written, now

    async def _copilot_budget(self, connection_id: int, client: CopilotClient) -> int:
        """The Copilot budget as a pool of this month's cents (what GitHub says it consumed, else the
        month's net usage); nothing when the account has none."""
        budget = await client.budget()
        if budget is None:
            return 0
        now = self._clock()
        spent = budget.consumed_cents
        if spent is None:  # a budget without consumed_amount: the month's net usage is what it counts
            spent = sum((await client.usage(now.year, now.month)).values(), Decimal(0))
        stops = "usage stops at it" if budget.prevent_further_usage else "alerts only"
        await self._add_month_pool(connection_id, f"Copilot budget ({stops})", budget.amount_cents, spent)
        return 1

    # ----- REST --------------------------------------------------------------------------------------

    async def _rest_tracked(self, connection_id: int, client: RestClient) -> int:
        figure = await client.tracked_figure()
        if figure is None:
            return 0
        await self._records.add_reading(
            TrackedFigureRow(connection_id=connection_id, observed_at=figure.observed_at, value=figure.value)
        )
        return 1

    # ----- shared ------------------------------------------------------------------------------------

    async def _store_members(self, connection_id: int, members: list[Any]) -> int:
        now = self._clock()
        rows: list[MemberRow] = []
        seen: set[str] = set()
        for member in members:
            email = member.email.lower()
            if not email or email in seen:
                continue
            seen.add(email)
            rows.append(
                MemberRow(
                    connection_id=connection_id,
                    email=email,
                    name=member.name,
                    role=member.role,
                    active=member.active,
                    seen_at=now,
                    last_active_at=member.last_active_at,
                )
            )
        await self._records.replace_members(connection_id, rows)
        return len(seen)

    async def _record_state(
        self,
        connection_id: int,
        dataset: str,
        attempt_at: datetime,
        *,
        watermark: datetime | None = None,
        error: VendorError | None = None,
    ) -> None:
        if error is None:
            await self._records.record_success(connection_id, dataset, attempt_at, self._clock(), watermark)
        else:
            await self._records.record_failure(
                connection_id, dataset, attempt_at, f"{error.kind}: {error.message}"[:500]
            )

    async def _save_rate_limits(self, connection_id: int, client: VendorClient) -> None:
        statuses: list[RateLimitStatus] = client.rate_limit_statuses()
        limiters = client.transport.limiters()
        totals = {
            scope: (limiter.rate_limited_total, round(limiter.waited_seconds_total, 3))
            for scope, limiter in limiters.items()
        }
        await self._records.save_rate_limits(connection_id, statuses, totals)

    async def _set_connection_status(self, connection_id: int, report: SyncReport) -> None:
        if report.ok:
            await self._registry.set_status(connection_id, ConnectionStatus.OK)
            return
        failed = [result for result in report.results if not result.ok]
        rejected = any(result.error_kind in REJECTED_KINDS for result in failed)
        status = ConnectionStatus.REJECTED if rejected else ConnectionStatus.FAILING
        await self._registry.set_status(connection_id, status, "; ".join(report.errors))


def full_sync_due(
    vendor: VendorTraits, states: dict[str, SyncState], now: datetime, interval: timedelta
) -> bool:
    """Whether a connection's full sync is due.

    Due when one of its datasets was never tried, when its last full sync is ``interval`` old, and as
    soon as the vendor answers again after a fault that stopped a sync (a live fetch succeeded after
    that failure), so that data catches up, and the health alert resolves, within a sync tick instead
    of an interval. The live datasets are fetched by every check, so they do not date the full sync
    (unless the vendor has nothing else, like REST).
    """
    full = [states.get(name) for name in vendor.datasets if name not in vendor.live_datasets]
    if not full:
        full = [states.get(name) for name in vendor.datasets]
    tried = [state for state in full if state is not None and state.last_attempt_at is not None]
    if len(tried) < len(full):
        return True
    if now - max(state.last_attempt_at for state in tried if state.last_attempt_at) >= interval:
        return True
    answered = [states[name].last_success_at for name in vendor.live_datasets if name in states]
    back_at = max((moment for moment in answered if moment is not None), default=None)
    return back_at is not None and any(
        state.consecutive_failures > 0
        and failure_kind(state) in VENDOR_WIDE
        and back_at > (state.last_attempt_at or back_at)
        for state in tried
    )


def failure_kind(state: SyncState) -> str | None:
    """The kind of error (``VendorError.kind``) the dataset's last attempt failed with, read back from
    its stored ``"kind: message"``; None when it did not fail."""
    return state.last_error.split(": ", 1)[0] if state.last_error else None


@dataclass(frozen=True)
class _Deadline:
    """A point on the event loop's clock by which a sync must be done, and the span it was given."""

    when: float
    seconds: float

    @classmethod
    def after(cls, span: timedelta | None) -> _Deadline | None:
        if span is None:
            return None
        seconds = span.total_seconds()
        return cls(asyncio.get_running_loop().time() + seconds, seconds)


async def _within(deadline: _Deadline | None, work: Awaitable[T]) -> T:
    """``await work``, cancelled at ``deadline`` and then failed as :class:`DeadlineExceeded`."""
    if deadline is None:
        return await work
    try:
        async with asyncio.timeout_at(deadline.when) as scope:
            return await work
    except TimeoutError:
        if not scope.expired():
            raise  # a timeout of the work's own, not our deadline
        raise DeadlineExceeded(f"did not finish within {deadline.seconds:g} s") from None


class _WindowSizer:
    """Chooses the next usage window: about ``target`` events at the densest rate seen so far.

    ``busiest_day`` (events on the busiest recent day in the store) seeds it, so an incremental sync
    of a day or two is usually one window; without history it starts small and doubles.
    """

    def __init__(self, target: int, busiest_day: int = 0) -> None:
        self._target = target
        self._peak = busiest_day / 86_400  # events per second
        self._window = self._wanted() if self._peak > 0 else _FIRST_WINDOW

    def _wanted(self) -> timedelta:
        return timedelta(seconds=self._target / self._peak) if self._peak > 0 else _MAX_WINDOW

    def next_window(self, remaining: timedelta) -> timedelta:
        return min(self._window, remaining)

    def observe(self, events: int, span: timedelta) -> None:
        seconds = max(span.total_seconds(), 1.0)
        self._peak = max(self._peak, events / seconds)
        self._window = max(_MIN_WINDOW, min(_MAX_WINDOW, 2 * self._window, self._wanted()))


class _WindowProgress:
    def __init__(self, total: timedelta, report: Callable[[float, str], None]) -> None:
        self._total = total
        self._done = timedelta()
        self._report = report

    def advance(self, start: datetime, end: datetime) -> None:
        self._done += end - start
        fraction = self._done / self._total if self._total else 1.0
        self._report(min(fraction, 1.0), f"complete back to {start:%Y-%m-%d %H:%M} UTC")


class _WindowWriter:
    """Writes windows in order in a task of its own, one window behind the fetching."""

    def __init__(self, records: SyncRecords, connection_id: int) -> None:
        self._records = records
        self._connection_id = connection_id
        self._pending: asyncio.Task[None] | None = None
        self.written = 0

    async def submit(
        self,
        start: datetime,
        end: datetime,
        rows: list[Any],
        coverage: Coverage | None,
        done: Callable[[datetime, datetime], None],
    ) -> None:
        await self.finish()  # at most one window in memory waiting to be written
        self._pending = asyncio.create_task(self._write(start, end, rows, coverage, done))

    async def _write(
        self,
        start: datetime,
        end: datetime,
        rows: list[Any],
        coverage: Coverage | None,
        done: Callable[[datetime, datetime], None],
    ) -> None:
        await self._records.replace_quarter_hours(self._connection_id, start, end, rows, coverage)
        self.written += len(rows)
        done(start, end)

    async def finish(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            await pending

    async def settle(self) -> None:
        """After a failure: let the window being written finish, never cancel it mid-transaction.

        A write cancelled inside its transaction can leave SQLite's write lock held by a connection
        nobody will use again, so the next write (the failure record itself) waited out the 30 s busy
        timeout and failed with "database is locked". The window was fetched whole, so keeping it is
        also the progress a resumed sync starts from. Shielded: cancelling the sync does not cancel it.
        """
        if self._pending is not None:
            pending, self._pending = self._pending, None
            with contextlib.suppress(Exception):
                await asyncio.shield(pending)


async def _fetch_usage_window(
    client: CursorClient, start: datetime, end: datetime
) -> tuple[list[SpendRow], int]:
    """The usage events from ``start`` to ``end`` summed into rows, and how many events there were."""
    accumulator = SpendRowAccumulator()
    events = 0
    async for page in _prefetched(client.iter_usage_events(start, end)):
        accumulator.extend(page)
        events += len(page)
    return accumulator.rows(ordered=False), events


async def _prefetched(pages: AsyncIterator[T], depth: int = 2) -> AsyncIterator[T]:
    """Iterate ``pages`` while fetching up to ``depth`` pages ahead, so network time overlaps our work."""
    queue: asyncio.Queue[tuple[bool, Any]] = asyncio.Queue(maxsize=depth)

    async def pump() -> None:
        try:
            async for page in pages:
                await queue.put((True, page))
        except Exception as error:  # noqa: BLE001 - handed to the consumer, which re-raises it
            await queue.put((False, error))
            return
        await queue.put((False, None))

    task = asyncio.create_task(pump())
    try:
        while True:
            ok, item = await queue.get()
            if not ok:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class _Counters:
    """Requests, limiter waits and 429s of one client since the sync began.

    Requests and 429s are read from each class's primary limiter (a request takes a slot from every
    limiter of its class, and a 429 penalises the primary); waits from all of them.
    """

    def __init__(self, client: VendorClient) -> None:
        self._primaries = client.transport.primary_limiters()
        self._limiters = list(client.transport.limiters().values())
        self._start = self._read()

    def _read(self) -> tuple[int, float, int]:
        return (
            sum(limiter.requests_total for limiter in self._primaries),
            sum(limiter.waited_seconds_total for limiter in self._limiters),
            sum(limiter.rate_limited_total for limiter in self._primaries),
        )

    def delta(self) -> tuple[int, float, int]:
        now = self._read()
        return now[0] - self._start[0], now[1] - self._start[1], now[2] - self._start[2]


def _month_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _reconciled_windsurf_rows(people: list[SpendRow], team: list[SpendRow]) -> list[SpendRow]:
    """Per-person rows for the days that add up to the team's totals, the team's rows for the others.

    The rule is :func:`bot.domain.reconcile.per_person_days`; a team row has no email, which is how every
    view by person knows that day's figures are not by person.
    """
    trusted = per_person_days(_credits_per_day(people), _credits_per_day(team))
    kept = [row for row in people if row.day in trusted]
    fallback = [row for row in team if row.day not in trusted]
    if fallback:
        days = sorted({row.day for row in fallback})
        log.info(
            "windsurf per-person credits do not add up to the team totals on %d day(s) from %s to %s; "
            "using team totals there",
            len(days),
            days[0],
            days[-1],
        )
    return kept + fallback


def _credits_per_day(rows: list[SpendRow]) -> dict[date, Decimal]:
    totals: dict[date, Decimal] = {}
    for row in rows:
        totals[row.day] = totals.get(row.day, Decimal(0)) + row.amount
    return totals


def _first_day(
    now: datetime, state: SyncState | None, backfill: timedelta | None, *, lookback_days: int
) -> date:
    """The first UTC day a whole-day sync fetches: the backfill's (or the default's) on a first or full
    sync, else a few days before the watermark (vendors revise their last days)."""
    if backfill is not None or state is None or state.watermark is None:
        return (now - (backfill or DEFAULT_BACKFILL)).date()
    return state.watermark.date() - timedelta(days=lookback_days)


def _day_windows(first: date, last: date, *, days: int) -> list[tuple[date, date]]:
    windows = []
    while first <= last:
        window_last = min(first + timedelta(days=days - 1), last)
        windows.append((first, window_last))
        first = window_last + timedelta(days=1)
    return windows
