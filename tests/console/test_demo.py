"""``spendbot demo`` shows every alert README promises, on any day and at any terminal width.

The demo is run in-process with its minute pinned, and the assertions read the messages as Slack would
have them (``Turn.texts``), never the wrapped terminal lines.
"""

from __future__ import annotations

import asyncio
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from bot.console.demo import DemoShown, demo_session, show_what_slack_shows
from bot.settings import Settings
from tests.console.conftest import ScriptedReader

BUDGET_FORECAST = re.compile(r"Budget \$[\d,]+0\.00 \(cursor\): forecast to be exceeded")
DAYS = (
    datetime(2026, 12, 1, 0, 5, tzinfo=UTC),  # the 1st of a month (the day `make test` failed)
    datetime(2026, 11, 30, 23, 55, tzinfo=UTC),  # the last day of a month, just before midnight
    datetime(2027, 1, 31, 12, 0, tzinfo=UTC),  # a 31st: no cycle can start on it
    datetime(2026, 11, 15, 9, 0, tzinfo=UTC),  # the simulators' default Windsurf cycle reset
    datetime(2026, 11, 24, 9, 0, tzinfo=UTC),  # the simulators' default Cursor cycle reset
    datetime(2028, 2, 29, 18, 30, tzinfo=UTC),  # a leap day
)


def _run(tmp_path: Path, now: datetime, width: int) -> tuple[DemoShown, str]:
    output = io.StringIO()
    console = Console(file=output, width=width, color_system=None, force_terminal=False)
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]

    async def main() -> DemoShown:
        async with demo_session(settings, console, reader=ScriptedReader(), now=now) as session:
            return await show_what_slack_shows(session)

    return asyncio.run(main()), output.getvalue()


# Every day at a narrow or a wide terminal, alternately (the messages do not depend on the width; the
# full matrix of days and both widths passed too, it just takes twice as long).
CASES = [(day, 40 if index % 2 == 0 else 200) for index, day in enumerate(DAYS)]


@pytest.mark.parametrize(("now", "width"), CASES, ids=[f"{day:%Y-%m-%d}-{width}cols" for day, width in CASES])
def test_the_demo_shows_every_alert_on_any_day(tmp_path: Path, now: datetime, width: int) -> None:
    shown, terminal = _run(tmp_path, now, width)
    status = shown.status.texts
    assert "Cursor" in status and "Windsurf" in status and "REST" in status
    # Issue 13: one connection of every vendor, each synced.
    assert all(name in status for name in ("OpenAI", "Anthropic", "Copilot")), status
    assert "failed" not in terminal.split("What Slack would show")[0]
    assert "This cycle:" in status and "left at the current burn" in status
    alerts = shown.alerts.texts
    # README's Quickstart: a Windsurf pool that runs dry before its cycle resets...
    assert "Windsurf: credits running low" in alerts
    assert "Top up by" in alerts
    # ...and a Cursor budget the team is forecast to pass.
    assert BUDGET_FORECAST.search(alerts), alerts
    assert "Snooze 24h" in alerts
    digest = shown.digest.texts
    assert "Open alerts" in digest
    assert "Traceback" not in terminal
