"""A digest fan-out posts to many channels at once (Slack's round trips overlap), still once per channel,
and one digest that fails does not hold back the others."""

from __future__ import annotations

import time as timer
from datetime import UTC, datetime, time

import pytest

from bot.domain.commands import SubscribeDigest
from bot.services.digest import BuiltDigest, DigestOptions
from tests.scheduling.conftest import ADMIN, TEAM, Rig

EVERY_DAY = frozenset(range(7))


async def _subscribe(rig: Rig, channels: list[str]) -> None:
    rig.clock.set(datetime(2026, 11, 20, 7, 0, tzinfo=UTC))
    for channel in channels:
        rig.fake.add_channel(channel)
        await rig.services.subscriptions.subscribe(
            TEAM, channel, ADMIN, SubscribeDigest(at=time(8, 0), tz="UTC", weekdays=EVERY_DAY)
        )
    rig.clock.set(datetime(2026, 11, 20, 8, 1, tzinfo=UTC))


async def test_a_fan_out_overlaps_slacks_round_trips_and_posts_once_per_channel(rig: Rig) -> None:
    channels = [f"CFAN{index:02d}" for index in range(16)]
    await _subscribe(rig, channels)
    rig.fake.slow("chat.postMessage", 0.3)
    started = timer.perf_counter()
    run = await rig.services.publisher.run_due_digests()
    took = timer.perf_counter() - started
    assert run.posted == 16
    assert {channel: len(rig.top_level(channel)) for channel in channels} == dict.fromkeys(channels, 1)
    assert took < 16 * 0.3 / 2, f"the posts went one after another ({took:.1f}s)"
    assert (await rig.services.publisher.run_due_digests()).posted == 0


async def test_a_digest_that_fails_stays_due_and_the_others_go_out(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    channels = ["CFAN01", "CFAN02", "CFAN03"]
    await _subscribe(rig, channels)
    build = rig.services.digests.build

    async def failing(team_id: str, day: object, options: DigestOptions, **kwargs: object) -> BuiltDigest:
        if options.channel_id == "CFAN02":
            raise RuntimeError("the store went away")
        return await build(team_id, day, options, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(rig.services.digests, "build", failing)
    run = await rig.services.publisher.run_due_digests()
    assert run.posted == 2
    assert [len(rig.top_level(channel)) for channel in channels] == [1, 0, 1]
    monkeypatch.setattr(rig.services.digests, "build", build)
    assert (await rig.services.publisher.run_due_digests()).posted == 1  # still due at the next tick
    assert [len(rig.top_level(channel)) for channel in channels] == [1, 1, 1]
