"""An alert's state row is created once: a replica's concurrent insert is read back, a broken table
fails once.

The database itself plays the other party: a second connection inserts the row between our read and
our insert (what another replica checking at the same moment does), or a trigger makes every insert
into ``alert_states`` fail (a table the bot cannot write).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import select

from bot.domain.commands import SubscribeCreditLow
from bot.store.models import AlertStateRow
from tests.scheduling.conftest import ADMIN, TEAM, Rig

RACE_ID = 1000  # the id the other replica's row gets, so the test can tell whose row was used


@contextmanager
def _inserts_counted(rig: Rig) -> Iterator[list[str]]:
    """The INSERT statements into ``alert_states`` the bot sends while the block runs."""
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO ALERT_STATES"):
            seen.append(statement)

    engine = rig.services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


async def _subscribe_low_credits(rig: Rig) -> None:
    await rig.services.subscriptions.subscribe(
        TEAM, "C1", ADMIN, SubscribeCreditLow(below_amount=Decimal(500))
    )
    rig.rest.set_credits(Decimal(400))  # below the threshold: the check reads a breach


async def _states(rig: Rig) -> list[AlertStateRow]:
    async with rig.services.db.session() as session:
        return list((await session.exec(select(AlertStateRow))).all())


async def test_a_concurrent_insert_by_another_replica_resolves_to_its_row(rig: Rig) -> None:
    await _subscribe_low_credits(rig)
    database = rig.settings.database_url.removeprefix("sqlite:///")
    raced: list[int] = []

    def other_replica(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        # Right after our lookup found nothing, the other replica creates the same alert's row.
        if raced or "FROM alert_states" not in statement or not statement.lstrip().startswith("SELECT"):
            return
        subscription_id, metric, threshold, cycle = parameters[:4]
        with sqlite3.connect(database) as other:
            other.execute(
                "INSERT INTO alert_states (id, subscription_id, metric, threshold, cycle, status, notified,"
                " episode, reminders, muted_until_resolved) VALUES (?, ?, ?, ?, ?, 'ok', 0, 0, 0, 0)",
                (RACE_ID, subscription_id, metric, threshold, cycle),
            )
        raced.append(RACE_ID)

    engine = rig.services.db.engine.sync_engine
    event.listen(engine, "after_cursor_execute", other_replica)
    try:
        with _inserts_counted(rig) as inserts:
            await rig.services.publisher.check_alerts()
    finally:
        event.remove(engine, "after_cursor_execute", other_replica)

    assert raced == [RACE_ID]
    assert len(inserts) == 1  # ours, which met the other replica's row
    (state,) = await _states(rig)
    assert state.id == RACE_ID and state.status == "firing"  # the existing row carried the alert on
    (alert,) = rig.top_level("C1")
    assert "tracked figure low" in alert.text


@pytest.mark.parametrize(
    ("body", "error", "attempts"),
    [
        # A constraint that always fails looks like the race at first: one more read and insert, then out.
        ("SELECT RAISE(ABORT, 'alert_states is read-only here')", IntegrityError, 2),
        # Any other failure is not a race: raised at once.
        ("INSERT INTO dropped_table VALUES (1)", OperationalError, 1),
    ],
    ids=["integrity", "operational"],
)
async def test_a_persistent_insert_failure_is_raised_once_without_recursion(
    rig: Rig, body: str, error: type[Exception], attempts: int
) -> None:
    await _subscribe_low_credits(rig)
    async with rig.services.db.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE dropped_table (x INTEGER)"))
        await connection.execute(
            text(f"CREATE TRIGGER refuse_alert_states BEFORE INSERT ON alert_states BEGIN {body}; END")
        )
        await connection.execute(text("DROP TABLE dropped_table"))
    rest = await rig.services.connections.get(TEAM, "rest")
    assert rest is not None
    await rig.services.sync.sync_live(rest)  # the figure the alert reads
    with _inserts_counted(rig) as inserts, pytest.raises(error) as raised:
        await rig.services.alerts.check_team(TEAM)
    assert not isinstance(raised.value.__context__, RecursionError)
    assert len(inserts) == attempts
    assert await _states(rig) == []
