"""``spendbot demo`` and ``spendbot console --demo``: spendbot at work in a minute, with nothing to set up.

The Cursor, Windsurf and REST simulators run in this process on loopback (small deterministic teams,
their clock at the current minute, their rate-limit windows and our limiters both scaled so pacing
never slows the demo). One connection of each kind is declared against them as the environment would
declare it, in a data folder of the demo's own, rebuilt at every run, so the operator's database is
never touched. Everything is synced with progress bars, then the demo prints what Slack would show (the
``status`` answer, the daily digest and the open alerts) and opens the console.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from rich.console import Console
from rich.rule import Rule
from rich.text import Text

from bot.console.progress import summary_line, sync_with_progress
from bot.console.session import ConsoleSession, LineReader
from bot.settings import Settings
from bot.simulators.cursor import CursorSimulator
from bot.simulators.rest import RestSimulator
from bot.simulators.serving import ServedApp, serve_in_thread
from bot.simulators.windsurf import WindsurfSimulator
from bot.slack.blocks import Message
from bot.vendors import LimiterRegistry

DEMO_TEAM = "TDEMO"
DEMO_SCALE = 1000.0
"""Simulated seconds per real second in rate-limit windows: Cursor's 20 a minute become 20 per 60 ms."""
DEMO_FOLDER = "demo"
MARKER = ".spendbot-demo"
CURSOR_PEOPLE = 40
WINDSURF_PEOPLE = 25
HISTORY_DAYS = 60
WINDSURF_BURN = 2.0
"""Twice the simulator's usual burn: the credit pool runs out before the cycle resets, as alerts exist for."""


class DemoError(Exception):
    """The demo cannot start; the message is one readable line."""


@dataclass
class DemoSimulators:
    """The three vendor simulators, each served on its own loopback port in a thread of its own."""

    cursor: CursorSimulator
    windsurf: WindsurfSimulator
    rest: RestSimulator
    served: tuple[ServedApp, ServedApp, ServedApp]

    @classmethod
    def start(cls, now: datetime) -> DemoSimulators:
        cursor = CursorSimulator(
            team_size=CURSOR_PEOPLE, days=HISTORY_DAYS, seed=7, now=now, time_scale=DEMO_SCALE
        )
        windsurf = WindsurfSimulator(
            team_size=WINDSURF_PEOPLE,
            days=HISTORY_DAYS,
            seed=8,
            now=now,
            time_scale=DEMO_SCALE,
            burn_multiplier=WINDSURF_BURN,
        )
        rest = RestSimulator(plan="pro", seed=9, now=now, time_scale=DEMO_SCALE)
        served: list[ServedApp] = []
        try:
            for app in (cursor.app, windsurf.app, rest.app):
                served.append(serve_in_thread(app))
        except BaseException:
            for handle in served:
                handle.stop()
            raise
        return cls(cursor, windsurf, rest, (served[0], served[1], served[2]))

    def stop(self) -> None:
        for handle in self.served:
            handle.stop()

    def settings(self, base: Settings, folder: Path) -> Settings:
        """Settings that declare one connection of each kind against the simulators, in ``folder``.

        Everything that could point elsewhere (database, Slack, keys, workspace) is set explicitly, so
        neither the environment nor ``.env`` can aim the demo at real data; the reader's time zone,
        the command name and logging are kept.
        """
        cursor_url, windsurf_url, rest_url = (handle.url for handle in self.served)
        values: dict[str, Any] = {
            "data_dir": folder,
            "database_url": f"sqlite:///{folder / 'spendbot.db'}",
            # An in-memory key: the demo's database is rebuilt at every run, so nothing needs it later.
            "secret_key": Fernet.generate_key().decode(),
            "env_team_id": DEMO_TEAM,
            "slack_bot_token": None,
            "slack_signing_secret": None,
            "slack_app_token": None,
            "slack_client_id": None,
            "slack_client_secret": None,
            "timezone": base.timezone,
            "command": base.command,
            "log_level": base.log_level,
            "log_format": base.log_format,
            "cursor_api_key": self.cursor.api_key,
            "cursor_api_url": cursor_url,
            "windsurf_service_key": self.windsurf.service_key,
            "windsurf_api_url": windsurf_url + "/api/v1",
            "windsurf_credit_price": base.windsurf_credit_price,
            "rest_api_key": self.rest.api_key,
            "rest_api_url": rest_url + "/v1",
            "rest_probe_path": "/account",
            "rest_per_minute": self.rest.per_minute,
            "rest_per_day": self.rest.per_day,
            "rest_track": "/usage#data.credits_remaining",
        }
        return Settings(_env_file=None, **values)


def prepare_folder(data_dir: Path) -> Path:
    """``data_dir/demo``, emptied: the demo's own, marked so that nothing else is ever deleted."""
    folder = data_dir / DEMO_FOLDER
    if folder.exists():
        if not (folder / MARKER).exists() and any(folder.iterdir()):
            raise DemoError(
                f"{folder} exists and was not made by the demo; move it away or set SPENDBOT_DATA_DIR"
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MARKER).write_text("made by `spendbot demo`; deleted and rebuilt at every demo run\n")
    return folder


async def run_demo(
    base: Settings, console: Console, *, reader: LineReader | None = None, show_answers: bool = True
) -> int:
    """Run the demo (``show_answers``) or the demo console, and return the exit code (0)."""
    folder = await asyncio.to_thread(prepare_folder, base.data_dir)
    console.print(
        Text.assemble(
            ("spendbot demo", "bold"),
            ": the Cursor, Windsurf and REST API simulators run inside this process on 127.0.0.1. "
            "No Slack app, no vendor key and no network are needed; Slack itself is played by a fake "
            "in this process too.",
        )
    )
    console.print(
        Text(f"Data folder: {folder.resolve()} (rebuilt at every demo run)", style="dim"), soft_wrap=True
    )
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    simulators = await asyncio.to_thread(DemoSimulators.start, now)
    try:
        settings = simulators.settings(base, folder)
        session = await ConsoleSession.open(
            settings,
            console=console,
            reader=reader,
            subscriptions_enabled=True,
            limiters=LimiterRegistry(time_scale=DEMO_SCALE),
        )
        async with session:
            connections = await session.services.connections.for_team(session.team_id)
            console.print()
            console.print(
                f"Syncing {len(connections)} connections "
                f"({CURSOR_PEOPLE} Cursor users, {WINDSURF_PEOPLE} Windsurf users, {HISTORY_DAYS} days):"
            )
            reports = await sync_with_progress(session.services.sync, connections, console)
            for report in reports:
                console.print(summary_line(report), style="green" if report.ok else "red")
            if show_answers:
                console.print()
                console.print(Rule(Text("What Slack would show", style="bold"), style="magenta"))
                console.print(Text(f"{settings.command} status", style="bold"))
                await session.command("status")
                await show_digest_and_alerts(session)
            console.print(Rule(Text("Console", style="bold"), style="magenta"))
            return await session.repl()
    finally:
        await asyncio.to_thread(simulators.stop)


async def show_digest_and_alerts(session: ConsoleSession) -> None:
    """Print the daily digest and the open alerts as Slack would show them, with the chart's file path.

    Both come from the services that post them on schedule (``services.digests.preview`` and
    ``services.alerts.preview``, for the session's workspace); a service this build lacks is skipped.
    """
    services = session.services
    for title, attribute in (("The daily digest", "digests"), ("Open alerts", "alerts")):
        service = getattr(services, attribute, None)
        preview = getattr(service, "preview", None)
        if preview is None:
            continue
        session.console.print(Text(title, style="bold"))
        found = previews(await preview(session.team_id))
        if not found:
            session.console.print(Text("Nothing to show.", style="dim"))
            session.console.print()
        for message, chart in found:
            session.show_message(message)
            if chart is not None:
                session.console.print(
                    Text(f"Chart saved as {chart.resolve()}", style="green"), soft_wrap=True
                )
                session.console.print()


def previews(value: Any) -> list[tuple[Message, Path | None]]:
    """The messages a preview returned, each with the chart file it refers to.

    A preview is a :class:`Message`, None, or a sequence of messages in which a chart (a path, or an
    object with a ``path``) follows the message it belongs to, as in ``(message, chart)``.
    """
    found: list[tuple[Message, Path | None]] = []
    for item in value if isinstance(value, list | tuple) else [value]:
        if isinstance(item, Message):
            found.append((item, None))
        elif isinstance(item, list | tuple):
            found.extend(previews(item))
        elif item is not None and found:
            path = item if isinstance(item, Path) else getattr(item, "path", None)
            if isinstance(path, str | Path):
                found[-1] = (found[-1][0], Path(path))
    return found
