"""Scheduled work: due digests, alert checks, syncs, settling and purging, each safe to run on replicas.

Every method here is what one scheduler tick does, and is also what tests call with a hand-moved
clock. Work is claimed with a database lease (so two replicas do not both do it) and every post goes
through the delivery ledger (so nothing is posted twice even if two did).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from bot.domain.periods import local_midnight
from bot.domain.schedule import local_day_ended, next_digest_at, previous_digest_at
from bot.messages.message import Message
from bot.messages.requests import request_sample
from bot.metrics import Metrics
from bot.services.alerts import AlertService
from bot.services.clock import Clock
from bot.services.connections import ConnectionRegistry
from bot.services.deliveries import Claim, DeliveryLedger, PostResult, key_for
from bot.services.digest import DigestBuilds, DigestOptions, DigestService
from bot.services.leases import Leases
from bot.services.subscriptions import SubscriptionService, schedule_of
from bot.services.sync import REJECTED_KINDS, SyncReport, SyncService
from bot.settings import Settings
from bot.store.deliveries import DeliveryState
from bot.store.models import Connection, Subscription
from bot.store.retention import HistoryRetention

log = logging.getLogger(__name__)
T = TypeVar("T")

LATE_AFTER = timedelta(minutes=10)  # a digest posted later than this after its time says it is late
DIGEST_LEASE = timedelta(minutes=1)
"""Keeps a second replica from building the same digest meanwhile (the ledger's key stops a double post).
Short, because a process killed between the lease and the ledger claim holds back that digest until it
expires."""
SYNC_LEASE = timedelta(minutes=30)
DIGEST_CONCURRENCY = 8  # digests built and posted at once; the ledger keeps every post under Slack's limits
CHECK_CONCURRENCY = 8  # workspaces whose alerts are checked at once
SYNC_CONCURRENCY = 8  # connections synced at once (each within its own lease)
LIVE_DEADLINE_SHARE = 0.35
"""Of ``SPENDBOT_CHECK_INTERVAL``: how long a check waits for one fetch of a connection's live figures.
Two fetches and the pause between them (:meth:`Publisher._live_fetch`) stay inside the check's lease (0.8
of the interval), so a hanging vendor is cut off before the next check is due."""
CONFIRM_PAUSE_SHARE = 0.05
"""Of ``SPENDBOT_CHECK_INTERVAL``: the pause before live figures that failed are fetched again."""
ARRIVAL_GRACE_SECONDS = 2.0
"""After one connection's live figures arrive, how long the check waits for the others' before stepping
the alerts: alerts due together for a channel share one message (design.md), while a vendor that hangs
delays the others' alerts by this much at most."""


@dataclass(frozen=True)
class DigestRun:
    posted: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class SampleRun:
    """What ``test`` did: the kinds whose sample was posted, and the ones Slack refused (with why)."""

    posted: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()


class Publisher:
    """Runs the scheduled work; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        retention: HistoryRetention,
        connections: ConnectionRegistry,
        sync: SyncService,
        subscriptions: SubscriptionService,
        digests: DigestService,
        alerts: AlertService,
        ledger: DeliveryLedger,
        leases: Leases,
        *,
        clock: Clock,
        metrics: Metrics,
    ) -> None:
        self._settings = settings
        self._retention = retention
        self._connections = connections
        self._sync = sync
        self._subscriptions = subscriptions
        self._digests = digests
        self._alerts = alerts
        self._ledger = ledger
        self._leases = leases
        self._clock = clock
        self._metrics = metrics

    # ----- digests ------------------------------------------------------------------------------------

    async def run_due_digests(self) -> DigestRun:
        """Post every digest whose time has come; one missed while down goes out late, if its day goes on.

        Up to ``DIGEST_CONCURRENCY`` digests are built and posted at once, taken in due order: a fan-out to
        many channels is then held by Slack's rate (the ledger paces every post under the workspace's and
        each channel's limit) rather than by each post's round trip and build time. One digest failing
        does not stop the others; it stays due and is tried again at the next tick.
        """
        now = self._clock()
        outcomes: list[str] = []
        builds = DigestBuilds(self._digests)

        async def deliver(subscription: Subscription) -> None:
            try:
                outcomes.append(await self._run_due_digest(subscription, now, builds))
            except Exception:
                log.exception("the digest of subscription %s failed; it stays due", subscription.id)

        await _each(await self._subscriptions.due_digests(now), DIGEST_CONCURRENCY, deliver)
        return DigestRun(outcomes.count("posted"), outcomes.count("skipped"))

    async def _run_due_digest(self, subscription: Subscription, now: datetime, builds: DigestBuilds) -> str:
        """One due digest: posted, skipped (its local day ended) or nothing (another replica, or posted)."""
        assert subscription.id is not None and subscription.next_due_at is not None
        schedule = schedule_of(subscription, self._settings.timezone)
        stored_due = subscription.next_due_at
        latest = previous_digest_at(
            weekdays=schedule.weekdays, at=schedule.at, tz=schedule.tz, at_or_before=now
        )
        due = max(latest, stored_due)
        day = due.astimezone(schedule.tz).date()
        following = next_digest_at(weekdays=schedule.weekdays, at=schedule.at, tz=schedule.tz, after=now)
        if not await self._leases.claim(f"digest:{subscription.id}:{day.isoformat()}", DIGEST_LEASE):
            return "leased"  # another replica has it
        outcome = "none"
        if local_day_ended(day, now, schedule.tz):
            await self._record_skip(subscription, day, "missed: the bot was not running that day")
            outcome = "skipped"
        elif await self.deliver_digest(subscription, day, late=now - due > LATE_AFTER, builds=builds):
            outcome = "posted"
        await self._subscriptions.set_next_due(subscription.id, following, previous=stored_due)
        return outcome

    async def deliver_digest(
        self, subscription: Subscription, day: date, *, late: bool, builds: DigestBuilds | None = None
    ) -> bool:
        """Claim, build (or take from ``builds``, the pass's digests) and post one digest; False when it
        was posted (or claimed) before."""
        schedule = schedule_of(subscription, self._settings.timezone)
        key = key_for(
            subscription.team_id, subscription.channel_id, subscription.id, "digest", day.isoformat()
        )
        if await self._ledger.find(key) is not None:
            return False
        options = DigestOptions(
            tz=schedule.tz,
            no_names=schedule.no_names,
            weekly=schedule.cadence == "weekly",
            late=late,
            channel_id=subscription.channel_id,
        )
        built = await (builds or DigestBuilds(self._digests)).get(subscription.team_id, day, options)
        claim = Claim(
            key,
            subscription.team_id,
            subscription.channel_id,
            subscription.id,
            "digest",
            day.isoformat(),
            late,
            due_until=local_midnight(day + timedelta(days=1), schedule.tz),  # a day's digest, that day
        )
        result = await self._post_claimed(claim, built.message)
        return result.ok

    async def _post_claimed(self, claim: Claim, message: Message) -> PostResult:
        row = await self._ledger.claim(claim, message)
        if row is None:
            return PostResult(False, error="already claimed")
        result = await self._ledger.post([row], message)
        if not result.ok and result.error == "invalid_blocks" and _has_image(message):
            # The chart's file could not be shown (Slack refused the block): post the digest without it.
            plain = Message(message.text, [block for block in message.blocks if block.get("type") != "image"])
            await self._ledger.retry(row, plain)
            result = await self._ledger.post([row], plain)
        return result

    async def _record_skip(self, subscription: Subscription, day: date, reason: str) -> None:
        key = key_for(
            subscription.team_id, subscription.channel_id, subscription.id, "digest", day.isoformat()
        )
        claim = Claim(
            key, subscription.team_id, subscription.channel_id, subscription.id, "digest", day.isoformat()
        )
        await self._ledger.skip(claim, reason)

    async def digest_now(self, team_id: str, channel_id: str, token: str) -> PostResult:
        """``digest now``: today's digest for this channel (its subscription's options, or the defaults)."""
        rows = [row for row in await self._subscriptions.listing(team_id, channel_id) if row.kind == "digest"]
        if rows:
            schedule = schedule_of(rows[0], self._settings.timezone)
            options = DigestOptions(
                tz=schedule.tz,
                no_names=schedule.no_names,
                weekly=schedule.cadence == "weekly",
                channel_id=channel_id,
            )
            subscription_id = rows[0].id
        else:
            options = DigestOptions(tz=self._settings.default_zone, channel_id=channel_id)
            subscription_id = None
        day = self._clock().astimezone(options.tz).date()
        built = await self._digests.build(team_id, day, options)
        key = key_for(team_id, channel_id, subscription_id, "digest-now", token)
        return await self._post_claimed(
            Claim(key, team_id, channel_id, subscription_id, "digest-now", day.isoformat()), built.message
        )

    async def send_tests(self, team_id: str, channel_id: str, token: str) -> SampleRun:
        """``test``: one sample of each kind this channel subscribes to, each marked as a test.

        A kind subscribed to twice (two budgets, two digests) gets one sample, from its first
        subscription: the samples would say the same.
        """
        first_of_kind: dict[str, Subscription] = {}
        for row in await self._subscriptions.listing(team_id, channel_id):
            first_of_kind.setdefault(row.kind, row)
        posted: list[str] = []
        failed: list[tuple[str, str]] = []
        for kind, row in first_of_kind.items():
            if kind == "digest":
                schedule = schedule_of(row, self._settings.timezone)
                options = DigestOptions(
                    tz=schedule.tz,
                    no_names=schedule.no_names,
                    weekly=schedule.cadence == "weekly",
                    test=True,
                    channel_id=channel_id,
                )
                day = self._clock().astimezone(schedule.tz).date()
                message = (await self._digests.build(team_id, day, options)).message
            elif kind == "requests":
                message = request_sample()
            else:
                message = await self._alerts.sample(row)
            key = key_for(team_id, channel_id, row.id, "test", f"{kind}:{token}")
            result = await self._post_claimed(Claim(key, team_id, channel_id, row.id, "test", kind), message)
            if result.ok:
                posted.append(kind)
            else:
                failed.append((kind, result.error or "unknown error"))
        return SampleRun(tuple(posted), tuple(failed))

    # ----- alerts and syncs ---------------------------------------------------------------------------

    @property
    def live_deadline(self) -> timedelta:
        """How long one check gives each connection's live figures: well before the next check is due."""
        return timedelta(seconds=self._settings.check_interval * LIVE_DEADLINE_SHARE)

    async def check_alerts(self) -> int:
        """Refresh the cheap live figures, then step every alert of every workspace that has alerts.

        Workspaces are checked side by side (``CHECK_CONCURRENCY`` at once), each on its own: one that
        fails is logged and checked again at the next tick, and holds back none of the others.
        """
        posted: list[int] = []

        async def check(team_id: str) -> None:
            try:
                posted.append(await self._check_team(team_id))
            except Exception:
                log.exception(
                    "the alert check of workspace %s failed; it runs again at the next tick", team_id
                )

        await _each(await self._subscriptions.teams_with_alerts(), CHECK_CONCURRENCY, check)
        return sum(posted)

    async def _check_team(self, team_id: str) -> int:
        """One workspace's check: each connection's alerts are stepped as soon as its live figures are in.

        Every connection fetches its live figures (Windsurf balance, REST probe, Cursor's probe call...)
        in a task of its own, bounded by :attr:`live_deadline`; one that overruns it is recorded as
        failing (its health says so) rather than waited for. Whatever has arrived is evaluated at once,
        together with the connections another replica fetches and the budgets (which read only synced
        spend), so a hanging
        vendor delays no other vendor's alert by more than ``ARRIVAL_GRACE_SECONDS``. Alerts whose figures
        arrive within that grace of each other share a message.
        """
        ttl = timedelta(seconds=self._settings.check_interval * 0.8)
        if not await self._leases.claim(f"check:{team_id}", ttl):
            return 0
        fetching, ready = await self._start_live_fetches(team_id, ttl)
        pending = set(fetching)
        posted = 0
        budgets = True  # taken once, in the first pass
        try:
            while budgets or pending:
                if pending:
                    done, pending = await _next_arrivals(pending)
                    ready.extend(_arrived(done, fetching))
                report = await self._alerts.check_team(team_id, connections=ready, budgets=budgets)
                posted += report.posted + report.resolved
                ready, budgets = [], False
        finally:
            for task in pending:  # only when this check itself failed or was cancelled
                task.cancel()
        return posted

    async def _start_live_fetches(
        self, team_id: str, ttl: timedelta
    ) -> tuple[dict[asyncio.Task[SyncReport], Connection], list[int]]:
        """Start a task fetching the live figures (or the probe) of each connection of ``team_id``.

        Returns the tasks with their connections, and the ids of the connections ready to be checked at
        once: those whose live lease another replica holds (it fetches).
        """
        fetching: dict[asyncio.Task[SyncReport], Connection] = {}
        ready: list[int] = []
        for connection in await self._connections.for_team(team_id):
            assert connection.id is not None
            if await self._leases.claim(f"live:{connection.id}", ttl):
                task = asyncio.create_task(self._live_fetch(connection), name=f"live-{connection.id}")
                fetching[task] = connection
            else:
                ready.append(connection.id)
        return fetching, ready

    async def _live_fetch(self, connection: Connection) -> SyncReport:
        """A connection's live figures, fetched once more after a short pause when they failed.

        A fault met twice, some seconds apart and each time after the client's own retries, is what the
        health alert waits for (two failures in a row): so a fault that persists alerts at the first
        check that meets it, a hang included (within two check intervals of its start), while a blip
        of a few seconds does not. A rejected key needs no second look.
        """
        report = await self._sync.sync_live(connection, within=self.live_deadline)
        if report.ok or any(result.error_kind in REJECTED_KINDS for result in report.results):
            return report
        await asyncio.sleep(self._settings.check_interval * CONFIRM_PAUSE_SHARE)
        return await self._sync.sync_live(connection, within=self.live_deadline)

    async def run_syncs(self) -> int:
        """Sync every connection whose full sync is due (:func:`~bot.services.sync.full_sync_due`).

        Connections sync side by side (``SYNC_CONCURRENCY`` at once), each within its lease, so a slow
        or failing vendor holds back no other connection's sync.
        """
        now = self._clock()
        interval = timedelta(seconds=self._settings.sync_interval)
        due: list[Connection] = []
        for connection in await self._connections.every():
            assert connection.id is not None
            if self._sync.is_due(connection, await self._sync.states(connection.id), now, interval):
                due.append(connection)
        done: list[Connection] = []

        async def sync(connection: Connection) -> None:
            if not await self._leases.claim(f"sync:{connection.id}", SYNC_LEASE):
                return
            try:
                # Within the lease, so no other replica starts the same sync while this one runs.
                await self._sync.sync(connection, within=SYNC_LEASE)
                done.append(connection)
            except Exception:
                log.exception("the sync of %s failed; it runs again when next due", connection.name)
            finally:
                await self._leases.release(f"sync:{connection.id}")

        await _each(due, SYNC_CONCURRENCY, sync)
        return len(done)

    # ----- housekeeping -------------------------------------------------------------------------------

    async def settle(self) -> int:
        """Settle posts left half-done by a crash, and retry the ones that failed for a passing reason."""
        return await self._ledger.settle() + await self._ledger.retry_due()

    async def purge(self) -> None:
        """Drop history older than ``SPENDBOT_RETENTION_DAYS`` (and yesterday's chart files)."""
        cutoff = self._clock() - timedelta(days=self._settings.retention_days)
        await self._retention.purge(
            cutoff, unsettled=DeliveryState.POSTING, charts_before=self._clock() - timedelta(days=2)
        )
        await self._leases.purge_expired()
        oldest = (self._clock() - timedelta(days=2)).timestamp()
        await asyncio.to_thread(_remove_files_older_than, self._settings.data_dir / "charts", oldest)
        log.info("purged history older than %s", cutoff.date())


async def _next_arrivals(
    pending: set[asyncio.Task[SyncReport]],
) -> tuple[set[asyncio.Task[SyncReport]], set[asyncio.Task[SyncReport]]]:
    """Wait for the next fetch to end, then up to ``ARRIVAL_GRACE_SECONDS`` for others: (done, pending)."""
    done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    if pending:  # healthy vendors answer within moments of each other: one message
        more, pending = await asyncio.wait(pending, timeout=ARRIVAL_GRACE_SECONDS)
        done |= more
    return done, pending


def _arrived(
    done: set[asyncio.Task[SyncReport]], fetching: dict[asyncio.Task[SyncReport], Connection]
) -> list[int]:
    """The ids of the connections whose fetches ended, logging a fetch that failed outside the vendor."""
    ids: list[int] = []
    for task in done:
        connection = fetching[task]
        error = None if task.cancelled() else task.exception()
        if error is not None:  # not a vendor's failure (those are in the report)
            log.error(
                "the live figures of %s could not be refreshed; its alerts use the last ones",
                connection.name,
                exc_info=error,
            )
        assert connection.id is not None
        ids.append(connection.id)
    return ids


async def _each(items: Sequence[T], concurrency: int, work: Callable[[T], Awaitable[None]]) -> None:
    """``work(item)`` for each item, in order, at most ``concurrency`` at once; ``work`` handles errors."""
    queue = iter(items)

    async def worker() -> None:
        for item in queue:  # one iterator shared by the workers: each item once
            await work(item)

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(items)))))


def _remove_files_older_than(folder: Path, oldest: float) -> None:
    """Chart files not touched since ``oldest`` (a timestamp); file I/O, so run it in a thread."""
    if folder.exists():
        for path in folder.glob("*.png"):
            if path.stat().st_mtime < oldest:
                path.unlink(missing_ok=True)


def _has_image(message: Message) -> bool:
    return any(block.get("type") == "image" for block in message.blocks)
