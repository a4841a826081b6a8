"""A team id becomes part of a chart's file name: one that is not shaped like a Slack id never does."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.domain.slack_ids import InvalidSlackId
from bot.services.charts import ChartService
from bot.services.slack_api import SlackApi
from bot.settings import Settings
from bot.store.charts import ChartFileRepository
from bot.store.db import Database
from bot.store.models import Connection


async def test_a_chart_for_a_team_id_that_is_not_one_is_never_written(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    database = Database(f"sqlite:///{tmp_path / 'data' / 'charts.db'}")
    charts = ChartService(
        settings, database, ChartFileRepository(database), SlackApi(settings), clock=lambda: datetime.now(UTC)
    )
    connection = Connection(
        id=1, team_id="T1", name="c", vendor="cursor", base_url="http://x", created_at=datetime.now(UTC)
    )
    try:
        with pytest.raises(InvalidSlackId):
            await charts.render("../../x", [connection], date(2026, 11, 20))
    finally:
        await database.dispose()
    assert list(tmp_path.rglob("*.png")) == []
