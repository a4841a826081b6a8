"""Keys at rest: encrypted in the database, absent from logs and Slack, re-encrypted by ``rotate-key``."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from bot.services.connect import rotate_stored_keys
from bot.services.container import Services
from bot.services.secrets import SecretBox, SecretKeyError
from bot.settings import Settings
from bot.simulators.cursor import CursorSimulator
from bot.simulators.rest import RestSimulator
from bot.simulators.serving import free_port
from bot.simulators.slack import FakeSlack, SignedRequests
from bot.simulators.windsurf import WindsurfSimulator
from bot.store.db import Database
from tests.conftest import BOT_TOKEN, SIGNING_SECRET
from tests.connections.conftest import ADMIN, LISTED, MEMBER, TEAM, cursor_form, on_bot, rows, settle
from tests.connections.driver import SlackDriver, answer_text
from tests.support.bot import BotThread


def forms_of_a_key(key: str) -> list[bytes]:
    """The key as it could leak: itself, and its base64 forms (plain, URL-safe, as a Basic-auth user)."""
    raw = key.encode()
    forms = [raw]
    for payload in (raw, raw + b":"):
        forms.append(base64.b64encode(payload).rstrip(b"="))
        forms.append(base64.urlsafe_b64encode(payload).rstrip(b"="))
    return forms


def database_bytes(settings: Settings) -> bytes:
    """The SQLite file and its WAL and shared-memory files, as raw bytes."""
    path = Path(settings.database_url.removeprefix("sqlite:///"))
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    found = [file.read_bytes() for file in files if file.exists()]
    assert found and len(found[0]) > 0
    return b"".join(found)


async def test_no_key_is_found_in_the_database_file_logs_or_slack(
    make_settings: Callable[..., Settings],
    signed: SignedRequests,
    fake_slack: FakeSlack,
    people: None,
    cursor_sim: CursorSimulator,
    windsurf_sim: WindsurfSimulator,
    rest_sim: RestSimulator,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = make_settings(admins=LISTED, cursor_api_url=cursor_sim.url, log_level="DEBUG")  # type: ignore[attr-defined]
    wrong_key = "ws-svc-wrong-" + "9" * 30
    keys = [cursor_sim.api_key, windsurf_sim.service_key, rest_sim.api_key, wrong_key]
    with BotThread(settings) as bot:
        slack = SlackDriver(bot, signed, fake_slack)
        windsurf_url = windsurf_sim.url  # type: ignore[attr-defined]
        rest_url = rest_sim.url  # type: ignore[attr-defined]
        await slack.submit(cursor_form(cursor_sim), user=ADMIN)
        await slack.submit(
            {"name": "ws", "key": wrong_key, "base_url": windsurf_url}, user=ADMIN, vendor="windsurf"
        )
        await slack.submit(
            {"name": "ws", "key": windsurf_sim.service_key, "base_url": windsurf_url},
            user=ADMIN,
            vendor="windsurf",
        )
        await slack.submit(
            {
                "name": "api",
                "key": rest_sim.api_key,
                "base_url": rest_url,
                "probe_path": "/v1/account",
                "track": "/v1/usage#data.credits_remaining",
            },
            user=LISTED,
            vendor="rest",
        )
        await slack.submit(cursor_form(cursor_sim, name="second"), user=MEMBER)  # refused, key never stored
        settle(bot)
        assert sorted(row.name for row in rows(bot)) == ["api", "cursor", "ws"]
        said = [
            answer_text(await slack.command("connections", user=MEMBER)),
            answer_text(await slack.command("audit", user=ADMIN)),
        ]
        stored = database_bytes(settings)
    stored += database_bytes(settings)  # after a clean stop too (WAL checkpointed)
    logs = caplog.text + "\n".join(record.getMessage() for record in caplog.records)
    slack_traffic = (
        repr(fake_slack.calls_log) + repr(fake_slack.responses) + repr(fake_slack.views) + "".join(said)
    )
    streams = "".join(capfd.readouterr())
    for key in keys:
        for form in forms_of_a_key(key):
            assert form not in stored, f"key material in the database file: {form[:6]!r}…"
            text_form = form.decode()
            assert text_form not in logs, "key material in the logs"
            assert text_form not in slack_traffic, "key material sent to Slack"
            assert text_form not in streams, "key material on stdout/stderr"
    assert any(record.levelno == logging.DEBUG for record in caplog.records)  # DEBUG was really captured


async def test_without_a_configured_key_one_is_generated_once_with_mode_0600_and_its_place_logged(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = make_settings()
    services = Services.create(settings)
    try:
        await services.start(identify_workspace=False)
    finally:
        await services.close()
    key_file = settings.data_dir / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert str(key_file) in caplog.text
    first = key_file.read_text()
    again = Services.create(settings)
    try:
        await again.start(identify_workspace=False)
    finally:
        await again.close()
    assert key_file.read_text() == first


async def test_postgresql_without_a_secret_key_refuses_to_start(
    pg_url: str, make_settings: Callable[..., Settings]
) -> None:
    services = Services.create(make_settings(database_url=pg_url))
    try:
        with pytest.raises(SecretKeyError, match="required with PostgreSQL"):
            await services.start(identify_workspace=False)
    finally:
        await services.close()


async def test_a_key_connected_on_one_postgresql_replica_is_read_by_another(
    pg_url: str, make_settings: Callable[..., Settings], cursor_sim: CursorSimulator
) -> None:
    settings = make_settings(
        database_url=pg_url,
        secret_key=Fernet.generate_key().decode(),
        cursor_api_url=cursor_sim.url,  # type: ignore[attr-defined]
    )
    first, replica = Services.create(settings), Services.create(settings)
    try:
        await first.start(identify_workspace=False)
        await replica.start(identify_workspace=False)
        form = first.connection_admin.read_form("cursor", {"name": "cursor", "key": cursor_sim.api_key})
        result = await first.connection_admin.validate_and_add(TEAM, ADMIN, form)
        assert result.connection is not None
        await first.connection_admin.first_syncs_done()
        row = await replica.connections.get(TEAM, "cursor")
        assert row is not None
        assert replica.connections.secret_of(row).get_secret_value() == cursor_sim.api_key
        report = await replica.sync.sync(row)
        assert report.ok, report.errors
        async with replica.db.engine.connect() as connection:
            dump = repr((await connection.execute(text("SELECT * FROM connections"))).all())
        assert cursor_sim.api_key not in dump
    finally:
        await first.close()
        await replica.close()


def _rotate_cli(settings: Settings, secret_key: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    keep = ("PATH", "HOME", "LANG", "PYTHONPATH", "TMPDIR")
    env = {name: value for name, value in os.environ.items() if name in keep}
    env.update(
        DATABASE_URL=settings.database_url,
        SPENDBOT_DATA_DIR=str(settings.data_dir),
        SPENDBOT_SECRET_KEY=secret_key,
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", "rotate-key"],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )


async def test_rotate_key_re_encrypts_under_the_first_key_and_the_old_key_can_go(
    make_settings: Callable[..., Settings],
    signed: SignedRequests,
    fake_slack: FakeSlack,
    people: None,
    cursor_sim: CursorSimulator,
    tmp_path: Path,
) -> None:
    old, new, newest = (Fernet.generate_key().decode() for _ in range(3))
    url = cursor_sim.url  # type: ignore[attr-defined]
    with BotThread(make_settings(secret_key=old, cursor_api_url=url)) as bot:
        await SlackDriver(bot, signed, fake_slack).submit(cursor_form(cursor_sim), user=ADMIN)
        settle(bot)
        (before,) = rows(bot)
    settings = make_settings(secret_key=f"{new},{old}")
    database = Database(settings.database_url)
    try:
        report = await rotate_stored_keys(database, SecretBox([new, old]))
        assert (report.rotated, report.current, report.failed) == (1, 0, [])
        assert "re-encrypted 1 stored key" in report.summary()
        again = await rotate_stored_keys(database, SecretBox([new, old]))
        assert (again.rotated, again.current) == (0, 1)
    finally:
        await database.dispose()

    only_new = Services.create(make_settings(secret_key=new, cursor_api_url=url))
    try:
        await only_new.start(identify_workspace=False)
        row = await only_new.connections.get(TEAM, "cursor")
        assert row is not None and row.secret_ciphertext != before.secret_ciphertext
        assert only_new.connections.secret_of(row).get_secret_value() == cursor_sim.api_key
    finally:
        await only_new.close()

    done = _rotate_cli(settings, f"{newest},{new}", tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines() == [
        "re-encrypted 1 stored key under the first key of SPENDBOT_SECRET_KEY (0 already were)"
    ]
    unknown = _rotate_cli(settings, Fernet.generate_key().decode(), tmp_path)
    assert unknown.returncode == 1
    assert len(unknown.stderr.strip().splitlines()) == 1 and "could not be decrypted" in unknown.stderr
    for result in (done, unknown):
        assert cursor_sim.api_key not in result.stdout + result.stderr
        assert newest not in result.stdout + result.stderr and new not in result.stdout + result.stderr


async def test_rotation_while_the_bot_runs_does_not_break_it(
    make_settings: Callable[..., Settings],
    signed: SignedRequests,
    fake_slack: FakeSlack,
    people: None,
    cursor_sim: CursorSimulator,
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    url = cursor_sim.url  # type: ignore[attr-defined]
    with BotThread(make_settings(secret_key=old, cursor_api_url=url)) as bot:
        await SlackDriver(bot, signed, fake_slack).submit(cursor_form(cursor_sim), user=ADMIN)
        settle(bot)
    # Step 1 of a rotation: every bot gets the new key first, the old one after it.
    settings = make_settings(secret_key=f"{new},{old}", cursor_api_url=url)
    with BotThread(settings) as bot:
        slack = SlackDriver(bot, signed, fake_slack)
        (row,) = rows(bot)
        assert on_bot(bot, lambda services: services.sync.sync(row)).ok
        # Step 2, from another process's point of view: re-encrypt while this bot keeps serving.
        database = Database(settings.database_url)
        try:
            assert (await rotate_stored_keys(database, SecretBox([new, old]))).rotated == 1
        finally:
            await database.dispose()
        (rotated,) = rows(bot)
        assert rotated.secret_ciphertext != row.secret_ciphertext
        report = on_bot(bot, lambda services: services.sync.sync(rotated))
        assert report.ok, report.errors
        listed = answer_text(await slack.command("connections", user=MEMBER))
        assert "`cursor`" in listed
        assert (await slack.submit(cursor_form(cursor_sim, name="another"), user=ADMIN))[0].json()[
            "response_action"
        ] == "update"


@dataclass
class _Process:
    url: str


async def test_a_bot_process_logging_at_debug_writes_no_key_to_stderr(
    tmp_path: Path, signed: SignedRequests, fake_slack: FakeSlack, people: None, cursor_sim: CursorSimulator
) -> None:
    port = free_port()
    keep = ("PATH", "HOME", "LANG", "PYTHONPATH", "TMPDIR")
    env = {name: value for name, value in os.environ.items() if name in keep}
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.api_url,
        SPENDBOT_DATA_DIR=str(tmp_path / "data"),
        CURSOR_API_URL=cursor_sim.url,  # type: ignore[attr-defined]
        LOG_LEVEL="DEBUG",
    )
    log_file = tmp_path / "bot.log"  # a file, not a pipe: DEBUG output would fill a pipe and stall the bot
    with log_file.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    wrong_key = "key_" + "7" * 64
    try:
        slack = SlackDriver(_Process(f"http://127.0.0.1:{port}"), signed, fake_slack)
        deadline = time.monotonic() + 30
        while not await _healthy(port):
            assert process.poll() is None and time.monotonic() < deadline, "the bot did not start"
            await asyncio.sleep(0.1)
        good = (await slack.submit(cursor_form(cursor_sim), user=ADMIN))[0].json()
        bad = (await slack.submit(cursor_form(cursor_sim, name="other", key=wrong_key), user=ADMIN))[0].json()
        assert good["response_action"] == "update" and bad["response_action"] == "errors"
        assert "`cursor`" in answer_text(await slack.command("connections", user=MEMBER))
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    output = log_file.read_text()
    assert process.returncode == 0, output[-2000:]
    assert "[debug" in output.lower() and "connection cursor (cursor) added" in output
    for key in (cursor_sim.api_key, wrong_key):
        for form in forms_of_a_key(key):
            assert form.decode() not in output


async def _healthy(port: int) -> bool:
    try:
        async with httpx.AsyncClient(timeout=1) as client:
            return (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
    except httpx.HTTPError:
        return False
