"""Command latency: from a signed slash command to the answer posted on its response_url.

A 5,000-user Cursor team is synced into a fresh data folder first (rate limits off, not measured),
then ``spendbot run --mode http`` serves that folder in its own process while this one plays Slack:
it sends signed ``spend 30d by user`` and ``top 10 30d`` requests one after another and times each
until the fake Slack receives the answer. The data is fresh, so no vendor call is on the measured
path (the simulator's request counter is checked before and after).

    python bench/commands.py [--users 5000] [--days 62] [--requests 60] [--database-url URL]
                             [--data-dir DIR]

``--database-url`` (e.g. ``postgresql://postgres@127.0.0.1:5432/test``) measures on that database
instead of a SQLite file; its tables are dropped first, so point it at a throwaway database.
``--data-dir DIR`` keeps the synced data in DIR (not a temporary folder) and, when DIR already holds a
sync of the same team (the same users and days, on the same database), only brings it up to date
before measuring it: a 20,000-user team takes over 20 minutes to sync from nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cursor_process  # noqa: E402 - the bench folder's own helper, beside this script

SECRET = "bench-signing-secret"
TOKEN = "xoxb-test-token"
ADMIN = "UBENCHADMIN"
FERNET = "pNBfRnUK5Wx8ggN9Vm3Xm2cGMZ3vT0zJbU4xq6X1uJk="  # fixed, so a kept data folder reads again


async def prepare(
    url: str, key: str, data_dir: str, backfill: timedelta | None, database_url: str = ""
) -> float:
    """Sync the team into ``data_dir`` (or ``database_url``) like the bot would (limits off), from
    ``backfill`` ago or (None) since the last sync; returns how long it took."""
    from bot.services.container import Services
    from bot.settings import Settings
    from bot.vendors import LimiterRegistry

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=Path(data_dir),
        database_url=database_url,
        cursor_api_key=key,
        cursor_api_url=url,
        secret_key=FERNET,
        log_level="WARNING",
    )
    services = Services.create(settings, limiters=LimiterRegistry(time_scale=1000.0))
    started = time.perf_counter()
    try:
        await services.start(identify_workspace=False)
        await services.use_env_team("T0001")
        connection = (await services.connections.for_team("T0001"))[0]
        report = await services.sync.sync(connection, backfill=backfill)
        if not report.ok:
            raise RuntimeError("; ".join(report.errors))
    finally:
        await services.close()
    return time.perf_counter() - started


async def _empty(database_url: str) -> None:
    """Drop every table of the throwaway database, so the sync starts from nothing."""
    from sqlalchemy import text

    from bot.store.db import Database

    database = Database(database_url)
    try:
        async with database.engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await database.dispose()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--days", type=int, default=62)
    parser.add_argument("--requests", type=int, default=60, help="measured requests per command")
    parser.add_argument("--database-url", default="", help="a throwaway database instead of SQLite")
    parser.add_argument("--data-dir", default="", help="keep (or reuse) the synced data in this folder")
    options = parser.parse_args()
    team = {"users": options.users, "days": options.days, "database_url": options.database_url}
    marker = Path(options.data_dir, "bench-team.json") if options.data_dir else None
    reuse = marker is not None and marker.exists() and json.loads(marker.read_text()) == team
    if options.database_url and not reuse:
        asyncio.run(_empty(options.database_url))

    from bot.simulators.serving import free_port, served
    from bot.simulators.slack import FakeSlack, SignedRequests

    simulator, sim_url = cursor_process.start(options.users, options.days, 1000.0, limits=False)
    fake = FakeSlack(team_id="T0001")
    fake.add_user(ADMIN, name="bench", email="bench@example.com", tz="America/New_York", is_admin=True)
    try:
        with served(fake.app) as slack, _data_folder(options.data_dir) as data_dir:
            fake.bind(slack.url)
            info = cursor_process.info(sim_url, cursor_process.NOW - timedelta(days=options.days))
            events = info["events"]
            print(f"{options.users} users, {events:,} usage events in {options.days} days")
            # A kept sync is brought up to date (the live figures, not the history): data older than
            # the vendor's refresh interval would be synced again by the first answers, on the measured path.
            backfill = None if reuse else timedelta(days=options.days)
            took = asyncio.run(prepare(sim_url, info["key"], data_dir, backfill, options.database_url))
            print(
                f"{'brought the kept sync up to date' if reuse else 'synced'} in {took:.0f}s (not measured)"
            )
            if marker is not None:
                marker.write_text(json.dumps(team))
            port = free_port()
            env = {
                **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONPATH")},
                "SLACK_BOT_TOKEN": TOKEN,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": fake.api_url,
                "SPENDBOT_DATA_DIR": data_dir,
                "DATABASE_URL": options.database_url,
                "SPENDBOT_SECRET_KEY": FERNET,
                "CURSOR_API_KEY": info["key"],
                "CURSOR_API_URL": sim_url,
                "LOG_LEVEL": "WARNING",
            }
            bot = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bot",
                    "run",
                    "--mode",
                    "http",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                env=env,
                cwd=ROOT,
            )
            try:
                _wait_healthy(port)
                asyncio.run(_forget_kept_ranges(options.database_url or _sqlite_url(data_dir)))
                signed = SignedRequests(SECRET, fake=fake)
                vendor_before = cursor_process.info(sim_url, cursor_process.NOW)["requests"]
                results, first = {}, {}
                for text in ("spend 30d by user", "top 10 30d"):
                    # The first answer counts the previous period's people and keeps them; the next four
                    # warm up the users.info cache, the connections and SQLite's pages.
                    warm_up = _measure(port, fake, signed, text, 5)
                    first[text] = warm_up[0]
                    results[text] = _measure(port, fake, signed, text, options.requests)
                vendor_after = cursor_process.info(sim_url, cursor_process.NOW)["requests"]
            finally:
                bot.terminate()
                bot.wait(timeout=30)
    finally:
        simulator.terminate()
        simulator.wait(timeout=30)

    print(f"vendor requests on the measured path: {vendor_after - vendor_before}")
    print(f"{'command':<22}{'first ms':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'mean ms':>9}")
    for text, durations in results.items():
        print(
            f"{text:<22}{first[text] * 1000:>9.1f}{_percentile(durations, 0.5):>9.1f}"
            f"{_percentile(durations, 0.95):>9.1f}{_percentile(durations, 0.99):>9.1f}"
            f"{max(durations) * 1000:>9.1f}{statistics.fmean(durations) * 1000:>9.1f}"
        )
    print("first: the first answer, before any warm-up; it counts the previous period's people once")


def _sqlite_url(data_dir: str) -> str:
    """The database the bot keeps in ``data_dir``, as its settings name it."""
    from bot.settings import Settings

    return Settings(_env_file=None, data_dir=Path(data_dir)).database_url  # type: ignore[call-arg]


async def _forget_kept_ranges(database_url: str) -> None:
    """Forget the past ranges an earlier run of a kept data folder counted, so ``first`` is cold."""
    from sqlalchemy import text

    from bot.store.db import Database

    database = Database(database_url)
    try:
        async with database.engine.begin() as connection:
            await connection.execute(text("DELETE FROM usage_past_ranges"))
    finally:
        await database.dispose()


@contextlib.contextmanager
def _data_folder(kept: str) -> Iterator[str]:
    """The folder named by ``--data-dir`` (made when missing), else a temporary one."""
    if kept:
        Path(kept).mkdir(parents=True, exist_ok=True)
        yield kept
        return
    with tempfile.TemporaryDirectory() as folder:
        yield folder


def _wait_healthy(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the bot did not become healthy")


def _measure(port: int, fake: object, signed: object, text: str, count: int) -> list[float]:
    """Send ``count`` commands one after another; each is timed until its response_url post lands."""
    from bot.simulators.slack import FakeSlack, SignedRequests

    assert isinstance(fake, FakeSlack)
    assert isinstance(signed, SignedRequests)
    durations = []
    with httpx.Client() as client:
        for _ in range(count):
            response_url = fake.new_response_url()
            hook = response_url.rsplit("/", 1)[1]
            body, headers = signed.command(text, user_id=ADMIN, response_url=response_url)
            started = time.time()
            response = client.post(f"http://127.0.0.1:{port}/slack/events", content=body, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"HTTP {response.status_code}")
            deadline = time.monotonic() + 30
            while True:
                posts = [post for post in fake.response_posts() if post["hook"] == hook]
                if posts:
                    if "*" not in str(posts[0].get("blocks")):
                        raise RuntimeError(f"unexpected answer: {str(posts[0])[:300]}")
                    durations.append(posts[0]["at"] - started)
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no answer to {text!r}")
                time.sleep(0.001)
    return durations


if __name__ == "__main__":
    main()
