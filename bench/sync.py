"""Sync throughput and memory against the Cursor simulator, with vendor time scaled.

1. A 90-day backfill of a 2,000-user Cursor team: requests made, 429s met, wall time, and the ratio
   of wall time to the floor (requests / allowed rate, per endpoint class).
2. An incremental sync one simulated day later: the requests it made, against what the new day
   (plus the lookback) needs.
3. Peak RSS of a process that syncs about one million usage events (rate limits off).
4. ``--openai`` / ``--anthropic``: a 90-day backfill against the OpenAI or Anthropic simulator (served
   in this process) instead: requests, 429s, wall time, and its ratio to the floor at the pace the
   connection keeps.
5. ``--copilot``: the same against the GitHub Copilot simulator, which enforces GitHub's documented
   limits (900 a minute, 5,000 an hour); the floor is the slower of the two.

The simulator runs in a separate process (so it does not compete for this process's GIL); the bot's
real services (connection registry, sync, SQLite store) run here.

    python bench/sync.py [--users 2000] [--days 90] [--scale 10] [--million-users 1100]
    python bench/sync.py --openai|--anthropic [--users 300] [--days 90] [--scale 10]
    python bench/sync.py --copilot [--users 50] [--days 90] [--scale 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cursor_process  # noqa: E402 - the bench folder's own helper, beside this script
from cursor_process import NOW  # noqa: E402

LIMITS = {"usage_events": 60, "admin": 20}


async def _services(url: str, key: str, scale: float, clock: Any, data_dir: str) -> Any:
    from bot.services.container import Services
    from bot.settings import Settings
    from bot.vendors import LimiterRegistry

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=Path(data_dir),
        database_url=f"sqlite:///{data_dir}/spendbot.db",
        cursor_api_key=key,
        cursor_api_url=url,
        secret_key="pNBfRnUK5Wx8ggN9Vm3Xm2cGMZ3vT0zJbU4xq6X1uJk=",  # a fixed test key: nothing is stored
        log_level="WARNING",
    )
    services = Services.create(settings, clock=clock, limiters=LimiterRegistry(time_scale=scale))
    await services.start(identify_workspace=False)
    await services.use_env_team("TBENCH")
    return services


def _limiter_counts(services: Any, connection_id: int) -> dict[str, int]:
    limiters = services.connections.limiters
    return {
        name: limiters.get(str(connection_id), name, _policy(name)).requests_total
        for name in ("admin", "usage_events")
    }


def _policy(name: str) -> Any:
    from bot.vendors.cursor import CURSOR_LIMITS

    return CURSOR_LIMITS[name]


async def backfill_and_increment(users: int, days: int, scale: float) -> None:
    process, url = cursor_process.start(users, days, scale, limits=True)
    try:
        info = cursor_process.info(url, NOW - timedelta(days=days))
        events, generated = info["events"], info["generated_in"]
        print(f"simulator: {users} users, {days} days, {events:,} events (generated in {generated}s)")
        now = [NOW]
        with tempfile.TemporaryDirectory() as data_dir:
            services = await _services(url, info["key"], scale, lambda: now[0], data_dir)
            try:
                connection = (await services.connections.for_team("TBENCH"))[0]
                started = time.perf_counter()
                report = await services.sync.sync(connection, backfill=timedelta(days=days))
                wall = time.perf_counter() - started
                counts = _limiter_counts(services, connection.id)
                after = cursor_process.info(url, NOW)
                floor = sum(counts[name] / (LIMITS[name] * scale / 60) for name in counts)
                events_floor = counts["usage_events"] / (LIMITS["usage_events"] * scale / 60)
                print(
                    f"\n{days}-day backfill ({'ok' if report.ok else 'errors: ' + '; '.join(report.errors)})"
                )
                admin, usage = counts["admin"], counts["usage_events"]
                print(f"  requests           {report.requests:>8}  (admin {admin}, usage events {usage})")
                print(f"  429s received      {after['rate_limited']:>8}")
                print(f"  wall time          {wall:>8.1f} s  (vendor time scaled x{scale:g})")
                print(f"  floor              {floor:>8.1f} s  (each class's requests / its rate)")
                print(f"  floor, events only {events_floor:>8.1f} s")
                print(f"  wall / floor       {wall / floor:>8.3f}")
                print(f"  waited on limiter  {report.waited_seconds:>8.1f} s")

                async with httpx.AsyncClient() as control:
                    await control.post(f"{url}/_bench/advance", params={"hours": 24}, timeout=30)
                now[0] = NOW + timedelta(days=1)
                before = _limiter_counts(services, connection.id)
                report = await services.sync.sync(connection)
                counts = {
                    name: value - before[name]
                    for name, value in _limiter_counts(services, connection.id).items()
                }
                lookback_start = NOW - timedelta(hours=3, minutes=15)
                needed_events = cursor_process.info(url, lookback_start)["events"]
                print(f"\nincremental sync one simulated day later ({'ok' if report.ok else report.errors})")
                pages = math.ceil(needed_events / 1000)
                print(f"  usage-event pages  {counts['usage_events']:>8}")
                print(f"  needed at least    {pages:>8}  ({needed_events:,} events since watermark - 3 h)")
                spend_pages = math.ceil(users / 100)
                print(f"  admin requests     {counts['admin']:>8}  (roster 1 + spend pages {spend_pages})")
            finally:
                await services.close()
    finally:
        process.terminate()
        process.wait(timeout=30)


async def million(users: int, days: int) -> None:
    """Child process: sync ~1M events with rate limits off and report this process's peak RSS."""
    process, url = cursor_process.start(users, days, 1000.0, limits=False)
    try:
        info = cursor_process.info(url, NOW - timedelta(days=days))
        with tempfile.TemporaryDirectory() as data_dir:
            services = await _services(url, info["key"], 1000.0, lambda: NOW, data_dir)
            try:
                connection = (await services.connections.for_team("TBENCH"))[0]
                started = time.perf_counter()
                report = await services.sync.sync(
                    connection, backfill=timedelta(days=days), datasets=["usage"]
                )
                wall = time.perf_counter() - started
            finally:
                await services.close()
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            json.dumps(
                {
                    "events": info["events"],
                    "ok": report.ok,
                    "wall": round(wall, 1),
                    "peak_rss_mb": round(peak_mb),
                }
            )
        )
    finally:
        process.terminate()
        process.wait(timeout=30)


async def timed_backfill(values: dict[str, Any], days: int, scale: float) -> tuple[Any, float]:
    """The first declared connection's backfill of ``days`` with the bot's real services: report, wall s."""
    from bot.services.container import Services
    from bot.settings import Settings
    from bot.vendors import LimiterRegistry

    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=Path(data_dir),
            database_url=f"sqlite:///{data_dir}/spendbot.db",
            secret_key="pNBfRnUK5Wx8ggN9Vm3Xm2cGMZ3vT0zJbU4xq6X1uJk=",  # a fixed test key: nothing is stored
            log_level="WARNING",
            **values,
        )
        services = Services.create(settings, clock=lambda: NOW, limiters=LimiterRegistry(time_scale=scale))
        await services.start(identify_workspace=False)
        await services.use_env_team("TBENCH")
        try:
            connection = (await services.connections.for_team("TBENCH"))[0]
            started = time.perf_counter()
            report = await services.sync.sync(connection, backfill=timedelta(days=days))
            return report, time.perf_counter() - started
        finally:
            await services.close()


async def admin_api_backfill(vendor: str, users: int, days: int, scale: float) -> None:
    """A backfill of OpenAI or Anthropic at its simulator's own limit, also the pace the connection keeps."""
    from bot.simulators.anthropic import AnthropicSimulator
    from bot.simulators.openai import OpenAISimulator
    from bot.simulators.serving import served

    per_minute = 30
    simulator = OpenAISimulator if vendor == "openai" else AnthropicSimulator
    sim = simulator(team_size=users, days=days + 1, now=NOW, time_scale=scale, requests_per_minute=per_minute)
    with served(sim.app) as server:
        values = {
            f"{vendor}_admin_key": sim.admin_key,
            f"{vendor}_api_url": server.url + "/v1",
            f"{vendor}_requests_per_minute": per_minute,
        }
        report, wall = await timed_backfill(values, days, scale)
    floor = report.requests / (per_minute * scale / 60)
    print(
        f"{vendor} simulator: {users} users, {days} days, {per_minute} requests/min (vendor time x{scale:g})"
    )
    print(f"\n{days}-day backfill ({'ok' if report.ok else 'errors: ' + '; '.join(report.errors)})")
    print(f"  requests           {report.requests:>8}")
    print(f"  429s received      {sim.stats.rate_limited:>8}")
    print(f"  wall time          {wall:>8.2f} s")
    print(f"  floor              {floor:>8.2f} s  (requests / rate; a limiter's first window is free)")
    print(f"  wall / floor       {wall / floor:>8.3f}")


def sliding_floor(requests: int, limits: tuple[tuple[int, float], ...]) -> float:
    """Vendor seconds before the last of ``requests`` may start, each as early as every (limit, window)
    sliding window allows: request i waits for request i - limit of each window to leave it."""
    starts: list[float] = []
    for index in range(requests):
        earliest = starts[-1] if starts else 0.0
        for limit, window in limits:
            if index >= limit:
                earliest = max(earliest, starts[index - limit] + window)
        starts.append(earliest)
    return starts[-1] if starts else 0.0


async def copilot_backfill(users: int, days: int, scale: float) -> None:
    """A backfill of Copilot under GitHub's limits, enforced by the simulator and kept by the client."""
    from bot.simulators.copilot import CopilotSimulator
    from bot.simulators.serving import served

    sim = CopilotSimulator(team_size=users, days=days + 1, now=NOW, time_scale=scale)
    with served(sim.app) as server:
        values = {"copilot_token": sim.token, "copilot_api_url": server.url, "copilot_org": sim.org}
        report, wall = await timed_backfill(values, days, scale)
    per_minute, per_hour = 900, 5000
    floor = sliding_floor(report.requests, ((per_minute, 60.0), (per_hour, 3600.0))) / scale
    limits = f"{per_minute}/min and {per_hour}/h"
    print(f"copilot simulator: {users} seats, {days} days, {limits} (vendor time x{scale:g})")
    print(f"\n{days}-day backfill ({'ok' if report.ok else 'errors: ' + '; '.join(report.errors)})")
    print(f"  requests           {report.requests:>8}")
    print(f"  403/429 throttles  {sim.stats.throttled:>8}")
    print(f"  wall time          {wall:>8.2f} s")
    print(
        f"  floor              {floor:>8.2f} s  (the earliest the last request may start under both limits)"
    )
    ratio = f"{wall / floor:>8.3f}" if floor else "     n/a  (every request fits in the first windows)"
    print(f"  wall / floor       {ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--scale", type=float, default=10.0, help="vendor minutes per wall-clock minute")
    parser.add_argument(
        "--million-users", type=int, default=1100, help="team size giving ~1M events in 90 days"
    )
    parser.add_argument("--million-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--openai", action="store_true", help="bench the OpenAI connector instead")
    parser.add_argument("--anthropic", action="store_true", help="bench the Anthropic connector instead")
    parser.add_argument("--copilot", action="store_true", help="bench the GitHub Copilot connector instead")
    options = parser.parse_args()
    if options.copilot:
        asyncio.run(copilot_backfill(options.users, options.days, options.scale))
        return
    if options.openai or options.anthropic:
        vendor = "openai" if options.openai else "anthropic"
        asyncio.run(admin_api_backfill(vendor, options.users, options.days, options.scale))
        return
    if options.million_child:
        asyncio.run(million(options.million_users, options.days))
        return
    asyncio.run(backfill_and_increment(options.users, options.days, options.scale))
    child = subprocess.run(
        [
            sys.executable,
            __file__,
            "--million-child",
            "--million-users",
            str(options.million_users),
            "--days",
            str(options.days),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
        check=True,
    )
    result = json.loads(child.stdout.strip().splitlines()[-1])
    print("\naggregating about one million usage events (rate limits off, separate process)")
    print(f"  events             {result['events']:>8,}")
    print(f"  wall time          {result['wall']:>8} s")
    print(f"  peak RSS           {result['peak_rss_mb']:>8} MB  (the whole process, libraries included)")


if __name__ == "__main__":
    main()
