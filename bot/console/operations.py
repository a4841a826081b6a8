"""The operator's commands behind ``spendbot console``, ``check`` and ``sync``; each returns an exit code.

Problems a person must fix are raised as :class:`OperationError` (one readable line, and the exit
code to end with); the CLI prints them like every other ``spendbot`` error.
"""

from __future__ import annotations

import re
from datetime import timedelta

from rich.console import Console
from rich.text import Text
from slack_sdk.errors import SlackApiError

from bot.console.progress import summary_line, sync_with_progress
from bot.console.session import FALLBACK_TEAM, ConsoleError, ConsoleSession, LineReader, resolve_team
from bot.domain.errors import SpendbotError
from bot.services.checks import Checks, redacted_url
from bot.services.connections import declared_connections
from bot.services.container import Services
from bot.services.slack_api import SlackUnavailable
from bot.settings import Settings
from bot.store.models import Connection

MAX_BACKFILL_DAYS = 400
_DAYS = re.compile(r"^(\d{1,3})d$")


class OperationError(SpendbotError):
    """A readable one-line reason, and the exit code to stop with."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def parse_backfill(text: str) -> timedelta:
    """``90d`` → 90 days; 1 to ``MAX_BACKFILL_DAYS`` days, or :class:`OperationError` (exit 2)."""
    match = _DAYS.match(text.strip().lower())
    days = int(match.group(1)) if match else 0
    if not 1 <= days <= MAX_BACKFILL_DAYS:
        raise OperationError(
            f"--backfill takes a number of days from 1 to {MAX_BACKFILL_DAYS}, such as 90d (got {text!r})", 2
        )
    return timedelta(days=days)


async def console_command(settings: Settings, console: Console, *, reader: LineReader | None = None) -> int:
    """``spendbot console``: the configured connections (environment and database), typed at."""
    try:
        session = await ConsoleSession.open(settings, console=console, reader=reader)
    except ConsoleError as error:
        raise OperationError(str(error)) from None
    async with session:
        connections = await session.services.connections.for_team(session.team_id)
        names = ", ".join(row.name for row in connections) or "none yet (try `connect cursor`)"
        console.print(
            Text(
                f"spendbot console: workspace {session.team_id}, database "
                f"{redacted_url(settings.database_url)}; connections: {names}",
                style="dim",
            )
        )
        return await session.repl()


async def check_command(settings: Settings, console: Console) -> int:
    """``spendbot check``: one line per item, exit code 1 when any failed."""
    services = Services.create(settings)
    try:
        results = await Checks(settings, services.db, services.connections, services.slack).run()
    finally:
        await services.close()
    for result in results:
        console.print(result.line(), style="green" if result.ok else "red", highlight=False, soft_wrap=True)
    return 0 if all(result.ok for result in results) else 1


async def sync_command(
    settings: Settings, console: Console, *, backfill: timedelta | None = None, name: str | None = None
) -> int:
    """``spendbot sync``: sync every connection (or those named ``name``) with progress bars."""
    services = Services.create(settings)
    try:
        await _start(services, settings)
        await _warn_if_no_workspace(services, settings, console)
        chosen = choose_connections(await services.connections.every(), name)
        if not chosen:
            console.print(
                "No connections to sync: declare one in the environment (CURSOR_API_KEY, "
                "WINDSURF_SERVICE_KEY, REST_API_URL with REST_API_KEY) or connect one in Slack with "
                "`/spend connect`."
            )
            return 0
        console.print(sync_heading(len(chosen), backfill))
        reports = await sync_with_progress(services.sync, chosen, console, backfill=backfill)
        several_teams = len({row.team_id for row in chosen}) > 1
        for row, report in zip(chosen, reports, strict=True):
            line = summary_line(report, row.team_id if several_teams else None)
            console.print(line, style="green" if report.ok else "red", highlight=False, soft_wrap=True)
        return 0 if all(report.ok for report in reports) else 1
    finally:
        await services.close()


async def _start(services: Services, settings: Settings) -> None:
    """Start the services, or say in one line why the workspace or the database is unusable."""
    try:
        await services.start(identify_workspace=True)
    except (SlackApiError, SlackUnavailable) as error:
        raise OperationError(
            f"cannot tell which Slack workspace SLACK_BOT_TOKEN belongs to: {error}"
        ) from None
    except Exception as error:  # noqa: BLE001 - the database (or the key file) is unusable: one line
        shown = redacted_url(settings.database_url)
        raise OperationError(f"database {shown} is not usable: {type(error).__name__}: {error}") from None


async def _warn_if_no_workspace(services: Services, settings: Settings, console: Console) -> None:
    """Say where the environment's connections are kept while no Slack workspace is known."""
    try:
        team_id = await resolve_team(services)
    except ConsoleError as error:
        raise OperationError(str(error)) from None
    if team_id == FALLBACK_TEAM and declared_connections(settings):
        console.print(
            Text(
                f"No Slack workspace is known yet (SLACK_BOT_TOKEN or SPENDBOT_ENV_TEAM_ID): the "
                f"environment's connections are kept under {FALLBACK_TEAM} until the bot starts, which "
                "moves them to its workspace and syncs them again.",
                style="yellow",
            )
        )


def choose_connections(every: list[Connection], name: str | None) -> list[Connection]:
    """The connections to sync: all of them, or those named ``name`` (:class:`OperationError` if none)."""
    chosen = [row for row in every if name is None or row.name == name.strip().lower()]
    if name is not None and not chosen:
        known = ", ".join(sorted({row.name for row in every})) or "none yet"
        raise OperationError(f"there is no connection named {name!r}; known connections: {known}", 2)
    return chosen


def sync_heading(count: int, backfill: timedelta | None) -> str:
    """The line printed before the progress bars."""
    what = f", re-fetching {backfill.days} days of usage" if backfill is not None else ""
    return f"Syncing {count} connection{'s' if count != 1 else ''}{what}:"
