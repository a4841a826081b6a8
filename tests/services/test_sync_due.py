"""When a connection's full sync is due: by its interval, and at once when the vendor answers again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.usage import Vendor
from bot.domain.vendors import traits
from bot.services.sync import full_sync_due
from bot.store.models import SyncState

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
CURSOR = traits(Vendor.CURSOR)


def _ok(dataset: str, at: datetime) -> SyncState:
    return SyncState(connection_id=1, dataset=dataset, last_attempt_at=at, last_success_at=at, data_as_of=at)


def _failed(dataset: str, at: datetime, error: str, times: int = 1) -> SyncState:
    return SyncState(
        connection_id=1, dataset=dataset, last_attempt_at=at, last_error=error, consecutive_failures=times
    )


def _synced(at: datetime) -> dict[str, SyncState]:
    return {name: _ok(name, at) for name in CURSOR.datasets}


def test_due_by_its_interval_and_when_a_dataset_was_never_tried() -> None:
    assert not full_sync_due(CURSOR, _synced(NOW - timedelta(minutes=59)), NOW, HOUR)
    assert full_sync_due(CURSOR, _synced(NOW - HOUR), NOW, HOUR)
    states = _synced(NOW - timedelta(minutes=5))
    del states["usage"]
    assert full_sync_due(CURSOR, states, NOW, HOUR)
    assert full_sync_due(CURSOR, {}, NOW, HOUR)


def test_the_probe_every_check_makes_does_not_date_the_full_sync() -> None:
    states = _synced(NOW - HOUR)
    states["probe"] = _ok("probe", NOW - timedelta(minutes=1))
    assert full_sync_due(CURSOR, states, NOW, HOUR)


def test_a_sync_stopped_by_the_vendor_runs_again_once_the_probe_answers() -> None:
    stopped_at = NOW - timedelta(minutes=20)
    states = _synced(NOW - timedelta(minutes=50))
    # The sync 20 minutes ago met a hang at its first full dataset; the others were not tried.
    states["members"] = _failed("members", stopped_at, "vendor unreachable: timed out after 3 attempts")
    states["probe"] = _failed("probe", NOW - timedelta(minutes=5), "vendor unreachable: HTTP 503", 4)
    assert not full_sync_due(CURSOR, states, NOW, HOUR)  # still failing: wait for the interval
    states["probe"] = _ok("probe", NOW - timedelta(minutes=1))
    assert full_sync_due(CURSOR, states, NOW, HOUR)  # answering again: catch up now


def test_an_endpoint_of_its_own_failing_does_not_resync_at_every_tick() -> None:
    states = _synced(NOW - timedelta(minutes=30))
    states["cycle_spend"] = _failed(
        "cycle_spend", NOW - timedelta(minutes=30), "key lacks a permission or plan: Enterprise only"
    )
    states["probe"] = _ok("probe", NOW - timedelta(minutes=1))
    assert not full_sync_due(CURSOR, states, NOW, HOUR)


def test_a_vendor_whose_datasets_are_all_live_is_dated_by_them() -> None:
    rest = traits(Vendor.REST)
    states = {name: _ok(name, NOW - timedelta(minutes=2)) for name in rest.datasets}
    assert not full_sync_due(rest, states, NOW, HOUR)
    assert full_sync_due(rest, states, NOW + HOUR, HOUR)
