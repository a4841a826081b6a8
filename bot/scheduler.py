"""The scheduler: APScheduler's ``AsyncIOScheduler`` in the bot's own loop, running the publisher's work.

Jobs live in memory and are rebuilt at every start: what must survive a restart (subscriptions, their
next due times, the delivery ledger, alert states) is in the database, so there is no job store to
migrate or pickle. ``coalesce`` with a generous ``misfire_grace_time`` means a job delayed by a busy
loop still runs once, and a restart catches up through the due times stored in the database (the
default grace of one second would silently drop a digest).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.metrics import Metrics
from bot.services.publisher import Publisher
from bot.settings import Settings

log = logging.getLogger(__name__)

DIGEST_TICK_SECONDS = 20
SYNC_TICK_SECONDS = 60
SETTLE_TICK_SECONDS = 30


class Scheduler:
    """Starts and stops the recurring jobs; each job logs its failures and never stops the others."""

    def __init__(self, settings: Settings, publisher: Publisher, metrics: Metrics) -> None:
        self._settings = settings
        self._publisher = publisher
        self._metrics = metrics
        self._scheduler: AsyncIOScheduler | None = None

    def start(self) -> None:
        """Start inside the running loop (``AsyncIOScheduler`` takes the loop it is started in)."""
        scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        )
        now = datetime.now(UTC)
        jobs: list[tuple[str, Callable[[], Awaitable[Any]], int, timedelta]] = [
            ("settle", self._publisher.settle, SETTLE_TICK_SECONDS, timedelta(0)),
            ("digests", self._publisher.run_due_digests, DIGEST_TICK_SECONDS, timedelta(seconds=1)),
            ("syncs", self._publisher.run_syncs, SYNC_TICK_SECONDS, timedelta(seconds=3)),
            ("checks", self._publisher.check_alerts, self._settings.check_interval, timedelta(seconds=15)),
        ]
        for name, job, seconds, delay in jobs:
            scheduler.add_job(
                _logged(name, job, self._metrics),
                "interval",
                seconds=seconds,
                id=name,
                next_run_time=now + delay,
                replace_existing=True,
            )
        purge = _logged("purge", self._publisher.purge, self._metrics)
        scheduler.add_job(purge, "cron", hour=3, minute=17, id="purge")
        scheduler.start()
        self._scheduler = scheduler
        log.info(
            "scheduler started: digests every %ss, syncs due every %ss, alert checks every %ss",
            DIGEST_TICK_SECONDS,
            self._settings.sync_interval,
            self._settings.check_interval,
        )

    def shutdown(self) -> None:
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None


def _logged(name: str, job: Callable[[], Awaitable[Any]], metrics: Metrics) -> Callable[[], Awaitable[None]]:
    """``job`` as the scheduler runs it: a failure is logged, never raised, and every run is counted
    (``spendbot_scheduled_jobs``), so an operator, or ``bench/ack.py``, sees which jobs have run."""

    async def run() -> None:
        try:
            await job()
        except asyncio.CancelledError:
            # The bot is stopping (SIGTERM) mid-job: not an error. What the job had not finished is in
            # the database (due times, the delivery ledger) and is picked up at the next start. The
            # cancellation ends here, so APScheduler does not log it as a failed job with a trace.
            log.info("scheduled job %s stopped by the shutdown; it resumes at the next start", name)
            return
        except Exception:
            metrics.scheduled_jobs.labels(job=name, outcome="failed").inc()
            log.exception("scheduled job %s failed; it will run again at its next tick", name)
            return
        metrics.scheduled_jobs.labels(job=name, outcome="ok").inc()

    run.__name__ = f"spendbot_{name}"
    return run
