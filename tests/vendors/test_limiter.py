"""The sliding-log limiter: pure pacing with a fake clock, priorities and throughput in scaled real time."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.vendors.limiter import LimiterRegistry, RateLimiter, RatePolicy, interactive, is_interactive

from .fakes import FakeClock

MINUTE = timedelta(minutes=1)


def limiter(limit: int = 3, fallback: int | None = None, clock: FakeClock | None = None) -> RateLimiter:
    return RateLimiter(RatePolicy(limit, MINUTE, fallback), clock=clock or FakeClock())


def test_never_more_than_limit_starts_per_window_and_slot_frees_after_window_plus_margin() -> None:
    clock = FakeClock()
    rl = limiter(3, clock=clock)
    assert all(rl.try_take() is not None for _ in range(3))
    assert rl.try_take() is None
    assert rl.used_in_window() == 3
    # margin is 2% of the window: the slot frees at 60 + 1.2 s, not at 60 s
    assert rl.delay_until_free() == pytest.approx(61.2)
    clock.advance(60.5)
    assert rl.try_take() is None
    assert rl.used_in_window() == 0  # the vendor's own window has rolled; we still hold the margin
    clock.advance(0.7)
    assert rl.try_take() is not None
    assert rl.requests_total == 4


def test_margin_has_a_floor_of_a_few_milliseconds() -> None:
    clock = FakeClock()
    rl = RateLimiter(RatePolicy(1, timedelta(milliseconds=50)), clock=clock)
    rl.try_take()
    assert rl.delay_until_free() == pytest.approx(0.055)


def test_sliding_log_frees_slots_one_by_one_in_start_order() -> None:
    clock = FakeClock()
    rl = limiter(2, clock=clock)
    rl.try_take()
    clock.advance(10)
    rl.try_take()
    assert rl.delay_until_free() == pytest.approx(51.2)
    clock.advance(51.2)
    assert rl.try_take() is not None
    assert rl.delay_until_free() == pytest.approx(10)


def test_refund_gives_the_slot_back() -> None:
    rl = limiter(1)
    slot = rl.try_take()
    assert slot is not None
    assert rl.try_take() is None
    slot.refund()
    slot.refund()  # idempotent
    assert rl.refunded_total == 1
    assert rl.try_take() is not None


def test_penalize_with_retry_after_blocks_exactly_that_long() -> None:
    clock = FakeClock()
    rl = limiter(10, clock=clock)
    rl.penalize(7.0)
    assert rl.rate_limited_total == 1
    assert rl.blocked_for() == pytest.approx(7.0)
    assert rl.try_take() is None
    clock.advance(7.0)
    assert rl.try_take() is not None


def test_penalize_without_retry_after_waits_a_window_plus_up_to_ten_percent_jitter() -> None:
    waits = []
    for _ in range(50):
        clock = FakeClock()
        rl = limiter(10, clock=clock)
        rl.penalize(None)
        waits.append(rl.blocked_for())
    assert all(60.0 <= wait <= 66.0 for wait in waits)
    assert len(set(waits)) > 1  # jittered


def test_penalize_falls_back_to_the_older_limit_for_good() -> None:
    clock = FakeClock()
    rl = limiter(60, fallback=20, clock=clock)
    assert rl.current_limit == 60
    rl.penalize(0)
    assert rl.current_limit == 20
    assert rl.fell_back
    clock.advance(1000)
    rl.penalize(0)
    assert rl.current_limit == 20
    rl.reconfigure(RatePolicy(60, MINUTE, 20))
    assert rl.current_limit == 20  # a fallback taken stays taken


def test_remote_status_blocks_until_reset_when_nothing_remains_and_adopts_a_lower_limit() -> None:
    clock = FakeClock()
    rl = limiter(60, clock=clock)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    rl.note_remote_status(100, 5, now + timedelta(seconds=30), now=now)
    assert rl.current_limit == 60  # a higher header limit is not adopted
    assert rl.blocked_for() == 0
    rl.note_remote_status(40, 0, now + timedelta(seconds=30), now=now)
    assert rl.current_limit == 40
    assert 30 <= rl.blocked_for() <= 30.25
    rl.note_remote_status(50, 10, None, now=now)
    assert rl.current_limit == 50  # the plan grew again
    rl.note_remote_status(1000, 10, None, now=now)
    assert rl.current_limit == 60  # never above our own policy


def test_registry_shares_one_limiter_per_connection_and_class_and_scales_windows() -> None:
    registry = LimiterRegistry(time_scale=60)
    policy = RatePolicy(20, MINUTE)
    first = registry.get("42", "admin", policy)
    assert registry.get("42", "admin", policy) is first
    assert registry.get("43", "admin", policy) is not first
    assert registry.get("42", "usage_events", policy) is not first
    assert first.window_seconds == pytest.approx(1.0)
    assert registry.scaled(60) == pytest.approx(1.0)
    registry.get("42", "admin", RatePolicy(10, MINUTE))
    assert first.current_limit == 10
    registry.forget("42")
    assert ("42", "admin") not in registry.limiters()


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="at least one"):
        RatePolicy(0, MINUTE)
    with pytest.raises(ValueError, match="positive"):
        RatePolicy(1, timedelta(0))


def test_interactive_context_is_scoped() -> None:
    assert not is_interactive()
    with interactive():
        assert is_interactive()
    assert not is_interactive()


async def test_interactive_waiters_overtake_background_waiters_fifo_within_priority() -> None:
    registry = LimiterRegistry(time_scale=600)  # one slot per 0.1 s
    rl = registry.get("c", "admin", RatePolicy(1, MINUTE))
    order: list[str] = []

    async def call(name: str) -> None:
        await rl.take()
        order.append(name)

    async def person(name: str) -> None:
        with interactive():
            await call(name)

    first = asyncio.create_task(call("bg1"))
    await asyncio.sleep(0.01)
    background = [asyncio.create_task(call(f"bg{i}")) for i in (2, 3)]
    await asyncio.sleep(0.01)
    people = [asyncio.create_task(person(f"cmd{i}")) for i in (1, 2)]
    await asyncio.gather(first, *background, *people)
    assert order == ["bg1", "cmd1", "cmd2", "bg2", "bg3"]
    assert rl.waited_seconds_total > 0


async def test_background_borrows_the_whole_budget_when_nobody_waits() -> None:
    registry = LimiterRegistry(time_scale=60)
    rl = registry.get("c", "admin", RatePolicy(5, MINUTE))
    started = time.perf_counter()
    for _ in range(5):
        await rl.take()
    assert time.perf_counter() - started < 0.05


async def test_a_cancelled_waiter_leaves_the_queue_cleanly() -> None:
    registry = LimiterRegistry(time_scale=600)
    rl = registry.get("c", "admin", RatePolicy(1, MINUTE))
    await rl.take()
    doomed = asyncio.create_task(rl.take())
    await asyncio.sleep(0.01)
    survivor = asyncio.create_task(rl.take())
    await asyncio.sleep(0.01)
    doomed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await doomed
    slot = await asyncio.wait_for(survivor, 1.0)
    assert slot.waited > 0
    assert rl.waiting == 0


async def test_acquire_context_and_penalty_wake_waiters_in_scaled_time() -> None:
    registry = LimiterRegistry(time_scale=600)
    rl = registry.get("c", "admin", RatePolicy(100, MINUTE))
    rl.penalize(6.0)  # 6 s of vendor time = 10 ms here
    started = time.perf_counter()
    async with rl.acquire() as slot:
        assert slot.waited > 0
    assert 0.009 <= time.perf_counter() - started < 0.5


async def test_scaled_run_paces_at_the_documented_rate() -> None:
    """N requests at L per window take about (N/L - 1) windows when they start with a full budget: more
    than three windows here, never a fourth (a window long enough that a busy machine's timer jitter
    stays well inside that)."""
    registry = LimiterRegistry(time_scale=300)  # a minute is 0.2 s
    rl = registry.get("c", "usage_events", RatePolicy(10, MINUTE))
    starts: list[float] = []

    async def worker(count: int) -> None:
        for _ in range(count):
            await rl.take()
            starts.append(time.perf_counter())

    began = time.perf_counter()
    await asyncio.gather(*(worker(10) for _ in range(4)))
    elapsed = time.perf_counter() - began
    assert len(starts) == 40
    # never more than 10 starts within any 0.2 s
    starts.sort()
    assert all(later - earlier >= 0.2 for earlier, later in zip(starts, starts[10:], strict=False))
    assert 3 * 0.2 <= elapsed < 4 * 0.2
