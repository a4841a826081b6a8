"""``spendbot check``: is this deployment able to run? Settings, Slack, database, and every vendor key.

Each item is one cheap check with a verdict and a reason a person can act on. A vendor key is tried
with the client's own ``probe()`` (the same single call the connect form makes), and a failure is
explained by :func:`~bot.services.connect.explain`, so ``check`` and the connect form say the same
thing about the same key. Nothing here writes: a database behind its migrations is reported, not
upgraded, and a missing SQLite file is not created.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from pydantic import SecretStr
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import make_url

from bot.domain.usage import Vendor
from bot.services.connect import PROBE_TIMEOUT, KeyCheckFailure, explain
from bot.services.connections import ConnectionRegistry, declared_connections
from bot.services.secrets import KEY_FILE_NAME
from bot.services.slack_api import SlackApi, SlackUnavailable, error_code
from bot.settings import Settings
from bot.store.connections import ConnectionRepository
from bot.store.db import Database, alembic_config, async_url, is_sqlite
from bot.store.models import Connection
from bot.vendors import ConnectionConfig, VendorError

DATABASE_TIMEOUT = 5.0


@dataclass(frozen=True)
class CheckResult:
    """One line of ``spendbot check``: ``OK subject: detail`` or ``FAIL subject: why``."""

    ok: bool
    subject: str
    detail: str = ""

    def line(self) -> str:
        return f"{'OK' if self.ok else 'FAIL'} {self.subject}" + (f": {self.detail}" if self.detail else "")


def redacted_url(url: str) -> str:
    """A database URL fit to print: the password replaced."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL SQLAlchemy cannot parse is shown by its scheme only
        return url.split("://", 1)[0] + "://…"


def failure_reason(failure: KeyCheckFailure) -> str:
    """``key rejected — Cursor did not accept this key (HTTP 401: “…”). …``: the kind, then the sentence."""
    head, sep, rest = failure.message.partition(": ")
    if sep and head.lower().removeprefix("the ") == failure.kind.value:
        return f"{failure.kind.value} — {rest}"
    return f"{failure.kind.value} — {failure.message}"


def missing_sqlite_file(url: str) -> Path | None:
    """The SQLite file ``url`` names when it does not exist (connecting would create an empty one)."""
    if not is_sqlite(url):
        return None
    database = make_url(async_url(url)).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database)
    return None if path.exists() else path


def missing_key_file(settings: Settings) -> Path | None:
    """The generated key file, when the settings rely on it and it is gone."""
    if settings.secret_key is not None or settings.is_postgres:
        return None
    path = settings.data_dir / KEY_FILE_NAME
    return None if path.exists() else path


class Checks:
    """The checks of one deployment, from its settings."""

    def __init__(
        self, settings: Settings, db: Database, registry: ConnectionRegistry, slack: SlackApi
    ) -> None:
        self._settings = settings
        self._db = db
        self._connections = ConnectionRepository(db)
        self._registry = registry
        self._slack = slack

    async def run(self) -> list[CheckResult]:
        """Every check, in the order a person would fix them; connections are probed side by side."""
        results = [self.settings_check()]
        if self._settings.slack_bot_token is not None:
            results.append(await self.slack_check())
        database = await self.database_check()
        results.append(database)
        results += await self.connection_checks(include_stored=database.ok)
        return results

    def settings_check(self) -> CheckResult:
        settings = self._settings
        mode = settings.run_mode()
        problems = settings.problems_for_run(mode)
        if problems:
            return CheckResult(False, "settings", "; ".join(problems))
        declared = len(declared_connections(settings))
        plural = "s" if declared != 1 else ""
        return CheckResult(
            True, "settings", f"{mode.value} mode, {declared} connection{plural} declared in the environment"
        )

    async def slack_check(self) -> CheckResult:
        """``auth.test`` with the bot token: which workspace it belongs to."""
        try:
            team_id, team_name = await self._slack.identify_bot_workspace()
        except SlackApiError as error:
            code = error_code(error) or "error"
            return CheckResult(False, "slack", f"Slack refused the bot token ({code}); check SLACK_BOT_TOKEN")
        except SlackUnavailable as error:
            return CheckResult(
                False, "slack", f"cannot reach Slack at {self._settings.slack_api_url}: {error}"
            )
        return CheckResult(True, "slack", f"bot token of workspace {team_name or team_id} ({team_id})")

    async def database_check(self) -> CheckResult:
        """The database answers, and its schema is at the newest migration."""
        url = self._settings.database_url
        shown = redacted_url(url)
        missing = missing_sqlite_file(url)
        if missing is not None:
            return CheckResult(
                False,
                "database",
                f"no database at {missing} yet: `spendbot db upgrade` (or the bot's first start) creates it",
            )
        try:
            async with asyncio.timeout(DATABASE_TIMEOUT), self._db.engine.connect() as connection:
                current = await connection.run_sync(
                    lambda sync: set(MigrationContext.configure(sync).get_current_heads())
                )
        except Exception as error:  # noqa: BLE001 - any failure is the verdict, in one line
            return CheckResult(False, "database", f"{shown} does not answer: {type(error).__name__}: {error}")
        heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
        if current != heads:
            at = ", ".join(sorted(current)) or "no migration"
            return CheckResult(
                False,
                "database",
                f"{shown} is at {at}, the code at {', '.join(sorted(heads))}: run `spendbot db upgrade` "
                "(the bot also applies migrations when it starts)",
            )
        return CheckResult(True, "database", f"{shown}, migrations at head ({', '.join(sorted(heads))})")

    async def connection_checks(self, *, include_stored: bool = True) -> list[CheckResult]:
        """One live call per connection: those the environment declares, and those stored in any workspace."""
        jobs: list[tuple[str, asyncio.Task[CheckResult]]] = []
        for declared in declared_connections(self._settings):
            subject = f"{declared.name} ({declared.vendor.value}, environment)"
            options = declared.options
            config = ConnectionConfig(
                key=f"check:env:{declared.name}",
                name=declared.name,
                vendor=declared.vendor,
                base_url=declared.base_url,
                secret=declared.secret,
                probe_path=str(options.get("probe_path") or ""),
                per_minute=options.get("per_minute"),
                per_day=options.get("per_day"),
                track=options.get("track"),
                requests_per_minute=self._settings.windsurf_requests_per_minute,
            )
            jobs.append((subject, asyncio.create_task(self._probe(subject, config))))
        if include_stored:
            for row in await self._stored():
                subject = f"{row.name} ({row.vendor}, added in Slack to {row.team_id})"
                jobs.append((subject, asyncio.create_task(self._probe_stored(subject, row))))
        return [await task for _, task in jobs]

    async def _stored(self) -> list[Connection]:
        return await self._connections.not_from_the_environment()

    async def _probe_stored(self, subject: str, row: Connection) -> CheckResult:
        key_file = missing_key_file(self._settings)
        if key_file is not None:
            # Reading the key would generate a new one, which cannot open what the old one encrypted.
            return CheckResult(
                False, subject, f"its key cannot be decrypted: the key file {key_file} is missing"
            )
        try:
            secret: SecretStr = self._registry.secret_of(row)
            config = self._registry.config(row, secret=secret)
        except Exception as error:  # noqa: BLE001 - an unreadable key is this connection's verdict
            return CheckResult(False, subject, f"cannot read its stored key: {error}")
        return await self._probe(subject, config)

    async def _probe(self, subject: str, config: ConnectionConfig) -> CheckResult:
        client = self._registry.build_probe_client(config)
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                await client.probe()
        except (VendorError, TimeoutError) as error:
            failure = explain(error, Vendor(config.vendor), config.secret.get_secret_value())
            return CheckResult(False, subject, failure_reason(failure))
        return CheckResult(True, subject)
