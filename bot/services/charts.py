"""The digest's 30-day spend chart: rendered once per workspace, set of sources and day, then reused.

Rendering (matplotlib, Agg) runs in a thread so the event loop never waits on it. The PNG is kept in
``SPENDBOT_DATA_DIR/charts`` and uploaded to the workspace once with files v2; every digest that day
shows the same file by its id. Days are UTC days, so one chart serves every channel's time zone.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from slack_sdk.errors import SlackApiError

from bot.domain.slack_ids import SlackIdKind, require_slack_id
from bot.domain.vendors import traits
from bot.services.clock import Clock
from bot.services.slack_api import SlackApi, SlackUnavailable
from bot.settings import Settings
from bot.store import usage as usage_store
from bot.store.charts import ChartFileRepository
from bot.store.db import Database
from bot.store.models import ChartFile, Connection

log = logging.getLogger(__name__)

CHART_DAYS = 30
# pyplot's state is global to the process: one rendering at a time, whichever event loop asked for it
# (an asyncio.Lock here would be bound to the first loop that waited on it).
_render_lock = threading.Lock()


@dataclass(frozen=True)
class Series:
    """One line of the chart: a source's daily amounts in its unit."""

    label: str
    unit: str
    points: dict[date, Decimal]


@dataclass(frozen=True)
class Chart:
    key: str
    path: Path
    first: date
    last: date


def chart_key(team_id: str, connections: Sequence[Connection], last: date) -> str:
    names = ",".join(sorted(f"{row.vendor}:{row.name}" for row in connections))
    digest = hashlib.sha256(f"{team_id}|{names}".encode()).hexdigest()[:12]
    return f"spend30-{last.isoformat()}-{digest}"


def render_png(series: Sequence[Series], first: date, last: date, path: Path) -> Path:
    """Draw the chart to ``path`` (blocking: call it in a thread). Dollars on the left axis, credits right."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    x = mdates.date2num(days)  # type: ignore[no-untyped-call]
    figure, dollars_axis = plt.subplots(figsize=(8, 3.2), dpi=110)
    credits_axis = None
    try:
        for index, line in enumerate(series):
            values = [float(line.points.get(day, Decimal(0))) for day in days]
            if line.unit == "usd_cents":
                dollars_axis.plot(
                    x, [value / 100 for value in values], marker=".", linewidth=1.6, label=line.label
                )
            else:
                credits_axis = credits_axis or dollars_axis.twinx()
                credits_axis.plot(
                    x,
                    values,
                    linestyle="--",
                    linewidth=1.4,
                    color=f"C{index + 3}",
                    label=f"{line.label} (credits)",
                )
                credits_axis.set_ylabel("credits")
        dollars_axis.xaxis.set_major_formatter(mdates.DateFormatter("%b %d"))  # type: ignore[no-untyped-call]
        dollars_axis.set_ylabel("US$ per day")
        dollars_axis.set_title(f"Spend per UTC day, {first:%b} {first.day} – {last:%b} {last.day}")
        dollars_axis.grid(alpha=0.3)
        handles, labels = dollars_axis.get_legend_handles_labels()
        if credits_axis is not None:
            more_handles, more_labels = credits_axis.get_legend_handles_labels()
            handles, labels = handles + more_handles, labels + more_labels
        if handles:
            dollars_axis.legend(handles, labels, loc="upper left", fontsize=8)
        figure.autofmt_xdate()
        figure.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.stem + ".partial.png")  # purged with the others if left behind
        figure.savefig(partial, format="png")
        os.replace(partial, path)  # whole or absent: a reader never sees half a file, nor after a crash
    finally:
        plt.close(figure)
    return path


def _render_once(series: Sequence[Series], first: date, last: date, path: Path) -> None:
    with _render_lock:
        if not path.exists():
            render_png(series, first, last, path)


class ChartService:
    """Renders, caches and uploads the 30-day chart."""

    def __init__(
        self, settings: Settings, db: Database, files: ChartFileRepository, slack: SlackApi, *, clock: Clock
    ) -> None:
        self._settings = settings
        self._db = db
        self._files = files
        self._slack = slack
        self._clock = clock
        self._directory = settings.data_dir / "charts"
        self._upload_lock = asyncio.Lock()  # digests built at once upload their shared chart once

    async def render(self, team_id: str, connections: Sequence[Connection], last: date) -> Chart | None:
        """The chart of the 30 UTC days ending ``last``, rendered once and reused from disk after."""
        team_id = require_slack_id(SlackIdKind.TEAM, team_id)  # it becomes part of a file name
        usable = [row for row in connections if traits(row.vendor).reports_usage and row.id is not None]
        if not usable:
            return None
        key = chart_key(team_id, usable, last)
        path = self._directory / f"{team_id}-{key}.png"
        first = last - timedelta(days=CHART_DAYS - 1)
        if path.exists():
            return Chart(key, path, first, last)
        series = []
        async with self._db.session() as session:
            for connection in usable:
                assert connection.id is not None
                points = await usage_store.usage_by_utc_day(session, [connection.id], first, last)
                unit = traits(connection.vendor).unit.value
                series.append(Series(connection.name, unit, points))
        await asyncio.to_thread(_render_once, series, first, last, path)
        return Chart(key, path, first, last)

    async def file_id(self, team_id: str, chart: Chart) -> str | None:
        """The chart's Slack file id for this workspace: uploaded the first time, remembered after."""
        known = await self._known_file_id(team_id, chart)
        if known is not None:
            return known
        async with self._upload_lock:
            return await self._known_file_id(team_id, chart) or await self._upload(team_id, chart)

    async def _known_file_id(self, team_id: str, chart: Chart) -> str | None:
        return await self._files.file_id(team_id, chart.key)

    async def _upload(self, team_id: str, chart: Chart) -> str | None:
        try:
            content = await asyncio.to_thread(chart.path.read_bytes)
            response = await self._slack.upload_file(
                team_id, None, filename=chart.path.name, content=content, title="Spend, last 30 days"
            )
        except (SlackApiError, SlackUnavailable, OSError) as error:
            log.warning("could not upload the digest chart: %s", error)
            return None
        file = response.get("file") or (response.get("files") or [{}])[0]
        file_id = str(file.get("id") or "")
        if not file_id:
            return None
        row = ChartFile(team_id=team_id, chart_key=chart.key, file_id=file_id, created_at=self._clock())
        if not await self._files.remember(row):
            return await self._files.file_id(team_id, chart.key) or file_id
        return file_id
