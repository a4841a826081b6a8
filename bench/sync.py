"""Sync throughput and memory against the Cursor simulator, with vendor time scaled.

1. A 90-day backfill of a 2,000-user Cursor team: requests made, 429s met, wall time, and the ratio
   of wall time to the floor (requests / allowed rate, per endpoint class).
2. An incremental sync one simulated day later: the requests it made, against what the new day
   (plus the lookback) needs.
3. Peak RSS of a process that syncs about one million usage events (rate limits off).

The simulator runs in a separate process (so it does not compete for this process's GIL); the bot's
real services (connection registry, sync, SQLite store) run here.

    python bench/sync.py [--users 2000] [--days 90] [--scale 10] [--million-users 1100]
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LIMITS = {"usage_events": 60, "admin": 20}


def serve_simulator(port: int, users: int, days: int, scale: float, limits: bool) -> None:
    """Child process: the Cursor simulator plus a bench-only route that moves its clock."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Mount, Route

    from bot.simulators.cursor import CursorSimulator

    started = time.perf_counter()
    sim = CursorSimulator(
        team_size=users, days=days, seed=7, now=NOW, time_scale=scale, rate_limits_enabled=limits
    )
    sim.dataset.count_events(NOW - timedelta(days=days), NOW)  # generate every day before serving

    async def advance(request: Request) -> JSONResponse:
        hours = float(request.query_params.get("hours", "24"))
        sim.advance(timedelta(hours=hours))
        return JSONResponse({"now": sim.now.isoformat()})

    async def info(_request: Request) -> JSONResponse:
        since = datetime.fromisoformat(_request.query_params["since"])
        return JSONResponse(
            {
                "key": sim.api_key,
                "now": sim.now.isoformat(),
                "events": sim.dataset.count_events(since, sim.now),
                "requests": sim.stats.requests_total,
                "rate_limited": sim.stats.rate_limited,
                "generated_in": round(time.perf_counter() - started, 2),
            }
        )

    app = Starlette(
        routes=[
            Route("/_bench/advance", advance, methods=["POST"]),
            Route("/_bench/info", info, methods=["GET"]),
            Mount("/", app=sim.app),
        ]
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _start_simulator(
    users: int, days: int, scale: float, limits: bool
) -> tuple[subprocess.Popen[bytes], str]:
    from bot.simulators.serving import free_port

    port = free_port()
    args = [
        sys.executable,
        __file__,
        "--serve",
        str(port),
        str(users),
        str(days),
        str(scale),
        str(int(limits)),
    ]
    process = subprocess.Popen(args, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/_bench/info", params={"since": NOW.isoformat()}, timeout=5)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the simulator did not start")


def _info(url: str, since: datetime) -> dict[str, Any]:
    response = httpx.get(f"{url}/_bench/info", params={"since": since.isoformat()}, timeout=60)
    data: dict[str, Any] = response.json()
    return data


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
    process, url = _start_simulator(users, days, scale, limits=True)
    try:
        info = _info(url, NOW - timedelta(days=days))
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
                after = _info(url, NOW)
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
                needed_events = _info(url, lookback_start)["events"]
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
    process, url = _start_simulator(users, days, 1000.0, limits=False)
    try:
        info = _info(url, NOW - timedelta(days=days))
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
    parser.add_argument("--serve", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--million-child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        port, users, days, scale, limits = options.serve
        serve_simulator(int(port), int(users), int(days), float(scale), limits == "1")
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
