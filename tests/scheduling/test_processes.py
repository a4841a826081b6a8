"""Real ``spendbot run`` processes: killed with SIGKILL mid fan-out, and two replicas on one PostgreSQL
database. Every channel must end with exactly one digest, and the alert must be posted once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import select

from bot.domain.commands import SubscribeDigest, SubscribeHealth
from bot.services.container import Services
from bot.services.deliveries import SETTLE_AFTER
from bot.services.publisher import DIGEST_LEASE
from bot.settings import Settings
from bot.simulators.rest import RestSimulator
from bot.simulators.serving import free_port, served
from bot.simulators.slack import FakeSlack, PostLimits
from bot.store.db import Database
from bot.store.models import Delivery, Lease, PaceSlot, Subscription
from tests.conftest import BOT_TOKEN, SIGNING_SECRET

FERNET = "pNBfRnUK5Wx8ggN9Vm3Xm2cGMZ3vT0zJbU4xq6X1uJk="
TEAM = "T0001"
ADMIN = "UADMIN01"


def _env(database_url: str, data_dir: Path, fake: FakeSlack, **extra: str) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "PYTHONPATH", "TMPDIR")
    return {
        **{name: value for name, value in os.environ.items() if name in keep},
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url,
        "SPENDBOT_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "SPENDBOT_SECRET_KEY": FERNET,
        "SPENDBOT_ADMINS": ADMIN,
        "LOG_LEVEL": "WARNING",
        **extra,
    }


@contextmanager
def _bot(env: dict[str, str], cwd: Path) -> Iterator[subprocess.Popen[str]]:
    port = free_port()
    log = (cwd / f"bot-{port}.log").open("w")  # a file, not a pipe: a full pipe would stall the bot
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--mode", "http", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=cwd,
        stdout=log,
        stderr=log,
        text=True,
    )
    try:
        yield process
    finally:
        log.close()
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


async def _subscribe_due_digests(settings: Settings, channels: list[str], **alerts: Any) -> None:
    """Create digest subscriptions (and any alert ones) as an admin would, all due right now."""
    services = Services.create(settings)
    await services.start(identify_workspace=False)
    await services.use_env_team(TEAM)
    try:
        for channel in channels:
            await services.subscriptions.subscribe(
                TEAM, channel, ADMIN, SubscribeDigest(at=datetime.now(UTC).time(), tz="UTC")
            )
        if alerts.get("health_channel"):
            await services.subscriptions.subscribe(TEAM, alerts["health_channel"], ADMIN, SubscribeHealth())
        async with services.db.write() as session:
            await session.exec(  # type: ignore[call-overload]
                update(Subscription)
                .where(Subscription.kind == "digest")
                .values(next_due_at=datetime.now(UTC) - timedelta(seconds=5))
            )
    finally:
        await services.close()


async def _as_if_restarted_later(database_url: str, seconds: float) -> int:
    """Move every instant the stopped process stored about its posts ``seconds`` into the past (its
    ledger rows' claim and last touch, its leases' expiry, its reserved pace slots), as if the restart
    came that much later; returns how many rows it left ``posting``. Slack's clock must already run
    ``seconds`` behind ours (``FakeSlack.set_clock``), so the posts it made keep their place in the
    channels' history relative to the ledger rows."""
    shift = timedelta(seconds=seconds)
    db = Database(database_url)
    try:
        async with db.write() as session:
            posting = 0
            for row in (await session.exec(select(Delivery))).all():
                row.created_at -= shift
                row.updated_at -= shift
                posting += row.state == "posting"
                session.add(row)
            for lease in (await session.exec(select(Lease))).all():
                lease.expires_at -= shift
                session.add(lease)
            for slot in (await session.exec(select(PaceSlot))).all():
                slot.at -= seconds
                session.add(slot)
    finally:
        await db.dispose()
    return posting


def _settings(database_url: str, data_dir: Path, fake: FakeSlack, **extra: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake.api_url,
        data_dir=data_dir,
        database_url=database_url,
        secret_key=FERNET,
        admins=(ADMIN,),
        **extra,
    )


def _digests(fake: FakeSlack, channel: str) -> int:
    return sum(1 for message in fake.channel_messages(channel) if "digest" in message.text.lower())


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_sigkill_during_a_200_channel_fan_out_leaves_exactly_one_digest_per_channel(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    channels = [f"CFAN{index:03d}" for index in range(200)]
    for channel in channels:
        fake_slack.add_channel(channel)
    database_url = f"sqlite:///{tmp_path / 'data' / 'spendbot.db'}"
    settings = _settings(database_url, tmp_path / "data", fake_slack)
    asyncio.run(_subscribe_due_digests(settings, channels))
    fake_slack.slow("chat.postMessage", 0.05)  # a post takes a while: the kill lands mid-post
    # Rows the kill leaves "posting" are settled only once untouched for SETTLE_AFTER (100 s), and the
    # dead process's digest leases hold for DIGEST_LEASE. Rather than wait that long in real time, the
    # restart comes "later": Slack's clock runs `later` behind ours from the start, and after the kill
    # every instant the dead process stored is moved `later` into the past, so the restarted bot sees
    # the rows, leases and posts exactly as it would `later` seconds on (its settle runs at start).
    later = max(SETTLE_AFTER, DIGEST_LEASE).total_seconds() + 30
    fake_slack.set_clock(lambda: time.time() - later)
    env = _env(database_url, tmp_path / "data", fake_slack)
    with _bot(env, tmp_path) as first:
        _wait(lambda: len(fake_slack.all_messages()) >= 40, 60, "the fan-out to start")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    killed_at = len(fake_slack.all_messages())
    assert killed_at < 200, "the fan-out finished before the kill; the test proves nothing"
    left_posting = asyncio.run(_as_if_restarted_later(database_url, later))
    print(f"killed after {killed_at} posts, {left_posting} ledger row(s) left posting")
    with _bot(env, tmp_path):
        _wait(lambda: all(_digests(fake_slack, channel) >= 1 for channel in channels), 480, "every digest")
        time.sleep(3)  # anything posted twice would show up now
    assert {channel: _digests(fake_slack, channel) for channel in channels} == dict.fromkeys(channels, 1)


@pytest.mark.slow
def test_two_replicas_on_postgresql_post_every_digest_and_alert_exactly_once(
    pg_url: str, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    channels = [f"CREP{index:03d}" for index in range(60)]
    for channel in [*channels, "CALERT"]:
        fake_slack.add_channel(channel)
    rest = RestSimulator(plan="pro")
    rest.revoke_key()  # the health alert: the key is rejected
    with served(rest.app) as server:
        rest_url = server.url + "/v1"
        settings = _settings(
            pg_url,
            tmp_path / "data",
            fake_slack,
            rest_api_url=rest_url,
            rest_api_key=rest.api_key,
            rest_probe_path="/account",
        )
        asyncio.run(_subscribe_due_digests(settings, channels, health_channel="CALERT"))
        fake_slack.slow("chat.postMessage", 0.02)
        env = _env(
            pg_url,
            tmp_path / "data",
            fake_slack,
            REST_API_URL=rest_url,
            REST_API_KEY=rest.api_key,
            REST_PROBE_PATH="/account",
            SPENDBOT_CHECK_INTERVAL="10",
        )
        with _bot(env, tmp_path) as first, _bot(env, tmp_path) as second:
            _wait(lambda: all(_digests(fake_slack, channel) >= 1 for channel in channels), 90, "every digest")
            _wait(lambda: fake_slack.channel_messages("CALERT"), 90, "the health alert")
            # Each replica then runs its next digest tick and its next check (at least its second of
            # each): anything either would post twice shows up then. Read from their /metrics rather
            # than slept for, so a slow machine cannot end the wait before those ticks ran.
            replicas = (first, second)
            seen = {(p.pid, job): _job_runs(p, job) for p in replicas for job in ("digests", "checks")}
            _wait(
                lambda: all(
                    _job_runs(p, job) >= max(2, seen[p.pid, job] + 1)
                    for p in replicas
                    for job in ("digests", "checks")
                ),
                90,
                "each replica's next digest and check ticks",
            )
    assert {channel: _digests(fake_slack, channel) for channel in channels} == dict.fromkeys(channels, 1)
    alerts = [message for message in fake_slack.channel_messages("CALERT") if message.thread_ts is None]
    assert len(alerts) == 1 and "cannot fetch data" in alerts[0].text


@pytest.mark.slow
def test_two_replicas_on_postgresql_share_one_workspace_posting_allowance(
    pg_url: str, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    """400 digests due at once, two processes: Slack allows 300 posts a minute per workspace, so the
    replicas together must post 300, then wait for the minute to pass. Each alone would let its own
    limiter post 300 at once, and the fake (which enforces the limit) would refuse with 429s."""
    channels = [f"CPACE{index:03d}" for index in range(400)]
    for channel in channels:
        fake_slack.add_channel(channel)
    fake_slack.enforce_post_limits(PostLimits(per_workspace_per_minute=300))
    asyncio.run(_subscribe_due_digests(_settings(pg_url, tmp_path / "data", fake_slack), channels))
    env = _env(pg_url, tmp_path / "data", fake_slack)
    with _bot(env, tmp_path) as first, _bot(env, tmp_path) as second:
        _wait(lambda: all(_digests(fake_slack, channel) >= 1 for channel in channels), 150, "every digest")
        sent = [_digests_sent(process) for process in (first, second)]
    assert {channel: _digests(fake_slack, channel) for channel in channels} == dict.fromkeys(channels, 1)
    assert fake_slack.rate_limited == 0  # not one post over the workspace's allowance
    assert len(fake_slack.calls("chat.postMessage")) == 400
    assert sum(sent) == 400 and min(sent) > 0, sent  # both replicas posted


def _metric_lines(process: subprocess.Popen[str]) -> list[str]:
    """A bot process's /metrics, by line (its port is its last argument)."""
    text = httpx.get(f"http://127.0.0.1:{process.args[-1]}/metrics", timeout=5).text  # type: ignore[index]
    return text.splitlines()


def _job_runs(process: subprocess.Popen[str], job: str) -> int:
    """How many runs of the scheduler's ``job`` a bot process has finished, whatever their outcome."""
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in _metric_lines(process)
        if line.startswith("spendbot_scheduled_jobs_total{") and f'job="{job}"' in line
    )


def _digests_sent(process: subprocess.Popen[str]) -> int:
    """The digests a bot process posted, from its own /metrics (its port is its last argument)."""
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in _metric_lines(process)
        if line.startswith("spendbot_deliveries_total{")
        and 'kind="digest"' in line
        and 'outcome="sent"' in line
    )


SIGTERM_RUNS = int(os.environ.get("SPENDBOT_SIGTERM_RUNS", "10"))
"""Processes stopped with SIGTERM mid fan-out; 50 were run once by hand (bench/README.md's note)."""


@pytest.mark.slow
def test_sigterm_mid_fan_out_stops_within_5_seconds_every_time_with_nothing_logged_as_an_error(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    channels = [f"CTERM{index:03d}" for index in range(50)]
    for channel in channels:
        fake_slack.add_channel(channel)
    fake_slack.slow("chat.postMessage", 0.2)  # posts in flight when the signal lands
    stops: list[float] = []
    for run in range(SIGTERM_RUNS):
        data = tmp_path / f"run{run}"
        database_url = f"sqlite:///{data / 'spendbot.db'}"
        asyncio.run(_subscribe_due_digests(_settings(database_url, data, fake_slack), channels))
        before = len(fake_slack.all_messages())
        with _bot(_env(database_url, data, fake_slack, LOG_LEVEL="INFO"), data) as bot:
            _wait(
                lambda start=before: len(fake_slack.all_messages()) >= start + 3, 60, "the fan-out to start"
            )
            signalled = time.monotonic()
            bot.send_signal(signal.SIGTERM)
            try:
                bot.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pytest.fail(f"run {run}: still running 15 s after SIGTERM")
            stops.append(time.monotonic() - signalled)
        assert len(fake_slack.all_messages()) - before < len(channels), f"run {run}: the fan-out had ended"
        logged = next(data.glob("bot-*.log")).read_text()
        assert "spendbot stopped" in logged, logged[-2000:]
        assert "Traceback" not in logged and "[error" not in logged, logged[-2000:]
    median = sorted(stops)[len(stops) // 2]
    print(f"SIGTERM to exit over {len(stops)} runs: max {max(stops):.2f} s, median {median:.2f} s")
    assert max(stops) < 5, f"seconds from SIGTERM to exit: {sorted(stops)}"
