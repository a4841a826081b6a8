"""The demo's digest-and-alerts step reads every shape a preview comes in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.console.demo import previews
from bot.slack.blocks import Message


@dataclass
class _Chart:
    path: Path


def test_previews_pair_each_message_with_its_chart() -> None:
    digest, alert = Message("digest"), Message("alert")
    chart = Path("/tmp/charts/spend.png")
    assert previews(None) == []
    assert previews(alert) == [(alert, None)]
    assert previews((digest, _Chart(chart))) == [(digest, chart)]
    assert previews((digest, None)) == [(digest, None)]
    assert previews([(digest, chart), alert]) == [(digest, chart), (alert, None)]
