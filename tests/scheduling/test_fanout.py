"""A digest fan-out posts to many channels at once (Slack's round trips overlap), still once per channel,
and one digest that fails does not hold back the others."""

from __future__ import annotations

import time as timer
from datetime import UTC, datetime, time
from decimal import Decimal

import pytest

from bot.domain.commands import SubscribeBudget, SubscribeDigest
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
    rig.clock.set(datetime(2026, 11, 20, 7, 0, tzinfo=UTC))
    rig.fake.add_channel("CFAN02")
    await rig.services.subscriptions.subscribe(  # its own content (no names), so its own build
        TEAM, "CFAN02", ADMIN, SubscribeDigest(at=time(8, 0), tz="UTC", weekdays=EVERY_DAY, no_names=True)
    )
    await _subscribe(rig, ["CFAN01", "CFAN03"])
    build = rig.services.digests.build

    async def failing(team_id: str, day: object, options: DigestOptions, **kwargs: object) -> BuiltDigest:
        if options.no_names:
            raise RuntimeError("the store went away")
        return await build(team_id, day, options, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(rig.services.digests, "build", failing)
    run = await rig.services.publisher.run_due_digests()
    assert run.posted == 2
    assert [len(rig.top_level(channel)) for channel in channels] == [1, 0, 1]
    monkeypatch.setattr(rig.services.digests, "build", build)
    assert (await rig.services.publisher.run_due_digests()).posted == 1  # still due at the next tick
    assert [len(rig.top_level(channel)) for channel in channels] == [1, 1, 1]


async def test_a_digest_is_built_once_per_distinct_content_and_posted_to_every_channel_that_wants_it(
    rig: Rig,
) -> None:
    """Eleven channels, four contents: five plain UTC digests, one with a budget of its own, three
    without names and two in Paris (09:00 there is 08:00 UTC in November)."""
    plain = [f"CPLAIN{index}" for index in range(5)]
    hidden = [f"CHIDE{index}" for index in range(3)]
    paris = ["CPARIS0", "CPARIS1"]
    await _subscribe(rig, [*plain, "CBUDGET"])
    rig.clock.set(datetime(2026, 11, 20, 7, 0, tzinfo=UTC))
    for channel in [*hidden, *paris]:
        rig.fake.add_channel(channel)
        zone, at = ("Europe/Paris", time(9, 0)) if channel in paris else ("UTC", time(8, 0))
        await rig.services.subscriptions.subscribe(
            TEAM,
            channel,
            ADMIN,
            SubscribeDigest(at=at, tz=zone, weekdays=EVERY_DAY, no_names=channel in hidden),
        )
    await rig.services.subscriptions.subscribe(TEAM, "CBUDGET", ADMIN, SubscribeBudget(amount=Decimal(500)))
    rig.clock.set(datetime(2026, 11, 20, 8, 1, tzinfo=UTC))
    before = _builds(rig)
    run = await rig.services.publisher.run_due_digests()
    posted = {channel: len(rig.top_level(channel)) for channel in [*plain, "CBUDGET", *hidden, *paris]}
    assert run.posted == 11 and set(posted.values()) == {1}, posted
    assert _builds(rig) - before == 4  # a channel's own budget is its own content, as are zone and names
    texts = {channel: [message.text for message in rig.top_level(channel)] for channel in [*plain, "CBUDGET"]}
    assert all(len(posted) == 1 for posted in texts.values())
    assert len({texts[channel][0] for channel in plain}) == 1  # one content, posted five times


def _builds(rig: Rig) -> float:
    for line in rig.services.metrics.render().decode().splitlines():
        if line.startswith("spendbot_digest_builds_total "):
            return float(line.split()[1])
    return 0.0
