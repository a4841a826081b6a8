"""What an operator watches: JSON log lines, and real figures on ``/metrics`` after a sync."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
import structlog
from prometheus_client.parser import text_string_to_metric_families

from bot.logs import configure_logging
from tests.commands.conftest import (
    World,
    anthropic_declared,
    copilot_declared,
    copilot_options,
    openai_declared,
    settings_overrides,
    synced,
    synced_states,
    windsurf_options,
    world,
)

__all__ = [
    "anthropic_declared",
    "copilot_declared",
    "copilot_options",
    "openai_declared",
    "settings_overrides",
    "synced",
    "synced_states",
    "windsurf_options",
    "world",
]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging replaces the root handlers; give pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    structlog.reset_defaults()


@pytest.mark.usefixtures("restore_logging")
def test_json_logs_are_one_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    logging.getLogger("bot.test").info("synced %s: %d requests", "cursor", 38)
    structlog.get_logger("bot.test").warning("limiter waited", seconds=1.5)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["event"] == "synced cursor: 38 requests" and first["level"] == "info"
    assert second["event"] == "limiter waited" and second["level"] == "warning" and second["seconds"] == 1.5
    for record in (first, second):
        assert record["timestamp"].endswith("Z") and record["logger"] == "bot.test"


FORGED = "help\n2026-12-02T00:00:00Z [error    ] forged line [bot.server]\r\x1b[2J\u2028end"


def _log_forgeries() -> None:
    logging.getLogger("bot.test").info("command text %r then %s", "a\nb", FORGED)
    structlog.get_logger("bot.test").warning("typed", text=FORGED)
    try:
        raise ValueError(FORGED)
    except ValueError:
        logging.getLogger("bot.test").exception("failed on %s", "x\ny")


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("fmt", ["console", "json"])
def test_a_record_stays_one_line_whatever_its_text_holds(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", fmt)
    _log_forgeries()
    err = capsys.readouterr().err
    lines = err.split("\n")
    assert lines[-1] == "" and len(lines) == 4, err  # three records, three lines
    assert not any(char in err for char in "\r\x1b\u2028")
    assert sum("forged line" in line for line in lines) == 3  # still there, inside each record
    if fmt == "json":
        first, second, third = (json.loads(line) for line in lines[:3])
        assert FORGED in first["event"] and second["text"] == FORGED
        assert "ValueError" in third["exception"] and "Traceback" in third["exception"]
    else:
        assert "\\n2026-12-02T00:00:00Z [error" in lines[0]
        assert "Traceback" in lines[2] and "ValueError" in lines[2]


@pytest.mark.usefixtures("restore_logging")
def test_a_huge_message_is_clipped_not_written_whole(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "console")
    logging.getLogger("bot.test").warning("unhandled request %s", "x" * 5_000_000)
    err = capsys.readouterr().err
    assert len(err) < 20_000 and "more characters" in err and err.count("\n") == 1


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_show_sync_durations_and_vendor_requests_after_a_sync(synced: World) -> None:
    text = httpx.get(f"{synced.bot.url}/metrics", timeout=10).text
    samples = _samples(text)
    for vendor in ("cursor", "windsurf", "rest"):
        labels = frozenset({("vendor", vendor), ("outcome", "ok")})
        assert samples[("spendbot_sync_seconds_count", labels)] >= 1
        assert samples[("spendbot_sync_seconds_sum", labels)] > 0
        ok_requests = sum(
            value
            for (name, found), value in samples.items()
            if name == "spendbot_vendor_requests_total"
            and ("vendor", vendor) in found
            and ("status", "200") in found
        )
        assert ok_requests >= 1, vendor
    # The other operator-facing families are declared (at zero until something happens).
    for family in (
        "spendbot_vendor_rate_limited_total",
        "spendbot_limiter_wait_seconds_total",
        "spendbot_deliveries_total",
        "spendbot_alert_transitions_total",
    ):
        assert f"# TYPE {family} counter" in text


async def test_the_shutdown_cancels_what_runs_and_names_what_outlives_its_grace(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bot.server import _drain

    released = asyncio.Event()

    async def stubborn() -> None:
        while not released.is_set():  # swallows cancellations: it would hold asyncio.run, and the process
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue

    polite = asyncio.create_task(asyncio.sleep(3600), name="polite")
    held = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING, logger="bot.server"):
        started = asyncio.get_running_loop().time()
        assert await _drain(0.2) == [held]
    assert asyncio.get_running_loop().time() - started < 1
    assert polite.cancelled()
    assert "task stubborn did not stop within 0.2 s of the shutdown (in stubborn:" in caplog.text
    released.set()
    held.cancel()
    await asyncio.wait({held}, timeout=1)
    assert held.done()


def test_a_rollback_cancelled_by_the_stop_is_one_info_line_not_an_error_trace(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO")
    try:
        raise asyncio.CancelledError
    except asyncio.CancelledError:
        logging.getLogger("sqlalchemy.pool.impl.AsyncAdaptedQueuePool").exception("Exception during reset")
    logging.getLogger("sqlalchemy.pool.impl.QueuePool").error("a real pool error")
    err = capsys.readouterr().err
    assert "[info     ] a database connection's rollback was cancelled by the shutdown" in err
    assert "Traceback" not in err and "Exception during reset" not in err
    assert "[error    ] a real pool error" in err
