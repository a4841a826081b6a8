"""The command line as a person meets it: one readable line on bad settings, a clean SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.simulators.serving import free_port
from bot.simulators.slack import FakeSlack
from tests.conftest import BOT_TOKEN, SIGNING_SECRET


def _spendbot(*args: str, env: dict[str, str] | None = None, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env={**_base_env(), **(env or {})},
        cwd=cwd,
        timeout=60,
        check=False,
    )


def _base_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "PYTHONPATH", "SYSTEMROOT", "TMPDIR")
    return {name: value for name, value in os.environ.items() if name in keep}


def test_run_without_slack_tokens_says_what_to_set_in_one_line(tmp_path: Path) -> None:
    result = _spendbot("run", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "SLACK_SIGNING_SECRET is required in HTTP mode" in lines[0]
    assert "Traceback" not in result.stderr


def test_an_invalid_setting_is_named_in_one_line(tmp_path: Path) -> None:
    result = _spendbot("run", env={"SPENDBOT_CHECK_INTERVAL": "often"}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "SPENDBOT_CHECK_INTERVAL" in result.stderr and "'often'" in result.stderr


def test_a_secret_is_never_echoed_in_a_settings_error(tmp_path: Path) -> None:
    result = _spendbot("run", env={"SLACK_CLIENT_SECRET": "s3cr3t-client-value"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "s3cr3t-client-value" not in result.stderr
    assert "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET must be set together" in result.stderr


def test_settings_come_from_a_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SPENDBOT_TIMEZONE=Nowhere/Land\n")
    result = _spendbot("run", cwd=tmp_path)
    assert "SPENDBOT_TIMEZONE" in result.stderr and "Nowhere/Land" in result.stderr


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    result = _spendbot("db", "upgrade", env={"SPENDBOT_DATA_DIR": str(tmp_path / "d")}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "d" / "spendbot.db").exists()
    again = _spendbot("db", "upgrade", env={"SPENDBOT_DATA_DIR": str(tmp_path / "d")}, cwd=tmp_path)
    assert again.returncode == 0


def test_python_dash_m_and_the_console_script_agree(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("spendbot")
    if not script.exists():
        pytest.skip("the spendbot console script is not installed in this environment")
    result = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, env=_base_env(), cwd=tmp_path, check=False
    )
    assert result.returncode == 0 and "run" in result.stdout and "db" in result.stdout


def test_sigterm_stops_the_bot_cleanly(tmp_path: Path, fake_slack: FakeSlack) -> None:
    port = free_port()
    env = {
        **_base_env(),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "SPENDBOT_DATA_DIR": str(tmp_path / "data"),
        "LOG_FORMAT": "json",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("the bot did not become healthy")
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "spendbot stopped" in stderr
    assert SIGNING_SECRET not in stderr and BOT_TOKEN not in stderr


def test_a_taken_port_is_one_readable_line(tmp_path: Path, fake_slack: FakeSlack) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _spendbot(
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            env={
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": fake_slack.api_url,
                "SPENDBOT_DATA_DIR": str(tmp_path / "data"),
            },
            cwd=tmp_path,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
