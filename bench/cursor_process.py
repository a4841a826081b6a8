"""The Cursor simulator in a process of its own, for benchmarks (so it does not share our GIL).

It adds two bench-only routes: ``POST /_bench/advance?hours=N`` moves its clock and
``GET /_bench/info?since=ISO`` reports the key, event counts and request counters.

    python bench/cursor_process.py PORT USERS DAYS SCALE LIMITS(0|1)
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def serve(port: int, users: int, days: int, scale: float, limits: bool) -> None:
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
        sim.advance(timedelta(hours=float(request.query_params.get("hours", "24"))))
        return JSONResponse({"now": sim.now.isoformat()})

    async def info(request: Request) -> JSONResponse:
        since = datetime.fromisoformat(request.query_params["since"])
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

    routes = [
        Route("/_bench/advance", advance, methods=["POST"]),
        Route("/_bench/info", info, methods=["GET"]),
        Mount("/", app=sim.app),
    ]
    uvicorn.run(Starlette(routes=routes), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def start(users: int, days: int, scale: float, *, limits: bool) -> tuple[subprocess.Popen[bytes], str]:
    """Start the simulator process and return it with its base URL once it answers."""
    from bot.simulators.serving import free_port

    port = free_port()
    args = [sys.executable, __file__, str(port), str(users), str(days), str(scale), str(int(limits))]
    process = subprocess.Popen(args, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            info(url, NOW)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the simulator did not start")


def info(url: str, since: datetime) -> dict[str, Any]:
    response = httpx.get(f"{url}/_bench/info", params={"since": since.isoformat()}, timeout=60)
    data: dict[str, Any] = response.json()
    return data


if __name__ == "__main__":
    port, users, days, scale, limits = sys.argv[1:6]
    serve(int(port), int(users), int(days), float(scale), limits == "1")
