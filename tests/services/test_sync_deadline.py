"""A sync given a deadline keeps it, even while another sync of the same connection holds it up."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bot.simulators.windsurf import WindsurfSimulator
from bot.vendors import DeadlineExceeded
from tests.services.conftest import TEAM

SLOW_ANSWER = 8.0  # wall seconds of the running sync's first answer: far beyond the deadline below
DEADLINE = timedelta(seconds=1)


async def test_a_live_fetch_waiting_on_a_running_sync_returns_at_its_deadline(
    windsurf_sim: WindsurfSimulator, make_services: Callable[..., Any]
) -> None:
    async with make_services(
        windsurf_service_key=windsurf_sim.service_key,
        windsurf_api_url=windsurf_sim.url,  # type: ignore[attr-defined]
    ) as services:
        connection = await services.connections.get(TEAM, "windsurf")
        assert connection is not None
        windsurf_sim.faults.slow(SLOW_ANSWER, times=1)
        full = asyncio.create_task(services.sync.sync(connection))
        while windsurf_sim.faults.active:
            await asyncio.sleep(0.01)  # until the full sync's first request is being answered, slowly

        live = await services.sync.sync_live(connection, within=DEADLINE)

        assert not live.ok
        assert [(result.dataset, result.error_kind) for result in live.results] == [
            ("credits", DeadlineExceeded.kind)
        ]
        # Not the running sync's report (which a caller without a deadline waits for and reuses).
        assert live.errors == ["credits: another sync of it was still running after 1 s"]
        report = await full
        assert report.ok, report.errors  # and the running sync was not disturbed
