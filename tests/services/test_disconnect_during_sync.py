"""Disconnecting a connection while its first sync runs: the sync stops quietly and leaves nothing behind."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import SecretStr
from sqlmodel import SQLModel, func, select

from bot.domain.usage import Vendor
from bot.services.connect import ConnectForm
from bot.services.container import Services
from bot.simulators.cursor import CursorSimulator
from bot.store.models import SyncState
from tests.services.conftest import TEAM

EVENTS_PATH = "/teams/filtered-usage-events"
ADMIN = "UADMIN01"
NAME = "team-cursor"


async def _rows_of(services: Services, connection_id: int) -> dict[str, int]:
    """Rows naming ``connection_id`` in every table that has a ``connection_id`` column."""
    counts: dict[str, int] = {}
    async with services.db.session() as session:
        for table in SQLModel.metadata.sorted_tables:
            if "connection_id" in table.c:
                query = select(func.count()).select_from(table).where(table.c.connection_id == connection_id)
                found = (await session.exec(query)).one()
                if found:
                    counts[table.name] = found
    return counts


async def _backfill_underway(services: Services, connection_id: int) -> None:
    """Until the first usage window is in the store (the backfill has more to go)."""
    while True:
        async with services.db.session() as session:
            state = await session.get(SyncState, (connection_id, "usage"))
        if state is not None and state.covered_from is not None:
            return
        await asyncio.sleep(0.05)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None: the services' own SQLite file; else a PostgreSQL database of this test's own."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("pg_url")
    return url


async def test_disconnect_during_the_first_sync_stops_it_cleanly(
    database_url: str | None,
    cursor_sim: CursorSimulator,
    make_services: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    cursor_sim.faults.slow(0.2, times=None, path=EVENTS_PATH)  # a slow vendor: the backfill takes a while
    async with make_services(database_url=database_url) as services:
        services.sync._window_target = 400  # small windows, so there are many writes to come
        admin = services.connection_admin
        form = ConnectForm(
            vendor=Vendor.CURSOR,
            name=NAME,
            base_url=cursor_sim.url,  # type: ignore[attr-defined]
            key=SecretStr(cursor_sim.api_key),
        )
        added = await admin.validate_and_add(TEAM, ADMIN, form)
        assert added.connection is not None and added.connection.id is not None
        connection_id = added.connection.id
        await asyncio.wait_for(_backfill_underway(services, connection_id), timeout=60)

        await admin.remove(TEAM, ADMIN, NAME)
        await asyncio.wait_for(admin.first_syncs_done(), timeout=60)  # the sync ends

        assert await _rows_of(services, connection_id) == {}
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == [], [record.getMessage() for record in errors]
    assert any(
        record.levelno == logging.INFO and "removed while it synced" in record.getMessage()
        for record in caplog.records
    ), [record.getMessage() for record in caplog.records]
