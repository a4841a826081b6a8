"""Sync progress in the terminal: a bar per connection and dataset, then one summary line per connection.

A 90-day backfill of a large Cursor team at 20 requests a minute takes many minutes, so each bar says
what it is waiting for: its share done, the requests it made, the seconds our rate limiter made it
wait, and an estimate of the time left (rich's, from how fast the share done has been growing).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from bot.services.sync import ProgressEvent, SyncReport, SyncService
from bot.store.models import Connection

STEPS = 1000  # progress is a fraction; rich wants a count


class SyncProgressView:
    """A ``SyncProgress`` callback drawing one bar per (connection, dataset)."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description}", style="bold"),
            BarColumn(bar_width=28),
            TaskProgressColumn(),
            TextColumn("{task.fields[requests]:>5} req"),
            TextColumn("waited {task.fields[waited]:>5.1f}s"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[note]}", style="dim"),
            console=console,
        )
        self._tasks: dict[tuple[str, str], TaskID] = {}
        self._baseline: dict[tuple[str, str], tuple[int, float]] = {}

    def __call__(self, event: ProgressEvent) -> None:
        key = (event.connection, event.dataset)
        task = self._tasks.get(key)
        if task is None:
            # The counters are per connection since its sync began: a bar counts from its own start.
            self._baseline[key] = (event.requests, event.waited_seconds)
            task = self.progress.add_task(
                f"{event.connection} · {event.dataset}", total=STEPS, requests=0, waited=0.0, note=""
            )
            self._tasks[key] = task
        requests, waited = self._baseline[key]
        self.progress.update(
            task,
            completed=round(event.done * STEPS),
            requests=event.requests - requests,
            waited=event.waited_seconds - waited,
            note=event.note,
        )


async def sync_with_progress(
    sync: SyncService,
    connections: Sequence[Connection],
    console: Console,
    *,
    backfill: timedelta | None = None,
) -> list[SyncReport]:
    """Sync ``connections`` side by side (each has its own rate limits) with a live progress display."""
    view = SyncProgressView(console)
    with view.progress:
        return list(
            await asyncio.gather(
                *(sync.sync(connection, backfill=backfill, progress=view) for connection in connections)
            )
        )


def summary_line(report: SyncReport, team_id: str | None = None) -> str:
    """``OK cursor (cursor): 3 datasets, 2,318 rows, 41 requests, 0.0s waiting, 2.3s`` or ``FAIL …: why``."""
    where = report.vendor.value + (f", {team_id}" if team_id else "")
    seconds = (report.finished_at - report.started_at).total_seconds() if report.finished_at else 0.0
    if not report.ok:
        return f"FAIL {report.name} ({where}): {failure_text(report)}"
    rows = sum(result.rows for result in report.results)
    return (
        f"OK {report.name} ({where}): {len(report.results)} datasets, {rows:,} rows, "
        f"{report.requests:,} requests, {report.waited_seconds:.1f}s waiting on the rate limit, "
        f"{max(seconds, 0.0):.1f}s"
    )


def failure_text(report: SyncReport) -> str:
    """``key rejected — Invalid service key (members, credits, usage)``: each distinct failure once."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for result in report.results:
        if not result.ok:
            grouped.setdefault((result.error_kind or "failed", result.error or ""), []).append(result.dataset)
    parts = []
    for (kind, error), datasets in grouped.items():
        parts.append(f"{kind}{f' — {error}' if error and error != kind else ''} ({', '.join(datasets)})")
    return "; ".join(parts) or "failed"
