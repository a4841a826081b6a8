"""The async engine, its sessions, and schema upgrades.

SQLite gets WAL (readers never block the writer), foreign keys and a busy timeout on every
connection. Write transactions on SQLite start with ``BEGIN IMMEDIATE``: a deferred transaction that
reads and then writes fails at once with "database is locked" when another writer got there first,
whatever the busy timeout, while an immediate one waits its turn.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Executable, Result, event, text
from sqlalchemy.engine import Connection as SyncConnection
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_MIGRATION_LOCK_ID = 0x5E4D_B07  # pg_advisory_xact_lock key: replicas starting together upgrade one at a time
_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def async_url(url: str) -> str:
    """Map plain ``sqlite://`` and ``postgresql://`` URLs to the async drivers; keep explicit drivers."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"{url!r} is not a database URL")
    return f"{_DRIVERS.get(scheme, scheme)}://{rest}"


def is_sqlite(url: str) -> bool:
    return make_url(async_url(url)).get_backend_name() == "sqlite"


def _sqlite_file(url: str) -> Path | None:
    database = make_url(async_url(url)).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def make_engine(url: str, **options: Any) -> AsyncEngine:
    """Create the async engine for ``url``; for a SQLite file, create its folder first."""
    url = async_url(url)
    if is_sqlite(url):
        path = _sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **options)
        _prepare_sqlite(engine)
        return engine
    options.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **options)


def _prepare_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy (not the driver) decide when transactions begin, so BEGIN IMMEDIATE is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # 16 MiB of pages per connection (SQLite's default is 2 MiB): an answer by person at 20,000 people
        # reads about 5 MiB of running totals and hours, which then stay cached for the next one.
        cursor.execute("PRAGMA cache_size = -16384")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: SyncConnection) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """The engine plus two session factories: ``session()`` for reads, ``write()`` for changes."""

    def __init__(self, url: str, **engine_options: Any) -> None:
        self.url = async_url(url)
        self.engine = make_engine(url, **engine_options)
        self.is_sqlite = is_sqlite(url)
        self._reads = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        writer = self.engine.execution_options(sqlite_immediate=True) if self.is_sqlite else self.engine
        self._writes = async_sessionmaker(writer, class_=AsyncSession, expire_on_commit=False)

    def session(self) -> AsyncSession:
        """A session for reading (and small writes that cannot conflict)."""
        return self._reads()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction takes the write lock at once and commits at the end of the block."""
        async with self._writes() as session, session.begin():
            yield session

    async def ping(self, timeout: float = 2.0) -> bool:  # noqa: ASYNC109 - health checks need a deadline
        """True when the database answers within ``timeout`` seconds with our schema in place.

        It reads a table rather than ``SELECT 1``: SQLite answers ``SELECT 1`` from an open handle even
        when the file behind it is gone or corrupt.
        """
        try:
            async with asyncio.timeout(timeout), self.engine.connect() as connection:
                await connection.execute(text("SELECT version_num FROM alembic_version"))
        except Exception as error:  # noqa: BLE001 - any failure means "not healthy"; the log says why
            log.warning("database ping failed: %s", type(error).__name__)
            return False
        return True

    async def analyze(self, tables: Sequence[str]) -> None:
        """Refresh PostgreSQL's statistics of ``tables`` after a bulk write, before autovacuum would: a
        table it has never analysed is planned as if empty (an answer by person sorted its rows instead of
        hashing them, 26 ms against 15 at 5,000 people). SQLite's plans follow its keys: nothing to do."""
        if self.is_sqlite:
            return
        async with self.engine.begin() as connection:
            await connection.execute(text(f"ANALYZE {', '.join(tables)}"))

    async def upgrade(self, revision: str = "head") -> None:
        """Apply migrations up to ``revision``; on PostgreSQL under an advisory lock for replicas."""
        async with self.engine.begin() as connection:
            if not self.is_sqlite:
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_ID}
                )
            await connection.run_sync(_run_alembic_upgrade, revision)

    async def dispose(self) -> None:
        await self.engine.dispose()


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at our migrations; no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", async_url(url).replace("%", "%%"))
    return config


def _run_alembic_upgrade(connection: SyncConnection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def execute(session: AsyncSession, statement: Executable, params: Any = None) -> Result[Any]:
    """Run a Core statement (bulk insert, delete, insert-from-select) in the session's transaction.

    SQLModel's session wants ``exec`` for ORM selects and deprecates ``execute``; the connection's own
    ``execute`` is the supported path for everything else.
    """
    connection = await session.connection()
    return await connection.execute(statement, params)
