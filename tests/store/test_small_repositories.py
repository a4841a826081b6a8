"""Audit entries, confirmation uses, chart files, and the retention pass over all of history."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlmodel import select

from bot.store.db import Database
from bot.store.models import AuditEntry, ChartFile, ConfirmationUse, CreditSnapshot, TrackedFigureRow
from bot.store.repositories import Repositories
from tests.store.rows import NOW, connection, delivery, workspace


async def test_audit_entries_are_read_per_workspace_newest_first(
    database: Database, store: Repositories
) -> None:
    def entry(team_id: str, minutes: int) -> AuditEntry:
        return AuditEntry(
            team_id=team_id, action=f"a{minutes}", outcome="ok", created_at=NOW + timedelta(minutes=minutes)
        )

    await store.audit.record(entry("T1", 0))
    async with database.write() as session:
        store.audit.add(session, entry("T1", 2))
        store.audit.add(session, entry("T2", 3))
    await store.audit.record(entry("T1", 1))
    assert [row.action for row in await store.audit.recent("T1", 10)] == ["a2", "a1", "a0"]
    assert [row.action for row in await store.audit.recent("T1", 1)] == ["a2"]


async def test_a_confirmation_is_claimed_once_until_released(store: Repositories) -> None:
    def use(user_id: str) -> ConfirmationUse:
        return ConfirmationUse(token="t" * 32, team_id="T1", user_id=user_id, action="set-limit", used_at=NOW)

    assert await store.confirmations.claim(use("U1"))
    assert not await store.confirmations.claim(use("U2"))
    await store.confirmations.release("t" * 32)
    assert await store.confirmations.claim(use("U2"))


async def test_a_chart_file_is_remembered_once(store: Repositories) -> None:
    assert await store.charts.file_id("T1", "k") is None
    assert await store.charts.remember(ChartFile(team_id="T1", chart_key="k", file_id="F1", created_at=NOW))
    assert not await store.charts.remember(
        ChartFile(team_id="T1", chart_key="k", file_id="F2", created_at=NOW)
    )
    assert await store.charts.file_id("T1", "k") == "F1"


async def test_retention_drops_old_history_but_keeps_unsettled_posts(
    database: Database, store: Repositories
) -> None:
    await workspace(database)
    row = await connection(database)
    assert row.id is not None
    old = NOW - timedelta(days=100)
    async with database.write() as session:
        session.add(TrackedFigureRow(connection_id=row.id, observed_at=old, value=Decimal(1)))
        session.add(TrackedFigureRow(connection_id=row.id, observed_at=NOW, value=Decimal(2)))
        session.add(
            CreditSnapshot(
                connection_id=row.id,
                observed_at=old,
                unit="credits",
                size=Decimal(1),
                used=Decimal(0),
                remaining=Decimal(1),
            )
        )
        session.add(
            ChartFile(team_id="T1", chart_key="old", file_id="F1", created_at=NOW - timedelta(days=3))
        )
        session.add(ChartFile(team_id="T1", chart_key="new", file_id="F2", created_at=NOW))
    for key, state in (("sent", "sent"), ("posting", "posting")):
        await store.deliveries.claim(delivery(key, state=state, created_at=old))
    await store.retention.purge(
        NOW - timedelta(days=90), unsettled="posting", charts_before=NOW - timedelta(days=2)
    )
    async with database.session() as session:
        figures = (await session.exec(select(TrackedFigureRow.value))).all()
        snapshots = (await session.exec(select(CreditSnapshot))).all()
        charts = (await session.exec(select(ChartFile.chart_key))).all()
    assert (list(figures), list(snapshots), list(charts)) == ([Decimal(2)], [], ["new"])
    assert await store.deliveries.by_key("sent") is None
    assert await store.deliveries.by_key("posting") is not None
