"""Which time ranges a Cursor usage sync fetches, and what each window it writes proves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.services.sync import CURSOR_LOOKBACK, DEFAULT_BACKFILL, plan_usage_sync
from bot.store.models import SyncState

NOW = datetime(2026, 11, 20, 15, 37, tzinfo=UTC)
END = datetime(2026, 11, 20, 15, 45, tzinfo=UTC)  # the end of the current quarter hour
FAR = datetime(2026, 9, 19, 15, 30, tzinfo=UTC)  # NOW - DEFAULT_BACKFILL, floored to a quarter


def _state(**fields: datetime | None) -> SyncState:
    return SyncState(connection_id=1, dataset="usage", **fields)


def test_the_first_sync_walks_back_the_default_backfill() -> None:
    plan = plan_usage_sync(NOW, None, None)
    assert NOW - DEFAULT_BACKFILL - timedelta(minutes=7) == FAR
    assert (plan.end, plan.target, plan.fresh_start) == (END, FAR, True)
    assert plan.ranges == ((FAR, END),)
    assert plan.span == END - FAR


def test_an_explicit_backfill_starts_afresh_whatever_the_state() -> None:
    state = _state(watermark=NOW - timedelta(hours=1), covered_from=FAR, target_from=FAR)
    plan = plan_usage_sync(NOW, state, timedelta(days=3))
    start = datetime(2026, 11, 17, 15, 30, tzinfo=UTC)
    assert (plan.target, plan.fresh_start, plan.ranges) == (start, True, ((start, END),))


def test_a_later_sync_refetches_from_the_watermark_minus_the_lookback() -> None:
    watermark = datetime(2026, 11, 20, 12, 5, tzinfo=UTC)
    plan = plan_usage_sync(NOW, _state(watermark=watermark, covered_from=FAR, target_from=FAR), None)
    assert plan.fresh_start is False
    assert plan.ranges == ((datetime(2026, 11, 20, 9, 0, tzinfo=UTC), END),)
    assert watermark - CURSOR_LOOKBACK == datetime(2026, 11, 20, 9, 5, tzinfo=UTC)


def test_a_watermark_in_the_future_counts_as_now() -> None:
    plan = plan_usage_sync(NOW, _state(watermark=NOW + timedelta(days=1), covered_from=FAR), None)
    assert plan.ranges[0][0] == datetime(2026, 11, 20, 12, 30, tzinfo=UTC)


def test_a_later_sync_resumes_an_unfinished_backfill() -> None:
    covered = datetime(2026, 10, 1, tzinfo=UTC)
    watermark = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    plan = plan_usage_sync(NOW, _state(watermark=watermark, covered_from=covered), None)
    assert plan.target == FAR  # no stored target: the default backfill
    assert plan.ranges == ((datetime(2026, 11, 20, 12, 0, tzinfo=UTC), END), (FAR, covered))


def test_only_windows_that_extend_the_history_prove_coverage() -> None:
    start = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    covered = datetime(2026, 10, 1, tzinfo=UTC)
    later = plan_usage_sync(NOW, _state(watermark=NOW, covered_from=covered, target_from=FAR), None)
    assert later.coverage(0, start, newest=True) is None  # a re-fetch of recent data
    assert later.coverage(1, FAR, newest=True) == (FAR, FAR, None)
    first = plan_usage_sync(NOW, None, None)
    assert first.coverage(0, start, newest=True) == (start, FAR, END)
    assert first.coverage(0, FAR, newest=False) == (FAR, FAR, None)
