"""Ack latency: 500 signed ``help`` requests at concurrency 10, spendbot vs a bare Bolt app, five runs.

Both run as separate processes served the same way (uvicorn + Bolt's Starlette adapter, default asyncio
loop) and talk to the same fake Slack; the load comes from this process over loopback. spendbot is
measured only once each of its scheduler's jobs (settle, digests, syncs, checks) has run once, as its
``/metrics`` counts them, so the measured seconds are a running bot's, not its first ticks'. Each run
measures both apps and prints p50, p95 and p99 of each and spendbot's ratio to the bare app's; the
last lines are the median of the runs' ratios.

    python bench/ack.py [--requests 500] [--concurrency 10] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.simulators.serving import free_port, served  # noqa: E402
from bot.simulators.slack import FakeSlack, SignedRequests  # noqa: E402

SECRET = "bench-signing-secret"
TOKEN = "xoxb-test-token"


def serve_bare(port: int, api_url: str) -> None:
    """The baseline: an AsyncApp whose only listener acknowledges, served like spendbot serves."""
    from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
    from slack_bolt.async_app import AsyncAck, AsyncApp
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from bot.simulators.serving import QuietServer

    app = AsyncApp(token=TOKEN, signing_secret=SECRET)
    app.client.base_url = api_url

    @app.command("/spend")
    async def acknowledge(ack: AsyncAck) -> None:
        await ack()

    handler = AsyncSlackRequestHandler(app)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    import uvicorn

    web = Starlette(routes=[Route("/slack/events", events, methods=["POST"])])
    config = uvicorn.Config(
        web, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"
    )
    asyncio.run(QuietServer(config).serve())


FIRST_JOBS = ("settle", "digests", "syncs", "checks")


def _wait_for_first_jobs(port: int, timeout: float = 60) -> float:
    """Wait until ``/metrics`` counts a run of each of the scheduler's first jobs; the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
        if all(f'spendbot_scheduled_jobs_total{{job="{job}"' in text for job in FIRST_JOBS):
            return time.monotonic() - started
        time.sleep(0.25)
    raise RuntimeError(f"the scheduler's first jobs did not all run within {timeout:.0f} s")


def _start(args: list[str], env: dict[str, str], port: int, path: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, *args], env=env, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.post(f"http://127.0.0.1:{port}{path}", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{args} did not start")


async def _load(url: str, signed: SignedRequests, requests: int, concurrency: int) -> list[float]:
    durations: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(requests):
        queue.put_nowait(index)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:

        async def worker() -> None:
            while not queue.empty():
                queue.get_nowait()
                body, headers = signed.command("help")
                started = time.perf_counter()
                response = await client.post(url, content=body, headers=headers)
                durations.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return durations


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--serve-bare", nargs=2, metavar=("PORT", "API_URL"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve_bare:
        serve_bare(int(options.serve_bare[0]), options.serve_bare[1])
        return

    fake = FakeSlack()
    with served(fake.app) as slack, tempfile.TemporaryDirectory() as data:
        fake.bind(slack.url)
        signed = SignedRequests(SECRET, fake=fake)
        env = {
            **{
                key: value
                for key, value in os.environ.items()
                if key in ("PATH", "HOME", "LANG", "PYTHONPATH")
            },
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
            "SPENDBOT_DATA_DIR": data,
            "LOG_LEVEL": "WARNING",
        }
        runs = [_run(env, signed, fake, options) for _ in range(options.runs)]

    print(f"{options.requests} signed `help` requests, concurrency {options.concurrency}, loopback")
    print(f"{'run':<5}{'app':<16}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    ratios: dict[str, list[float]] = {"p50": [], "p95": [], "p99": []}
    for number, results in enumerate(runs, start=1):
        for name, durations in results.items():
            print(
                f"{number:<5}{name:<16}{_percentile(durations, 0.50):>9.1f}"
                f"{_percentile(durations, 0.95):>9.1f}{_percentile(durations, 0.99):>9.1f}"
                f"{statistics.fmean(durations) * 1000:>9.1f}"
            )
        bare, ours = results["bare AsyncApp"], results["spendbot"]
        line = []
        for label, fraction in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
            ratio = _percentile(ours, fraction) / _percentile(bare, fraction)
            ratios[label].append(ratio)
            line.append(f"{label} {ratio:.2f}")
        print(f"{number:<5}ratio spendbot/bare: " + ", ".join(line))
    for label, values in ratios.items():
        print(f"median of {len(values)} runs' {label} ratios: {statistics.median(values):.2f}")


def _run(
    env: dict[str, str], signed: SignedRequests, fake: FakeSlack, options: argparse.Namespace
) -> dict[str, list[float]]:
    """One run: the bare app, then spendbot once its first jobs have run, each with a warm-up."""
    results: dict[str, list[float]] = {}
    for name in ("bare AsyncApp", "spendbot"):
        port = free_port()
        if name == "spendbot":
            args = ["-m", "bot", "run", "--mode", "http", "--host", "127.0.0.1", "--port", str(port)]
        else:
            args = [str(Path(__file__)), "--serve-bare", str(port), fake.api_url]
        process = _start(args, env, port, "/slack/events")
        try:
            if name == "spendbot":
                _wait_for_first_jobs(port)
            url = f"http://127.0.0.1:{port}/slack/events"
            asyncio.run(_load(url, signed, 50, options.concurrency))  # warm-up: connections, auth.test
            results[name] = asyncio.run(_load(url, signed, options.requests, options.concurrency))
        finally:
            process.terminate()
            process.wait(timeout=20)
    return results


if __name__ == "__main__":
    main()
