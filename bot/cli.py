"""The ``spendbot`` command line (design.md section 2). Every failure is one readable line, never a trace."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from bot.logs import configure_logging, register_secret
from bot.settings import RunMode, Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from rich.console import Console


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spendbot",
        description="Slack bot for the spend, credits and rate limits of AI coding tools.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    run = commands.add_parser("run", help="run the bot (Socket Mode when SLACK_APP_TOKEN is set, else HTTP)")
    run.add_argument("--mode", choices=[mode.value for mode in RunMode], help="force socket or http mode")
    run.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")  # noqa: S104
    run.add_argument(
        "--port", type=int, default=3000, help="port for /slack/events, /healthz, /metrics (3000)"
    )

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION")
    db_commands.required = True
    db_commands.add_parser("upgrade", help="apply migrations (also done at start)")

    commands.add_parser(
        "rotate-key", help="re-encrypt stored vendor keys under the first key of SPENDBOT_SECRET_KEY"
    )

    # --- the terminal's commands (issue 7): bot/console
    commands.add_parser(
        "demo", help="built-in vendor simulators, a sync, what Slack would show, then the console (no setup)"
    )
    console = commands.add_parser(
        "console", help="type slash commands in a terminal against the configured connections"
    )
    console.add_argument("--demo", action="store_true", help="use the built-in vendor simulators instead")
    commands.add_parser("check", help="check settings, database and each connection's key with one live call")
    sync = commands.add_parser("sync", help="sync now, with a progress bar per connection")
    sync.add_argument("--backfill", metavar="Nd", help="re-fetch N days of usage (1 to 400), e.g. 90d")
    sync.add_argument("connection", nargs="?", help="only this connection (default: every one)")
    # --- end of the terminal's commands
    return parser


def _fail(message: str, code: int = 2) -> int:
    print(f"spendbot: {message}", file=sys.stderr)
    return code


def _load() -> Settings:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    for secret in (
        settings.slack_bot_token,
        settings.slack_app_token,
        settings.slack_signing_secret,
        settings.slack_client_secret,
        settings.secret_key,
        settings.cursor_api_key,
        settings.windsurf_service_key,
        settings.rest_api_key,
    ):
        if secret is not None:
            register_secret(secret.get_secret_value())
    return settings


def _run(args: argparse.Namespace, settings: Settings) -> int:
    mode = settings.run_mode(RunMode(args.mode) if args.mode else None)
    problems = settings.problems_for_run(mode)
    if problems:
        hint = " (put them in .env, see .env.example; or try `make demo`, which needs no Slack app)"
        return _fail("; ".join(problems) + hint)
    from bot.server import StartupError, serve_bot

    async def serve() -> None:
        if await serve_bot(settings, mode=mode, host=args.host, port=args.port):
            # Work that ignored its cancellation would keep asyncio.run (and the process) waiting for
            # it: the stop was asked for, what matters is in the database, so the process ends here.
            logging.shutdown()
            os._exit(0)

    try:
        asyncio.run(serve())
    except StartupError as error:
        return _fail(str(error), 1)
    except KeyboardInterrupt:
        return 0
    return 0


def _db(args: argparse.Namespace, settings: Settings) -> int:
    from bot.store.db import Database

    async def upgrade() -> None:
        database = Database(settings.database_url)
        try:
            await database.upgrade()
        finally:
            await database.dispose()

    try:
        asyncio.run(upgrade())
    except Exception as error:  # noqa: BLE001 - one readable line instead of a trace
        return _fail(f"database upgrade failed: {type(error).__name__}: {error}", 1)
    print("database is up to date")
    return 0


def _rotate_key(_args: argparse.Namespace, settings: Settings) -> int:
    """Re-encrypt every stored key; safe while bots run (give them every key, new first, beforehand)."""
    from bot.services.connect import rotate_stored_keys
    from bot.services.secrets import SecretBox, SecretKeyError
    from bot.store.db import Database

    async def rotate() -> str:
        database = Database(settings.database_url)
        try:
            report = await rotate_stored_keys(database, SecretBox.from_settings(settings))
        finally:
            await database.dispose()
        if report.failed:
            raise SecretKeyError(report.summary())
        return report.summary()

    try:
        summary = asyncio.run(rotate())
    except SecretKeyError as error:
        return _fail(str(error), 1)
    except Exception as error:  # noqa: BLE001 - one readable line instead of a trace
        return _fail(f"key rotation failed: {type(error).__name__}: {error}", 1)
    print(summary)
    return 0


# --- the terminal's commands (issue 7): the work is in bot/console; here only the exit codes.


def _terminal(settings: Settings, work: Callable[[Console], Coroutine[Any, Any, int]]) -> int:
    """Run one of the terminal's commands, with one readable line on failure.

    Logs are cut to warnings: they would cut through the prompt and the progress bars (LOG_LEVEL=DEBUG
    still shows everything).
    """
    from rich.console import Console

    from bot.console.demo import DemoError
    from bot.console.operations import OperationError

    configure_logging("DEBUG" if settings.log_level == "DEBUG" else "WARNING", settings.log_format)
    console = Console(highlight=False)
    try:
        return asyncio.run(work(console))
    except OperationError as error:
        return _fail(str(error), error.code)
    except DemoError as error:
        return _fail(str(error), 1)
    except KeyboardInterrupt:
        console.print()
        return 130
    except Exception as error:  # noqa: BLE001 - one readable line instead of a trace
        return _fail(f"{type(error).__name__}: {error}", 1)


def _demo(_args: argparse.Namespace, settings: Settings) -> int:
    from bot.console.demo import run_demo

    return _terminal(settings, lambda console: run_demo(settings, console))


def _console(args: argparse.Namespace, settings: Settings) -> int:
    from bot.console.demo import run_demo
    from bot.console.operations import console_command

    if args.demo:
        return _terminal(settings, lambda console: run_demo(settings, console, show_answers=False))
    return _terminal(settings, lambda console: console_command(settings, console))


def _check(_args: argparse.Namespace, settings: Settings) -> int:
    from bot.console.operations import check_command

    return _terminal(settings, lambda console: check_command(settings, console))


def _sync(args: argparse.Namespace, settings: Settings) -> int:
    from bot.console.operations import OperationError, parse_backfill, sync_command

    try:
        backfill = parse_backfill(args.backfill) if args.backfill is not None else None
    except OperationError as error:
        return _fail(str(error), error.code)
    return _terminal(
        settings, lambda console: sync_command(settings, console, backfill=backfill, name=args.connection)
    )


# --- end of the terminal's commands

_COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "run": _run,
    "db": _db,
    "rotate-key": _rotate_key,
    "demo": _demo,
    "console": _console,
    "check": _check,
    "sync": _sync,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = _load()
    except SettingsError as error:
        return _fail(str(error))
    return _COMMANDS[args.command](args, settings)


if __name__ == "__main__":
    sys.exit(main())
