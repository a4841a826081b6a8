"""Subscriptions: scoped reads, the digest schedule's compare-and-set, and the alerts that are firing."""

from __future__ import annotations

from datetime import timedelta

from bot.store.db import Database
from bot.store.models import AlertStateRow
from bot.store.repositories import Repositories
from tests.store.rows import NOW, subscription, workspace


async def test_reads_are_scoped_to_a_workspace_channel_and_kind(
    database: Database, store: Repositories
) -> None:
    await workspace(database, "T1")
    await workspace(database, "T2")
    budget = await subscription(database, "T1", channel_id="C1", kind="budget")
    digest = await subscription(database, "T1", channel_id="C0", kind="digest")
    await subscription(database, "T2", channel_id="C1", kind="budget")
    subscriptions = store.subscriptions
    assert [row.id for row in await subscriptions.of_kind("T1", "C1", "budget")] == [budget.id]
    assert [row.id for row in await subscriptions.for_team("T1")] == [budget.id, digest.id]
    assert [row.id for row in await subscriptions.for_team("T1", "C0")] == [digest.id]
    assert [row.id for row in await subscriptions.by_channel("T1", 10)] == [digest.id, budget.id]
    assert [row.id for row in await subscriptions.alerts_of_team("T1")] == [budget.id]
    assert sorted(await subscriptions.teams_with_alerts()) == ["T1", "T2"]
    assert budget.id is not None
    found = await subscriptions.by_id(budget.id)
    assert found is not None and found.team_id == "T1"


async def test_a_digest_s_next_due_time_moves_once_from_the_time_read(
    database: Database, store: Repositories
) -> None:
    await workspace(database)
    due = await subscription(database, kind="digest", next_due_at=NOW)
    await subscription(database, kind="digest", next_due_at=NOW, paused_reason="archived")
    await subscription(database, kind="digest", next_due_at=NOW + timedelta(hours=1))
    assert [row.id for row in await store.subscriptions.due_digests(NOW)] == [due.id]
    assert due.id is not None
    tomorrow = NOW + timedelta(days=1)
    assert await store.subscriptions.move_next_due(due.id, tomorrow, previous=NOW)
    assert not await store.subscriptions.move_next_due(due.id, tomorrow + timedelta(days=1), previous=NOW)
    assert await store.subscriptions.due_digests(NOW) == []


async def test_firing_alerts_join_their_subscription_in_the_workspace(
    database: Database, store: Repositories
) -> None:
    await workspace(database, "T1")
    await workspace(database, "T2")
    ours = await subscription(database, "T1", channel_id="C1")
    theirs = await subscription(database, "T2", channel_id="C9")
    async with database.write() as session:
        for row, status in ((ours, "firing"), (ours, "ok"), (theirs, "firing")):
            assert row.id is not None
            session.add(
                AlertStateRow(
                    subscription_id=row.id,
                    metric=f"spend-{status}",
                    threshold="80",
                    cycle="2026-11",
                    status=status,
                    fired_at=NOW,
                )
            )
    (alert,) = await store.subscriptions.firing_alerts("T1", 10)
    assert (alert.subscription_id, alert.alert_channel_id, alert.subscription_channel_id) == (
        ours.id,
        None,
        "C1",
    )
    assert (alert.kind, alert.metric, alert.fired_at, alert.muted_until_resolved) == (
        "budget",
        "spend-firing",
        NOW,
        False,
    )
    async with database.write() as session:
        assert ours.id is not None
        states = await store.subscriptions.alert_states(session, ours.id)
    assert sorted(state.status for state in states) == ["firing", "ok"]
