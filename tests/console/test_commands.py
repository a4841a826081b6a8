"""``spendbot demo``, ``check`` and ``sync`` as a person runs them: exit codes and readable lines."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.simulators.cursor import CursorSimulator
from bot.simulators.rest import RestSimulator
from bot.simulators.serving import served
from bot.simulators.slack import FakeSlack
from bot.simulators.windsurf import WindsurfSimulator
from tests.conftest import BOT_TOKEN, SIGNING_SECRET

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
MONEY = re.compile(r"\$[\d,]+\.\d{2}")


def _base_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "PYTHONPATH", "SYSTEMROOT", "TMPDIR")
    return {name: value for name, value in os.environ.items() if name in keep}


def _spendbot(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**_base_env(), "COLUMNS": "120", **env},  # a test may ask for another width
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize("columns", ["40", "200"])
def test_the_demo_reaches_its_console_prompt_offline_and_exits_cleanly_on_eof(
    tmp_path: Path, columns: str
) -> None:
    """The real command, today, in a narrow and a wide terminal. What the demo shows on any day is
    tests/console/test_demo.py's job; here the terminal output is read with its line breaks undone
    (rich wraps at spaces, so joining the words gives back what was printed)."""
    result = _spendbot("demo", env={"COLUMNS": columns}, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    out = " ".join(result.stdout.split())
    assert "No Slack app, no vendor key and no network are needed" in out
    assert str(tmp_path / "data" / "demo") in out  # where the data is
    for name in ("OK cursor (cursor)", "OK windsurf (windsurf)", "OK rest (rest)"):
        assert name in out
    status = out.split("What Slack would show", 1)[1]
    assert "spendbot status" in status
    assert "Cursor (environment)" in status and "Windsurf (environment)" in status
    assert MONEY.search(status)
    assert "Alerts posted by the scheduled check" in status and "Posted in #console" in status
    assert "The daily digest" in status and "Open alerts" in status
    chart = re.search(r"Chart saved as (\S+\.png)", status)
    assert chart is not None and Path(chart.group(1)).is_file()
    assert out.endswith("/spend>")  # the console's prompt, then EOF
    # The operator's own database is never touched.
    assert not (tmp_path / "data" / "spendbot.db").exists()


@dataclass
class Vendors:
    cursor: CursorSimulator
    windsurf: WindsurfSimulator
    rest: RestSimulator
    env: dict[str, str]


@pytest.fixture
def vendors(fake_slack: FakeSlack, tmp_path: Path) -> Iterator[Vendors]:
    """Small simulators at their real pace, and the environment that declares one connection of each."""
    cursor = CursorSimulator(team_size=4, days=40, seed=31, now=NOW)
    windsurf = WindsurfSimulator(team_size=3, days=40, seed=32, now=NOW)
    rest = RestSimulator(plan="pro", now=NOW)
    with served(cursor.app) as c, served(windsurf.app) as w, served(rest.app) as r:
        env = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake_slack.api_url,
            "SPENDBOT_DATA_DIR": str(tmp_path / "data"),
            "CURSOR_API_KEY": cursor.api_key,
            "CURSOR_API_URL": c.url,
            "WINDSURF_SERVICE_KEY": windsurf.service_key,
            "WINDSURF_API_URL": w.url + "/api/v1",
            "REST_API_KEY": rest.api_key,
            "REST_API_URL": r.url + "/v1",
            "REST_PROBE_PATH": "/account",
        }
        yield Vendors(cursor, windsurf, rest, env)


def test_check_says_ok_for_each_item(vendors: Vendors, tmp_path: Path) -> None:
    assert _spendbot("db", "upgrade", env=vendors.env, cwd=tmp_path).returncode == 0
    result = _spendbot("check", env=vendors.env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "OK settings: http mode, 3 connections declared in the environment"
    assert lines[1] == "OK slack: bot token of workspace Acme (T0001)"
    assert lines[2].startswith("OK database: sqlite:///") and "migrations at head" in lines[2]
    assert lines[3:] == [
        "OK cursor (cursor, environment)",
        "OK windsurf (windsurf, environment)",
        "OK rest (rest, environment)",
    ]


def test_check_fails_with_the_reason_on_a_bad_key_and_never_prints_a_key(
    vendors: Vendors, tmp_path: Path
) -> None:
    assert _spendbot("db", "upgrade", env=vendors.env, cwd=tmp_path).returncode == 0
    vendors.cursor.revoke_key()
    wrong = "ws-svc-not-the-real-one-0123456789"
    result = _spendbot("check", env={**vendors.env, "WINDSURF_SERVICE_KEY": wrong}, cwd=tmp_path)
    assert result.returncode == 1
    out = result.stdout
    cursor = next(line for line in out.splitlines() if line.startswith("FAIL cursor"))
    assert cursor.startswith(
        "FAIL cursor (cursor, environment): key rejected — Cursor did not accept this key"
    )
    windsurf = next(line for line in out.splitlines() if line.startswith("FAIL windsurf"))
    assert "key rejected — Windsurf did not accept this key" in windsurf
    assert "OK rest (rest, environment)" in out
    for secret in (wrong, vendors.cursor.api_key, vendors.rest.api_key, BOT_TOKEN):
        assert secret not in out + result.stderr


def test_check_names_a_missing_database_and_unusable_settings(tmp_path: Path) -> None:
    result = _spendbot("check", env={"SPENDBOT_DATA_DIR": str(tmp_path / "data")}, cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("FAIL settings: SLACK_SIGNING_SECRET is required in HTTP mode")
    assert lines[1].startswith("FAIL database: no database at ") and "spendbot db upgrade" in lines[1]
    assert not (tmp_path / "data" / "spendbot.db").exists()


def test_sync_backfills_with_a_summary_per_connection(vendors: Vendors, tmp_path: Path) -> None:
    env = {**vendors.env, "SPENDBOT_ENV_TEAM_ID": "T0001"}
    result = _spendbot("sync", "--backfill", "30d", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Syncing 3 connections, re-fetching 30 days of usage:" in out
    assert "cursor · usage" in out and "req" in out and "waited" in out
    summary = re.search(
        r"^OK cursor \(cursor\): 4 datasets, ([\d,]+) rows, (\d+) requests", out, re.MULTILINE
    )
    assert summary is not None and int(summary.group(1).replace(",", "")) > 0, out
    assert re.search(r"^OK windsurf \(windsurf\): ", out, re.MULTILINE)
    assert re.search(r"^OK rest \(rest\): ", out, re.MULTILINE)

    only = _spendbot("sync", "windsurf", env=env, cwd=tmp_path)
    assert only.returncode == 0 and "Syncing 1 connection:" in only.stdout


def test_sync_says_what_is_wrong_in_one_line(vendors: Vendors, tmp_path: Path) -> None:
    env = {**vendors.env, "SPENDBOT_ENV_TEAM_ID": "T0001"}
    unknown = _spendbot("sync", "nope", env=env, cwd=tmp_path)
    assert unknown.returncode == 2
    assert unknown.stderr.strip().splitlines()[-1] == (
        "spendbot: there is no connection named 'nope'; known connections: cursor, rest, windsurf"
    )
    bad = _spendbot("sync", "--backfill", "5w", env=env, cwd=tmp_path)
    assert bad.returncode == 2 and "--backfill takes a number of days from 1 to 400" in bad.stderr
    vendors.windsurf.revoke_key()
    failed = _spendbot("sync", "windsurf", env=env, cwd=tmp_path)
    assert failed.returncode == 1
    assert "FAIL windsurf (windsurf): " in failed.stdout and "Traceback" not in failed.stderr
