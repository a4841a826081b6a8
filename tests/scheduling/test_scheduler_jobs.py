"""The scheduler's job wrapper: a failing job is logged and counted, never raised; every run is counted."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.metrics import Metrics
from bot.scheduler import _logged


async def test_each_run_of_a_job_is_counted_by_outcome_and_a_failure_does_not_escape(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()
    runs: list[str] = []

    async def fine() -> None:
        runs.append("fine")

    async def broken() -> None:
        raise RuntimeError("the database went away")

    await _logged("digests", fine, metrics)()
    await _logged("digests", fine, metrics)()
    await _logged("checks", broken, metrics)()
    text = metrics.render().decode()
    assert 'spendbot_scheduled_jobs_total{job="digests",outcome="ok"} 2.0' in text
    assert 'spendbot_scheduled_jobs_total{job="checks",outcome="failed"} 1.0' in text
    assert runs == ["fine", "fine"]
    assert "scheduled job checks failed; it will run again at its next tick" in caplog.text


async def test_a_job_cancelled_by_the_shutdown_is_logged_at_info_without_a_trace(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()
    started = asyncio.Event()

    async def long_fan_out() -> None:
        started.set()
        await asyncio.sleep(60)

    caplog.set_level(logging.INFO)
    task = asyncio.ensure_future(_logged("digests", long_fan_out, metrics)())
    await started.wait()
    task.cancel()
    await asyncio.wait_for(task, timeout=5)  # ends promptly, without raising into the executor
    (record,) = [r for r in caplog.records if "digests" in r.getMessage()]
    assert record.levelno == logging.INFO and record.exc_info is None
    assert "stopped by the shutdown" in record.getMessage()
