"""Logging: human-readable or JSON lines (``LOG_FORMAT``), through structlog, with secrets scrubbed.

Every record is one line, whatever its message holds: the console format escapes line breaks and
control characters (a traceback included), and JSON escapes them by itself. So a value someone typed
can neither forge a record nor split one.

Code is written so that keys never reach a log call; scrubbing is the second line of defence. Every
secret the process knows (Slack tokens, vendor keys as they are decrypted) is registered here, and any
log line containing one, or anything shaped like a Slack token or a Cursor key, has it replaced.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import threading
from collections.abc import MutableMapping
from typing import Any

import structlog

_PATTERNS = re.compile(
    r"xox[abposr]-[0-9A-Za-z-]{6,}|xapp-[0-9A-Za-z-]{6,}|key_[0-9a-fA-F]{32,}|(?i:bearer\s+)[^\s\"']{8,}"
)
_known: set[str] = set()
_known_lock = threading.Lock()
_known_pattern: re.Pattern[str] | None = None
REDACTED = "[redacted]"


def register_secret(value: str | None) -> None:
    """Remember a secret so that every later log line has it scrubbed (values under 6 chars are ignored)."""
    global _known_pattern
    if not value or len(value) < 6:
        return
    with _known_lock:
        if value in _known:
            return
        _known.add(value)
        ordered = sorted(_known, key=len, reverse=True)
        _known_pattern = re.compile("|".join(re.escape(item) for item in ordered))


def scrub(text: str) -> str:
    """Replace every registered secret and every token-shaped string in ``text``."""
    pattern = _known_pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    return _PATTERNS.sub(REDACTED, text)


class ScrubbingFilter(logging.Filter):
    """Rewrites a stdlib record's message with its arguments merged in and scrubbed.

    Tracebacks are scrubbed later, after ``format_exc_info`` has rendered them (see ``_scrub_event``).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, dict):  # a structlog event: scrubbed by _scrub_event after rendering
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not hide the rest of the log
            message = str(record.msg)
        record.msg = _clip(scrub(message))
        record.args = None
        return True


MAX_FIELD_CHARS = 16_000
"""Longest text kept in one field of a record (a long traceback fits): a log never grows with input."""


def _scrub_event(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> dict[str, Any]:
    return {key: _clip(scrub(value)) if isinstance(value, str) else value for key, value in event.items()}


def _clip(text: str) -> str:
    if len(text) <= MAX_FIELD_CHARS:
        return text
    return f"{text[:MAX_FIELD_CHARS]}… ({len(text) - MAX_FIELD_CHARS} more characters)"


# Line breaks (\n, \r, \v, \f, NEL, U+2028/9) and every other control character: what could end a
# record early, forge a new one, or drive a terminal.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(text: str) -> str:
    """``text`` with line breaks and control characters escaped (``\\n``, ``\\x1b``), so it stays one line."""
    return _CONTROL.sub(_escape_control, text)


def _escape_control(match: re.Match[str]) -> str:
    char = match[0]
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def _one_line_event(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> dict[str, Any]:
    """Console format: every text field escaped, and a traceback kept as a field on the same line.

    (The JSON renderer escapes control characters by itself, so a JSON record is one line already.)
    """
    lines = dict(event)
    for multiline in ("stack", "exception"):  # ConsoleRenderer would print these on lines of their own
        if isinstance(lines.get(multiline), str):
            lines["event"] = f"{lines.get('event', '')}\n{lines.pop(multiline)}"
    return {key: one_line(value) if isinstance(value, str) else value for key, value in lines.items()}


class CancelledResetFilter(logging.Filter):
    """SQLAlchemy's pool logs an ERROR with a trace when the rollback of a connection being returned is
    cancelled, which is what a stop does to a job mid-transaction: the connection is discarded and
    nothing is lost (the transaction was not committed). Such a record becomes one INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if record.name.startswith("sqlalchemy.pool") and isinstance(error, asyncio.CancelledError):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args, record.exc_info, record.exc_text = (
                "a database connection's rollback was cancelled by the shutdown; the connection is discarded",
                None,
                None,
                None,
            )
        return True


def configure_logging(level: str = "INFO", fmt: str = "console") -> None:
    """Route stdlib and structlog logs through one handler on stderr, as console text or JSON lines."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _scrub_event,
            *([] if fmt == "json" else [_one_line_event]),
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(CancelledResetFilter())
    handler.addFilter(ScrubbingFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # These log every request or statement at INFO/DEBUG: worth seeing only when debugging.
    quiet = logging.DEBUG if level == "DEBUG" else logging.WARNING
    for noisy in (
        "httpx",
        "httpcore",
        "aiosqlite",
        "asyncio",
        "apscheduler.executors.default",
        "alembic.runtime.plugins",
        "alembic.runtime.migration",
    ):
        logging.getLogger(noisy).setLevel(quiet)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
