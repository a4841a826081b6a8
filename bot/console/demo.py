"""``spendbot demo`` and ``spendbot console --demo``: spendbot at work in a minute, with nothing to set up.

The Cursor, Windsurf, OpenAI and REST simulators run in this process on loopback (small deterministic teams,
their clock at the current minute, their rate-limit windows and our limiters both scaled so pacing
never slows the demo). One connection of each kind is declared against them as the environment would
declare it, in a data folder of the demo's own, rebuilt at every run, so the operator's database is
never touched. Everything is synced with progress bars, then the demo prints what Slack would show (the
``status`` answer, the alerts that the scheduled check posts to a subscribed channel, and the daily
digest) and opens the console.

The demo promises every alert on any day it is run (README's Quickstart): its data is shaped around
the day, not the calendar. Each vendor's billing cycle is anchored so that the demo day is always
about ``DEMO_CYCLE_AGE_DAYS`` into it, whatever the month, so the Windsurf pool (burning
``WINDSURF_BURN`` times the usual rate) is always running dry before its reset and the Cursor team is
always forecast past the demo's budget. The world is frozen at the minute the demo starts (the bot
reads the simulators' clock), so what it shows depends on that minute alone.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from rich.console import Console
from rich.rule import Rule
from rich.text import Text

from bot.console.progress import summary_line, sync_with_progress
from bot.console.session import ConsoleSession, LineReader, Turn
from bot.domain.errors import SpendbotError
from bot.domain.grammar import parse_command
from bot.services.subscriptions import Subscribe
from bot.settings import Settings
from bot.simulators.anthropic import AnthropicSimulator
from bot.simulators.copilot import CopilotSimulator
from bot.simulators.cursor import CursorSimulator
from bot.simulators.openai import OpenAISimulator
from bot.simulators.rest import RestSimulator
from bot.simulators.serving import ServedApp, serve_in_thread
from bot.simulators.windsurf import WindsurfSimulator
from bot.vendors import LimiterRegistry

DEMO_TEAM = "TDEMO"
DEMO_SCALE = 1000.0
"""Simulated seconds per real second in rate-limit windows: Cursor's 20 a minute become 20 per 60 ms."""
DEMO_FOLDER = "demo"
MARKER = ".spendbot-demo"
CURSOR_PEOPLE = 40
WINDSURF_PEOPLE = 25
OPENAI_PEOPLE = 15
"""OpenAI's people are the first Cursor users (the same emails): one person is seen across tools."""
ANTHROPIC_PEOPLE = 10
"""Anthropic's people are the first Cursor users too (Claude Code beside Cursor and OpenAI)."""
COPILOT_PEOPLE = 20
"""Copilot's seats are the first Cursor users as well, known to GitHub by their logins."""
OPENAI_SPEND_LIMIT_CENTS = 100_000
"""A hard spend limit well above a month of the demo's OpenAI costs: it shows, it never alerts."""
HISTORY_DAYS = 60
WINDSURF_BURN = 2.0
"""Twice the simulator's usual burn: the credit pool runs out before the cycle resets, as alerts exist for."""
DEMO_SUBSCRIPTIONS = (
    "subscribe digest daily at 09:00",
    "subscribe credit-low",
    "subscribe budget {budget} cursor",
    "subscribe rate-limit below 10%",
    "subscribe health",
)
"""What the demo subscribes its channel to; ``{budget}`` is :func:`demo_budget_dollars`."""
BUDGET_HEADROOM = Decimal("1.5")
"""The demo's Cursor budget is this many times the cycle's spend so far: not yet reached, but passed by
the forecast (about 2.5 times the spend so far, the cycle being some 12 of 30 days old)."""
DEMO_CYCLE_AGE_DAYS = 12
"""How far into its billing cycle each vendor is on the demo day: far enough for a steady burn and a
forecast, early enough that the Windsurf pool runs dry before the reset."""


def demo_cycle_day(now: datetime, age_days: int = DEMO_CYCLE_AGE_DAYS) -> int:
    """The cycle anchor (1-28, as the simulators take it) that puts ``now`` about ``age_days`` into a cycle.

    A cycle cannot start on the 29th to 31st, so on those days it starts on the 28th: one to three days
    older, still mid-cycle.
    """
    return min((now - timedelta(days=age_days)).day, 28)


class DemoError(SpendbotError):
    """The demo cannot start; the message is one readable line."""


@dataclass
class DemoSimulators:
    """The vendor simulators, each served on its own loopback port in a thread of its own."""

    cursor: CursorSimulator
    windsurf: WindsurfSimulator
    rest: RestSimulator
    openai: OpenAISimulator
    anthropic: AnthropicSimulator
    copilot: CopilotSimulator
    served: tuple[ServedApp, ...]

    @classmethod
    def start(cls, now: datetime) -> DemoSimulators:
        cycle_day = demo_cycle_day(now)
        cursor = CursorSimulator(
            team_size=CURSOR_PEOPLE,
            days=HISTORY_DAYS,
            seed=7,
            now=now,
            time_scale=DEMO_SCALE,
            cycle_day=cycle_day,
        )
        windsurf = WindsurfSimulator(
            team_size=WINDSURF_PEOPLE,
            days=HISTORY_DAYS,
            seed=8,
            now=now,
            time_scale=DEMO_SCALE,
            burn_multiplier=WINDSURF_BURN,
            cycle_day=cycle_day,
        )
        rest = RestSimulator(plan="pro", seed=9, now=now, time_scale=DEMO_SCALE)
        openai, anthropic, copilot = _tools_of_cursor_people(cursor, now)
        served: list[ServedApp] = []
        try:
            for app in (cursor.app, windsurf.app, rest.app, openai.app, anthropic.app, copilot.app):
                served.append(serve_in_thread(app))
        except BaseException:
            for handle in served:
                handle.stop()
            raise
        return cls(cursor, windsurf, rest, openai, anthropic, copilot, tuple(served))

    def stop(self) -> None:
        for handle in self.served:
            handle.stop()

    def settings(self, base: Settings, folder: Path) -> Settings:
        """Settings that declare one connection of each kind against the simulators, in ``folder``.

        Everything that could point elsewhere (database, Slack, keys, workspace) is set explicitly, so
        neither the environment nor ``.env`` can aim the demo at real data; the reader's time zone,
        the command name and logging are kept.
        """
        cursor_url, windsurf_url, rest_url, openai_url, anthropic_url, copilot_url = (
            handle.url for handle in self.served
        )
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
            "openai_admin_key": self.openai.admin_key,
            "openai_api_url": openai_url + "/v1",
            "openai_requests_per_minute": self.openai.requests_per_minute,
            "anthropic_admin_key": self.anthropic.admin_key,
            "anthropic_api_url": anthropic_url + "/v1",
            "anthropic_requests_per_minute": self.anthropic.requests_per_minute,
            "copilot_token": self.copilot.token,
            "copilot_api_url": copilot_url,
            "copilot_org": self.copilot.org,
            # GitHub knows most people by login only: the operator maps them (SPENDBOT_PERSON_ALIASES).
            "person_aliases": ", ".join(f"{seat.login}={seat.email}" for seat in self.copilot.dataset.seats),
        }
        return Settings(_env_file=None, **values)


def _tools_of_cursor_people(
    cursor: CursorSimulator, now: datetime
) -> tuple[OpenAISimulator, AnthropicSimulator, CopilotSimulator]:
    """The OpenAI, Anthropic and Copilot simulators, whose people are Cursor's first users."""
    openai = OpenAISimulator(
        team_size=OPENAI_PEOPLE,
        days=HISTORY_DAYS,
        seed=10,
        now=now,
        time_scale=DEMO_SCALE,
        spend_limit_cents=OPENAI_SPEND_LIMIT_CENTS,
        people=[(member.name, member.email) for member in cursor.dataset.members[:OPENAI_PEOPLE]],
    )
    anthropic = AnthropicSimulator(
        team_size=ANTHROPIC_PEOPLE,
        days=HISTORY_DAYS,
        seed=11,
        now=now,
        time_scale=DEMO_SCALE,
        people=[(member.name, member.email) for member in cursor.dataset.members[:ANTHROPIC_PEOPLE]],
    )
    copilot = CopilotSimulator(
        team_size=COPILOT_PEOPLE,
        days=HISTORY_DAYS + 1,
        seed=12,
        now=now,
        time_scale=DEMO_SCALE,
        people=[(member.name, member.email) for member in cursor.dataset.members[:COPILOT_PEOPLE]],
    )
    return openai, anthropic, copilot


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


@dataclass
class DemoShown:
    """What the demo showed as Slack would have it: the status answer, the alerts posted, the digest."""

    status: Turn
    alerts: Turn
    digest: Turn


async def run_demo(
    base: Settings,
    console: Console,
    *,
    reader: LineReader | None = None,
    show_answers: bool = True,
    now: datetime | None = None,
) -> int:
    """Run the demo (``show_answers``) or the demo console, and return the exit code (0).

    ``now`` is the demo's minute (the current one by default).
    """
    async with demo_session(base, console, reader=reader, now=now) as session:
        if show_answers:
            await show_what_slack_shows(session)
        console.print(Rule(Text("Console", style="bold"), style="magenta"))
        return await session.repl()


@asynccontextmanager
async def demo_session(
    base: Settings, console: Console, *, reader: LineReader | None = None, now: datetime | None = None
) -> AsyncIterator[ConsoleSession]:
    """The simulators started, a console session on them, every connection synced; stopped on exit."""
    folder = await asyncio.to_thread(prepare_folder, base.data_dir)
    console.print(
        Text.assemble(
            ("spendbot demo", "bold"),
            ": the Cursor, Windsurf, OpenAI, Anthropic, GitHub Copilot and REST API simulators run inside "
            "this process on 127.0.0.1. "
            "No Slack app, no vendor key and no network are needed; Slack itself is played by a fake "
            "in this process too.",
        )
    )
    console.print(
        Text(f"Data folder: {folder.resolve()} (rebuilt at every demo run)", style="dim"), soft_wrap=True
    )
    moment = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    simulators = await asyncio.to_thread(DemoSimulators.start, moment)
    try:
        settings = simulators.settings(base, folder)
        session = await ConsoleSession.open(
            settings,
            console=console,
            reader=reader,
            subscriptions_enabled=True,
            clock=lambda: simulators.cursor.now,
            limiters=LimiterRegistry(time_scale=DEMO_SCALE),
        )
        async with session:
            connections = await session.services.connections.for_team(session.team_id)
            console.print()
            console.print(
                f"Syncing {len(connections)} connections "
                f"({CURSOR_PEOPLE} Cursor users, {WINDSURF_PEOPLE} Windsurf users, {OPENAI_PEOPLE} OpenAI, "
                f"{ANTHROPIC_PEOPLE} Anthropic and {COPILOT_PEOPLE} Copilot users among the Cursor ones, "
                f"{HISTORY_DAYS} days):"
            )
            reports = await sync_with_progress(session.services.sync, connections, console)
            for report in reports:
                console.print(summary_line(report), style="green" if report.ok else "red")
            yield session
    finally:
        await asyncio.to_thread(simulators.stop)


async def show_what_slack_shows(session: ConsoleSession) -> DemoShown:
    """The ``status`` answer, then the channel's subscriptions, the alerts they post and the digest."""
    console = session.console
    console.print()
    console.print(Rule(Text("What Slack would show", style="bold"), style="magenta"))
    console.print(Text(f"{session.settings.command} status", style="bold"))
    status = await session.command("status")
    await subscribe_console(session)
    alerts, digest = await show_alerts_and_digest(session)
    return DemoShown(status, alerts, digest)


async def demo_budget_dollars(session: ConsoleSession) -> int:
    """A Cursor budget in whole tens of dollars the synced team has not reached but is forecast to pass."""
    spent = Decimal(0)
    for connection in await session.services.connections.for_team(session.team_id):
        if connection.vendor == "cursor" and connection.id is not None:
            spent += await session.services.usage_figures.cycle_total(connection.id) or Decimal(0)
    tens = (spent / 100 * BUDGET_HEADROOM / 10).to_integral_value(rounding=ROUND_CEILING)
    return max(int(tens), 1) * 10


async def subscribe_console(session: ConsoleSession) -> None:
    """Subscribe the console's channel to the digest and every alert, as an admin would in Slack."""
    budget = await demo_budget_dollars(session)
    texts = [text.format(budget=budget) for text in DEMO_SUBSCRIPTIONS]
    for text in texts:
        command = parse_command(text)
        assert isinstance(command, Subscribe)
        await session.services.subscriptions.subscribe(
            session.team_id, session.channel_id, session.user_id, command
        )
    session.console.print(
        Text.assemble(
            ("Subscriptions of #console", "bold"),
            f" (as `{session.settings.command} subscribe …` would make them): ",
            " · ".join(text.removeprefix("subscribe ") for text in texts),
        )
    )
    session.console.print()


async def show_alerts_and_digest(session: ConsoleSession) -> tuple[Turn, Turn]:
    """Run the alert check the scheduler runs, show what it posted, then the daily digest and its chart."""
    console = session.console
    console.print(Text("Alerts posted by the scheduled check", style="bold"))
    turn = await session.scheduled(session.services.publisher.check_alerts())
    if not turn.shown:
        console.print(Text("No alert holds right now.", style="dim"))
        console.print()
    console.print(Text("The daily digest", style="bold"))
    message, chart = await session.services.digests.preview(session.team_id)
    digest = session.show_message(message)
    if chart is not None:
        console.print(Text(f"Chart saved as {chart.path.resolve()}", style="green"), soft_wrap=True)
        console.print()
    return turn, digest
