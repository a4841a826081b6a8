"""The store on both backends: migrations, the column types' invariants, and health."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, text
from sqlmodel import SQLModel, select

from bot.services.confirmations import AlreadyConfirmed, Confirmations, new_token
from bot.settings import Settings
from bot.store.confirmations import ConfirmationRepository
from bot.store.db import Database, async_url
from bot.store.models import ConfirmationUse, Connection, MemberRow, UsageDay, Workspace
from tests.conftest import drop_database
from tests.support.bot import BotThread


def test_plain_urls_map_to_the_async_drivers() -> None:
    assert async_url("sqlite:///data/x.db") == "sqlite+aiosqlite:///data/x.db"
    assert async_url("postgresql://u:p@h:5432/d") == "postgresql+asyncpg://u:p@h:5432/d"
    assert async_url("postgres://h/d") == "postgresql+asyncpg://h/d"
    assert async_url("postgresql+psycopg://h/d") == "postgresql+psycopg://h/d"


async def test_migrations_match_the_models_and_run_twice(database_url: str) -> None:
    database = Database(database_url)
    try:
        await database.upgrade()
        await database.upgrade()
        async with database.engine.connect() as connection:

            def differences(sync_connection: object) -> list[object]:
                context = MigrationContext.configure(sync_connection, opts={"compare_type": True})  # type: ignore[arg-type]
                return list(compare_metadata(context, SQLModel.metadata))

            assert await connection.run_sync(differences) == []
        assert await database.ping()
    finally:
        await database.dispose()


async def test_upgrading_a_0001_database_adds_confirmation_uses_and_keeps_the_data(database_url: str) -> None:
    database = Database(database_url)
    try:
        await database.upgrade("0001")
        async with database.write() as session:
            session.add(Workspace(team_id="T1", installed_at=datetime(2026, 3, 1, tzinfo=UTC)))
        await database.upgrade()
        async with database.session() as session:
            assert [row.team_id for row in (await session.exec(select(Workspace))).all()] == ["T1"]
            version = (await session.exec(text("SELECT version_num FROM alembic_version"))).one()  # type: ignore[call-overload]
        assert version[0] == "0009"
        confirmations = Confirmations(
            ConfirmationRepository(database), clock=lambda: datetime(2026, 3, 2, tzinfo=UTC)
        )
        token = new_token()
        await confirmations.claim(token, "T1", "U1", "set-limit")
        with pytest.raises(AlreadyConfirmed):
            await confirmations.claim(token, "T1", "U2", "set-limit")
        await confirmations.release(token)
        await confirmations.claim(token, "T1", "U2", "set-limit")  # released: usable again
        async with database.session() as session:
            (use,) = (await session.exec(select(ConfirmationUse))).all()
        assert (use.user_id, use.used_at) == ("U2", datetime(2026, 3, 2, tzinfo=UTC))
    finally:
        await database.dispose()


async def test_upgrading_a_0002_database_adds_tokens_and_keeps_the_usage_rows(database_url: str) -> None:
    database = Database(database_url)
    try:
        await database.upgrade("0002")
        at = datetime(2026, 3, 1, tzinfo=UTC)
        async with database.write() as session:
            session.add(Workspace(team_id="T1", installed_at=at))
            await session.flush()
            session.add(
                Connection(id=1, team_id="T1", name="openai", vendor="openai", base_url="x", created_at=at)
            )
            await session.flush()
            # The 0002 schema has no tokens column yet: the row is written as 0002 wrote it.
            insert = (
                "INSERT INTO usage_days (connection_id, day, user_email, model, amount, requests) "
                "VALUES (1, '2026-03-01', 'a@x.com', 'gpt', 1500000, 3000000)"
            )
            await session.exec(text(insert))  # type: ignore[call-overload]
        await database.upgrade()
        async with database.write() as session:
            (old,) = (await session.exec(select(UsageDay))).all()
            assert (old.amount, old.requests, old.tokens) == (Decimal("1.5"), Decimal(3), 0)
            session.add(
                UsageDay(connection_id=1, day=old.day, user_email="b@x.com", model="gpt", tokens=10**12)
            )
        async with database.session() as session:
            total = (await session.exec(select(func.sum(UsageDay.tokens)))).one()  # type: ignore[call-overload]
        assert total == 10**12
        async with database.write() as session:  # and a member keeps when the vendor last saw them
            seen = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
            session.add(MemberRow(connection_id=1, email="a@x.com", seen_at=at, last_active_at=seen))
        async with database.session() as session:
            (member,) = (await session.exec(select(MemberRow))).all()
        assert member.last_active_at == seen
    finally:
        await database.dispose()


async def test_concurrent_claims_of_one_confirmation_let_exactly_one_through(database_url: str) -> None:
    database = Database(database_url)
    try:
        await database.upgrade()
        confirmations = Confirmations(ConfirmationRepository(database), clock=lambda: datetime.now(UTC))
        token = new_token()

        async def click(index: int) -> bool:
            try:
                await confirmations.claim(token, "T1", f"U{index}", "disconnect")
            except AlreadyConfirmed:
                return False
            return True

        outcomes = await asyncio.gather(*(click(index) for index in range(8)))
        assert sorted(outcomes) == [False] * 7 + [True]
    finally:
        await database.dispose()


async def test_times_come_back_aware_utc_and_amounts_exact(database_url: str) -> None:
    database = Database(database_url)
    try:
        await database.upgrade()
        paris = timezone(timedelta(hours=1))
        async with database.write() as session:
            session.add(Workspace(team_id="T1", installed_at=datetime(2026, 3, 1, 12, 0, tzinfo=paris)))
            await session.flush()  # no relationship() here, so the parent row must exist first
            session.add(
                Connection(
                    team_id="T1",
                    name="cursor",
                    vendor="cursor",
                    base_url="http://x",
                    created_at=datetime.now(UTC),
                )
            )
        async with database.session() as session:
            workspace = (await session.exec(select(Workspace))).one()
            connection = (await session.exec(select(Connection))).one()
        assert workspace.installed_at == datetime(2026, 3, 1, 11, 0, tzinfo=UTC)
        assert workspace.installed_at.tzinfo is UTC
        assert connection.id is not None
        amounts = [Decimal("2450.125487"), Decimal("0.000001"), Decimal("1234567890.5")]
        async with database.write() as session:
            for index, amount in enumerate(amounts):
                session.add(
                    UsageDay(
                        connection_id=connection.id,
                        day=datetime(2026, 3, 1 + index, tzinfo=UTC).date(),
                        user_email="ana@example.com",
                        model="gpt-5",
                        amount=amount,
                        requests=Decimal(1),
                    )
                )
        async with database.session() as session:
            total = (await session.exec(select(func.sum(UsageDay.amount)))).one()
            rows = (await session.exec(select(UsageDay).order_by(UsageDay.day))).all()
        assert total == sum(amounts)
        assert [row.amount for row in rows] == amounts
    finally:
        await database.dispose()


async def test_naive_datetimes_are_refused(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'naive.db'}")
    try:
        await database.upgrade()
        with pytest.raises(Exception, match="naive datetime"):
            async with database.write() as session:
                session.add(Workspace(team_id="T1", installed_at=datetime(2026, 1, 1)))  # noqa: DTZ001
    finally:
        await database.dispose()


async def test_sqlite_runs_with_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'pragmas.db'}")
    try:
        async with database.engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() == 30000
    finally:
        await database.dispose()


async def test_deleting_a_workspace_cascades_to_its_connections(database_url: str) -> None:
    database = Database(database_url)
    try:
        await database.upgrade()
        now = datetime.now(UTC)
        async with database.write() as session:
            session.add(Workspace(team_id="T9", installed_at=now))
            await session.flush()
            session.add(
                Connection(team_id="T9", name="c", vendor="cursor", base_url="http://x", created_at=now)
            )
        async with database.write() as session:
            await session.exec(text("DELETE FROM workspaces WHERE team_id = 'T9'"))  # type: ignore[call-overload]
        async with database.session() as session:
            assert (await session.exec(select(Connection))).all() == []
    finally:
        await database.dispose()


async def test_concurrent_writers_on_sqlite_wait_instead_of_failing(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'busy.db'}")
    try:
        await database.upgrade()
        now = datetime.now(UTC)

        async def writer(index: int) -> None:
            async with database.write() as session:
                existing = (await session.exec(select(func.count()).select_from(Workspace))).one()
                await asyncio.sleep(0.01)
                session.add(Workspace(team_id=f"T{index:03d}-{existing}", installed_at=now))

        await asyncio.gather(*(writer(index) for index in range(20)))
        async with database.session() as session:
            assert (await session.exec(select(func.count()).select_from(Workspace))).one() == 20
    finally:
        await database.dispose()


async def test_health_is_503_when_the_postgres_database_is_gone(
    pg_url: str, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(database_url=pg_url, secret_key="pNBfRnUK5Wx8ggN9Vm3Xm2cGMZ3vT0zJbU4xq6X1uJk=")
    with BotThread(settings) as bot:
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{bot.url}/healthz")).status_code == 200
            await drop_database(pg_url)
            response = await client.get(f"{bot.url}/healthz")
        assert response.status_code == 503
        assert response.json() == {"status": "unavailable", "database": "unreachable"}
