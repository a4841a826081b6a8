"""Alert states: one row per key (cut to the columns' widths), changes in one transaction, scoped buttons,
the open alerts of a workspace, and the tracked-figure peak a percent line is measured against."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError

from bot.store.alerts import KEY_WIDTH, METRIC_WIDTH, state_key
from bot.store.db import Database
from bot.store.models import AlertStateRow, TrackedFigureRow
from bot.store.repositories import Repositories
from tests.store.rows import NOW, connection, subscription, workspace


def _new(subscription_id: int, metric: str, threshold: str, cycle: str = "-") -> Callable[[], AlertStateRow]:
    """What the service builds for a new state: the key cut to the columns' widths."""

    def build() -> AlertStateRow:
        cut_metric, cut_threshold, cut_cycle = state_key(metric, threshold, cycle)
        return AlertStateRow(
            subscription_id=subscription_id,
            metric=cut_metric,
            threshold=cut_threshold,
            cycle=cut_cycle,
            updated_at=NOW,
        )

    return build


async def test_a_state_is_created_once_and_found_again_by_its_cut_key(
    database: Database, store: Repositories
) -> None:
    await workspace(database)
    owner = await subscription(database, kind="credit-low")
    assert owner.id is not None
    metric, threshold = "m" * (METRIC_WIDTH + 5), "t" * (KEY_WIDTH + 5)
    first = await store.alerts.state_for(owner.id, metric, threshold, "-", _new(owner.id, metric, threshold))
    again = await store.alerts.state_for(owner.id, metric, threshold, "-", _new(owner.id, metric, threshold))
    assert first.id is not None and again.id == first.id
    assert (len(again.metric), len(again.threshold)) == (METRIC_WIDTH, KEY_WIDTH)


async def test_an_insert_that_keeps_failing_is_raised_after_one_retry(
    database: Database, store: Repositories
) -> None:
    await workspace(database)
    owner = await subscription(database, kind="credit-low")
    assert owner.id is not None
    built: list[AlertStateRow] = []

    def clashing() -> AlertStateRow:  # a row under another key that already exists: every insert fails
        row = AlertStateRow(id=taken.id, subscription_id=owner.id or 0, metric="x", threshold="y", cycle="z")
        built.append(row)
        return row

    taken = await store.alerts.state_for(owner.id, "x", "y", "z", _new(owner.id, "x", "y", "z"))
    with pytest.raises(IntegrityError):
        await store.alerts.state_for(owner.id, "other", "y", "z", clashing)
    assert len(built) == 2


async def test_updates_apply_to_the_stored_row_and_skip_a_gone_one(
    database: Database, store: Repositories
) -> None:
    await workspace(database)
    owner = await subscription(database, kind="credit-low")
    assert owner.id is not None
    row = await store.alerts.state_for(owner.id, "m", "t", "c", _new(owner.id, "m", "t", "c"))

    def firing(stored: AlertStateRow) -> None:
        stored.status = "firing"
        stored.fired_at = NOW

    await store.alerts.update(row.id, firing)
    await store.alerts.update(row.id and row.id + 100, firing)  # gone: nothing happens
    ((_, state),) = await store.alerts.firing_of_team("T1")
    assert (state.id, state.fired_at) == (row.id, NOW)


async def test_a_button_changes_only_a_state_of_its_own_workspace(
    database: Database, store: Repositories
) -> None:
    await workspace(database, "T1")
    await workspace(database, "T2")
    owner = await subscription(database, "T1", kind="credit-low")
    assert owner.id is not None
    row = await store.alerts.state_for(owner.id, "m", "t", "c", _new(owner.id, "m", "t", "c"))
    assert row.id is not None

    def muted(stored: AlertStateRow) -> None:
        stored.muted_until_resolved = True

    assert not await store.alerts.change_of_team(row.id, "T2", muted)
    assert not await store.alerts.change_of_team(row.id + 100, "T1", muted)
    assert await store.alerts.change_of_team(row.id, "T1", muted)
    again = await store.alerts.state_for(owner.id, "m", "t", "c", _new(owner.id, "m", "t", "c"))
    assert again.muted_until_resolved


async def test_the_tracked_peak_is_the_highest_reading_since_the_start(
    database: Database, store: Repositories
) -> None:
    await workspace(database)
    rest = await connection(database, name="rest")
    async with database.write() as session:
        for days_ago, value in ((40, "900"), (3, "700"), (1, "650")):
            session.add(
                TrackedFigureRow(
                    connection_id=rest.id, observed_at=NOW - timedelta(days=days_ago), value=Decimal(value)
                )
            )
    assert await store.alerts.tracked_peak(rest.id, NOW - timedelta(days=10)) == Decimal(700)
    assert await store.alerts.tracked_peak(rest.id, NOW + timedelta(days=1)) == Decimal(0)
