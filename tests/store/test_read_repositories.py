"""The read repositories on both backends: cycle spend, credit snapshots, tracked figures, rate-limit
readings and members, each against a real database file (SQLite) or server (PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bot.store import credit_snapshots, cycle_spend, members, rate_limit_readings, tracked_figures
from bot.store.db import Database
from bot.store.models import (
    Connection,
    CreditSnapshot,
    CycleSpendRow,
    MemberRow,
    RateLimitReading,
    TrackedFigureRow,
    Workspace,
)

D = Decimal
NOW = datetime(2026, 11, 20, 15, 37, tzinfo=UTC)
OCTOBER = datetime(2026, 10, 5, tzinfo=UTC)
NOVEMBER = datetime(2026, 11, 5, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated database with workspace T1 and two connections (ids 1 and 2)."""
    db = Database(database_url)
    await db.upgrade()
    async with db.write() as session:
        session.add(Workspace(team_id="T1", installed_at=NOW))
        await session.flush()
        for name in ("cursor", "other"):
            session.add(
                Connection(team_id="T1", name=name, vendor="cursor", base_url="http://x", created_at=NOW)
            )
    try:
        yield db
    finally:
        await db.dispose()


def spend(cycle_start: datetime, email: str, total: str, name: str | None = None) -> CycleSpendRow:
    return CycleSpendRow(
        connection_id=1,
        cycle_start=cycle_start,
        cycle_end=cycle_start + timedelta(days=30),
        user_email=email,
        name=name,
        total=D(total),
        observed_at=NOW,
    )


async def test_cycle_spend_reads_the_newest_cycle(database: Database) -> None:
    async with database.session() as session:
        assert await cycle_spend.latest_cycle_start(session, 1) is None
        assert await cycle_spend.latest_cycle_total(session, 1) is None
        assert await cycle_spend.latest_cycle_rows(session, 1) == []
        assert await cycle_spend.latest_cycle_spend(session, 1) is None
    async with database.write() as session:
        session.add_all(
            [
                spend(OCTOBER, "a@x.com", "900"),
                spend(NOVEMBER, "a@x.com", "250", name="Ann"),
                spend(NOVEMBER, "b@x.com", "125.5"),
            ]
        )
    async with database.session() as session:
        assert await cycle_spend.latest_cycle_start(session, 1) == NOVEMBER
        assert await cycle_spend.latest_cycle_total(session, 1) == D("375.5")
        assert sorted(row.user_email for row in await cycle_spend.latest_cycle_rows(session, 1)) == [
            "a@x.com",
            "b@x.com",
        ]
        mine = await cycle_spend.latest_cycle_spend(session, 1, "a@x.com")
        assert mine is not None and (mine.cycle_start, mine.total, mine.name) == (NOVEMBER, D(250), "Ann")
        assert await cycle_spend.latest_cycle_spend(session, 2) is None


async def test_the_newest_credit_snapshot(database: Database) -> None:
    async with database.write() as session:
        for hours, remaining in ((2, "80"), (1, "60"), (3, "90")):
            session.add(
                CreditSnapshot(
                    connection_id=1,
                    observed_at=NOW - timedelta(hours=hours),
                    unit="credits",
                    size=D(100),
                    used=D(100) - D(remaining),
                    remaining=D(remaining),
                    pools=[{"name": "prompt", "size": "100", "used": "40"}],
                )
            )
    async with database.session() as session:
        latest = await credit_snapshots.latest_snapshot(session, 1)
        assert latest is not None and latest.remaining == D(60)
        assert latest.pools == [{"name": "prompt", "size": "100", "used": "40"}]
        assert await credit_snapshots.latest_snapshot(session, 2) is None


async def test_tracked_figures_newest_and_a_day_before(database: Database) -> None:
    async with database.write() as session:
        for hours, value in ((0, "10"), (5, "11"), (23, "12"), (30, "13")):
            session.add(
                TrackedFigureRow(connection_id=1, observed_at=NOW - timedelta(hours=hours), value=D(value))
            )
    async with database.session() as session:
        latest = await tracked_figures.latest_figure(session, 1)
        assert latest is not None and latest.value == D(10)
        day_ago = await tracked_figures.figure_at_or_before(
            session, 1, latest.observed_at - timedelta(hours=23)
        )
        assert day_ago is not None and day_ago.value == D(12)
        assert await tracked_figures.figure_at_or_before(session, 1, NOW - timedelta(days=3)) is None
        assert await tracked_figures.latest_figure(session, 2) is None


async def test_rate_limit_readings_by_scope(database: Database) -> None:
    async with database.write() as session:
        for scope in ("usage", "admin"):
            session.add(
                RateLimitReading(connection_id=1, scope=scope, limit=20, remaining=5, observed_at=NOW)
            )
        session.add(RateLimitReading(connection_id=2, scope="other", observed_at=NOW))
    async with database.session() as session:
        assert [row.scope for row in await rate_limit_readings.readings(session, 1)] == ["admin", "usage"]


async def test_members_and_their_display_names(database: Database) -> None:
    async with database.write() as session:
        session.add_all(
            [
                MemberRow(connection_id=1, email="a@x.com", name="Ann", seen_at=NOW),
                MemberRow(connection_id=1, email="b@x.com", name=None, seen_at=NOW),
                MemberRow(connection_id=2, email="c@x.com", name="Cy", seen_at=NOW),
            ]
        )
    async with database.session() as session:
        found = await members.member(session, 1, "a@x.com")
        assert found is not None and found.name == "Ann"
        assert await members.member(session, 2, "a@x.com") is None
        names = await members.display_names(session, [1, 2], ["a@x.com", "b@x.com", "c@x.com", "d@x.com"])
        assert names == {"a@x.com": "Ann", "c@x.com": "Cy"}
        assert await members.display_names(session, [1], []) == {}
        assert await members.display_names(session, [], ["a@x.com"]) == {}
