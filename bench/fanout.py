"""Digest fan-out: 1,000 subscriptions over three connections, against a fake Slack that enforces its limits.

Each run builds everything afresh: the Cursor, Windsurf and REST simulators (fixed seeds, the same
simulated "now", served on loopback), a fake Slack that answers ``chat.postMessage`` with 429 and
``Retry-After`` beyond one message a second per channel and 300 a minute per workspace (both time
scaled), and the bot's real services on a SQLite file: one connection of each kind, first synced, then
N channels subscribed to a daily digest at 09:00 UTC. The clock then moves to 09:01 and the cycle runs
as the scheduler would run it: ``run_syncs`` (the hourly syncs are due), ``check_alerts``, then
``run_due_digests``, which builds, claims in the delivery ledger and posts every digest.

It runs the cycle with 10 and with 1,000 subscriptions and prints, for each: vendor requests (every
request the three simulators received during the cycle; they must be equal, the digests read the
store), posts made (one per channel, each ``sent`` in the ledger), 429s met, the wall time of
``run_due_digests`` and Slack's floor for that many posts (posts / 300 a minute, divided by the time
scale). ``--latency`` makes the fake Slack take that long to answer each post, as the real one does
over the internet; ``--concurrency`` overrides the publisher's ``DIGEST_CONCURRENCY`` (1 posts one
digest after another).

    python bench/fanout.py [--scale 2] [--subscriptions 1000] [--few 10] [--latency 0] [--concurrency N]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TEAM = "TBENCH"
ADMIN = "UBENCHADMIN"
TOKEN = "xoxb-test-token"
START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
DIGEST_AT = clock_time(9, 0)
VENDOR_SCALE = 600.0  # vendor rate-limit windows (not measured here): Cursor's 20 a minute in 100 ms
WORKSPACE_PER_MINUTE = 300
CHANNEL_PER_SECOND = 1.0
TARGET_RATIO = 1.2
FERNET = "pNBfRnUK5Wx8ggN9Vm3Xm2cGMZ3vT0zJbU4xq6X1uJk="  # a fixed bench key: the data folder is thrown away


@dataclass
class Run:
    subscriptions: int
    vendor_requests: dict[str, int]
    digest_vendor_requests: int
    posts: int
    channels_with_one: int
    rate_limited: int
    chart_uploads: int
    wall: float
    floor: float
    sync_wall: float
    setup_wall: float

    @property
    def vendor_total(self) -> int:
        return sum(self.vendor_requests.values())


async def run_cycle(subscriptions: int, scale: float, latency: float = 0.0) -> Run:
    """One fresh world with ``subscriptions`` digests; returns what the digest cycle cost."""
    from bot.domain.commands import SubscribeDigest
    from bot.services.clock import ManualClock
    from bot.services.container import Services
    from bot.settings import Settings
    from bot.simulators.cursor import CursorSimulator
    from bot.simulators.rest import RestSimulator
    from bot.simulators.serving import served
    from bot.simulators.slack import FakeSlack, PostLimits
    from bot.simulators.windsurf import WindsurfSimulator
    from bot.vendors import LimiterRegistry

    setup_started = time.perf_counter()
    cursor = CursorSimulator(team_size=40, days=70, seed=7, now=START, time_scale=VENDOR_SCALE)
    windsurf = WindsurfSimulator(team_size=25, days=70, seed=8, now=START, time_scale=VENDOR_SCALE)
    rest = RestSimulator(plan="pro", seed=9, now=START, time_scale=VENDOR_SCALE)
    simulators: dict[str, CursorSimulator | WindsurfSimulator | RestSimulator] = {
        "cursor": cursor,
        "windsurf": windsurf,
        "rest": rest,
    }
    fake = FakeSlack(team_id=TEAM)
    fake.add_token(TOKEN, TEAM)
    fake.add_user(ADMIN, team_id=TEAM, name="bench", is_admin=True)
    channels = [f"CFAN{index:05d}" for index in range(subscriptions)]
    for channel in channels:
        fake.add_channel(channel, team_id=TEAM)
    with (
        served(fake.app) as slack,
        served(cursor.app) as cursor_server,
        served(windsurf.app) as windsurf_server,
        served(rest.app) as rest_server,
        tempfile.TemporaryDirectory() as data_dir,
    ):
        fake.bind(slack.url)
        settings = Settings(
            _env_file=None,
            slack_bot_token=TOKEN,
            slack_signing_secret="bench-signing-secret",
            slack_api_url=fake.api_url,
            data_dir=Path(data_dir),
            database_url=f"sqlite:///{data_dir}/spendbot.db",
            secret_key=FERNET,
            admins=(ADMIN,),
            log_level="WARNING",
            cursor_api_key=cursor.api_key,
            cursor_api_url=cursor_server.url,
            windsurf_service_key=windsurf.service_key,
            windsurf_api_url=windsurf_server.url + "/api/v1",
            rest_api_key=rest.api_key,
            rest_api_url=rest_server.url + "/v1",
            rest_probe_path="/account",
            rest_per_minute=rest.per_minute,
            rest_per_day=rest.per_day,
            rest_track="/usage#data.credits_remaining",
        )
        clock = ManualClock(START)
        services = Services.create(
            settings,
            clock=clock,
            limiters=LimiterRegistry(time_scale=VENDOR_SCALE),
            slack_pacing=LimiterRegistry(time_scale=scale),
        )
        try:
            await services.start(identify_workspace=False)
            await services.use_env_team(TEAM)
            first = await services.publisher.run_syncs()  # the first (backfill) syncs: not measured
            if first != 3:
                raise RuntimeError(f"expected 3 connections synced, got {first}")
            daily = SubscribeDigest(at=DIGEST_AT, tz="UTC", weekdays=frozenset(range(7)))
            for channel in channels:
                await services.subscriptions.subscribe(TEAM, channel, ADMIN, daily)
            setup_wall = time.perf_counter() - setup_started

            # 09:01: the hourly syncs and every digest are due. Slack now enforces its posting limits.
            step = timedelta(hours=1, minutes=1)
            clock.advance(step)
            for simulator in simulators.values():
                simulator.advance(step)
            if latency:
                fake.slow("chat.postMessage", latency)
            fake.enforce_post_limits(
                PostLimits(
                    per_channel_per_second=CHANNEL_PER_SECOND,
                    per_workspace_per_minute=WORKSPACE_PER_MINUTE,
                    time_scale=scale,
                )
            )
            fake.reset_records()
            before = _requests(simulators)
            started = time.perf_counter()
            synced = await services.publisher.run_syncs()
            await services.publisher.check_alerts()  # nothing to check: no alert is subscribed
            sync_wall = time.perf_counter() - started
            if synced != 3:
                raise RuntimeError(f"expected the 3 hourly syncs in the cycle, got {synced}")
            synced_requests = _requests(simulators)
            started = time.perf_counter()
            result = await services.publisher.run_due_digests()
            wall = time.perf_counter() - started
            after = _requests(simulators)

            per_channel = dict.fromkeys(channels, 0)
            for message in fake.all_messages():
                per_channel[message.channel] += 1
            posts = sum(per_channel.values())
            rows = await services.ledger.recent(TEAM, limit=subscriptions + 10)
            sent = sum(row.state == "sent" for row in rows)
            if not result.posted == posts == sent:
                raise RuntimeError(
                    f"ledger and Slack disagree: {result.posted} posted, {posts} seen, {sent} sent"
                )
            return Run(
                subscriptions=subscriptions,
                vendor_requests={name: after[name] - before[name] for name in simulators},
                digest_vendor_requests=sum(after.values()) - sum(synced_requests.values()),
                posts=posts,
                channels_with_one=sum(1 for count in per_channel.values() if count == 1),
                rate_limited=fake.rate_limited,
                chart_uploads=len(fake.calls("files.getUploadURLExternal")),
                wall=wall,
                floor=posts / (WORKSPACE_PER_MINUTE / 60) / scale,
                sync_wall=sync_wall,
                setup_wall=setup_wall,
            )
        finally:
            await services.close()


def _requests(simulators: dict[str, Any]) -> dict[str, int]:
    return {name: simulator.stats.requests_total for name, simulator in simulators.items()}


def _report(run: Run) -> None:
    requests = ", ".join(f"{name} {count}" for name, count in run.vendor_requests.items())
    print(f"\n{run.subscriptions:,} subscriptions (setup {run.setup_wall:.1f} s, not measured)")
    print(f"  vendor requests    {run.vendor_total:>8}  ({requests}; syncs took {run.sync_wall:.1f} s)")
    print(f"    during digests   {run.digest_vendor_requests:>8}")
    print(f"  posts made         {run.posts:>8}  ({run.channels_with_one:,} channels with exactly one)")
    print(f"  429s met           {run.rate_limited:>8}")
    print(f"  chart uploads      {run.chart_uploads:>8}  (one chart per workspace and day, shared)")
    print(f"  wall time          {run.wall:>8.1f} s  (run_due_digests)")
    print(f"  Slack floor        {run.floor:>8.1f} s  (posts / {WORKSPACE_PER_MINUTE} a minute, scaled)")
    if run.floor:
        print(f"  wall / floor       {run.wall / run.floor:>8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=2.0, help="Slack seconds per wall-clock second")
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--few", type=int, default=10, help="the small run's subscriptions")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds the fake Slack takes to answer each post"
    )
    parser.add_argument("--concurrency", type=int, help="digests built and posted at once")
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from bot.services import publisher

    if options.concurrency is not None:
        publisher.DIGEST_CONCURRENCY = options.concurrency
    print(
        f"Slack time scale x{options.scale:g}: {WORKSPACE_PER_MINUTE} posts a minute per workspace and "
        f"{CHANNEL_PER_SECOND:g} a second per channel become {WORKSPACE_PER_MINUTE * options.scale:g} and "
        f"{CHANNEL_PER_SECOND * options.scale:g}; posts answered after {options.latency:g} s; "
        f"{publisher.DIGEST_CONCURRENCY} digests at once"
    )
    few = asyncio.run(run_cycle(options.few, options.scale, options.latency))
    _report(few)
    many = asyncio.run(run_cycle(options.subscriptions, options.scale, options.latency))
    _report(many)
    equal = few.vendor_total == many.vendor_total
    print(
        f"\nvendor requests, {options.few} vs {options.subscriptions:,} subscriptions: "
        f"{few.vendor_total} vs {many.vendor_total} ({'equal' if equal else 'NOT EQUAL'})"
    )
    ratio = many.wall / many.floor if many.floor else float("inf")
    print(
        f"{options.subscriptions:,} posts: {many.posts:,} made, {many.rate_limited} 429s, "
        f"wall {many.wall:.1f} s against a floor of {many.floor:.1f} s = {ratio:.3f}x"
    )
    met = equal and many.posts == options.subscriptions and ratio <= TARGET_RATIO
    verdict = "met" if met else "MISSED"
    print(f"targets (equal requests, every post made, wall <= {TARGET_RATIO}x floor): {verdict}")


if __name__ == "__main__":
    main()
