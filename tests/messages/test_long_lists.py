"""Every list renderer, fed thousands of rows: within Slack's limits, and "+N more" counts the rest.

One rule cuts every list (:func:`bot.messages.blocks.lines_sections`, then ``fit`` for the whole
message or view), so each renderer here must show some rows whole, say exactly how many it left out,
and never make a message Slack would refuse.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.domain.usage import Vendor
from bot.messages import home
from bot.messages.answers import Breakdown, BreakdownRow, Freshness, SpendAnswer, StatusAnswer, StatusCard
from bot.messages.blocks import (
    MAX_BLOCKS,
    MAX_CONTEXT_ELEMENTS,
    MAX_FIELD_TEXT,
    MAX_FIELDS,
    MAX_HEADER,
    MAX_TEXT,
    MAX_VIEW_BLOCKS,
    lines_sections,
)
from bot.messages.connections import AuditLine, ConnectionSummary, audit_blocks, connections_blocks
from bot.messages.home import AlertLine, HomeModel, home_view
from bot.messages.message import Block
from bot.messages.replies import BREAKDOWN_ROWS, spend_message
from bot.messages.subscriptions import (
    DeliveryLine,
    SubscriptionLine,
    deliveries_message,
    subscriptions_message,
)

NOW = datetime(2026, 11, 20, 9, 12, tzinfo=UTC)
ROWS = 3000
MORE = re.compile(r"^\+(\d+) more$")


def within_limits(blocks: list[Block], limit: int) -> None:
    """What Slack checks: block count, section and field texts, headers, context elements."""
    assert len(blocks) <= limit
    for block in blocks:
        if block["type"] == "section":
            if "text" in block:
                assert len(block["text"]["text"]) <= MAX_TEXT
            assert len(block.get("fields", [])) <= MAX_FIELDS
            assert all(len(item["text"]) <= MAX_FIELD_TEXT for item in block.get("fields", []))
        elif block["type"] == "header":
            assert len(block["text"]["text"]) <= MAX_HEADER
        elif block["type"] == "context":
            assert len(block["elements"]) <= MAX_CONTEXT_ELEMENTS
            assert all(len(element["text"]) <= MAX_TEXT for element in block["elements"])


def more_counts(blocks: list[Block]) -> list[int]:
    """The N of every "+N more" line, in order."""
    found = []
    for block in blocks:
        if block["type"] == "context":
            for element in block["elements"]:
                match = MORE.match(element["text"])
                if match:
                    found.append(int(match.group(1)))
    return found


def shown(blocks: list[Block], marker: str) -> int:
    """How many rows carrying ``marker`` are shown in section texts."""
    return sum(block["text"]["text"].count(marker) for block in blocks if block["type"] == "section")


def test_lines_sections_keeps_within_its_room_and_counts_every_line_it_left_out() -> None:
    lines = [f"row-{i} " + "x" * 700 for i in range(ROWS)]
    for room in (1, 2, 10, MAX_BLOCKS):
        blocks = lines_sections(lines, max_lines=None, room=room)
        within_limits(blocks, room)
        assert more_counts(blocks) == [ROWS - shown(blocks, "row-")]
    wide = [f"row-{i} " + "x" * 1400 for i in range(5)]  # two to a section
    blocks = lines_sections(wide[:4], max_lines=None, room=2)
    assert len(blocks) == 2 and more_counts(blocks) == [] and shown(blocks, "row-") == 4
    blocks = lines_sections(wide, max_lines=None, room=2)  # one block left for the rows, one for "+N more"
    assert shown(blocks, "row-") == 2 and more_counts(blocks) == [3]
    assert lines_sections(["a", "b", "c"], max_lines=2, total=10)[-1]["elements"][0]["text"] == "+8 more"


@pytest.mark.parametrize("detail", [0, 140])
def test_thousands_of_connections(detail: int) -> None:
    rows = [
        ConnectionSummary(
            name=f"conn-{i}",
            vendor=Vendor.CURSOR,
            origin="slack",
            created_by="U1",
            created_at=NOW,
            last_sync=NOW,
            status="failing" if detail else "ok",
            status_detail="y" * detail or None,
            key_hint="wxyz",
        )
        for i in range(ROWS)
    ]
    blocks = connections_blocks(rows, command="/spend")
    within_limits(blocks, MAX_BLOCKS)
    assert more_counts(blocks) == [ROWS - shown(blocks, "*`conn-")]


def test_a_thousands_long_audit_log() -> None:
    entries = [
        AuditLine("set-limit", "ok", NOW - timedelta(minutes=i), user_id="U1", detail="d" * (i % 900))
        for i in range(ROWS)
    ]
    blocks = audit_blocks(entries)
    within_limits(blocks, MAX_BLOCKS)
    assert more_counts(blocks) == [ROWS - shown(blocks, "`set-limit`")]


def test_thousands_of_subscriptions_and_deliveries() -> None:
    subscriptions = [
        SubscriptionLine(i, "C1", "digest", f"digest daily at 09:00 #{i}", paused_reason="p" * 2000)
        for i in range(ROWS)
    ]
    message = subscriptions_message(subscriptions, every_channel=True, now=NOW, command="/spend")
    within_limits(message.blocks, MAX_BLOCKS)
    assert more_counts(message.blocks) == [ROWS - shown(message.blocks, "digest daily at 09:00")]

    deliveries = [DeliveryLine("C1", "digest", f"2026-11-{i}", "sent", False, NOW) for i in range(ROWS)]
    message = deliveries_message(deliveries)
    within_limits(message.blocks, MAX_BLOCKS)
    assert more_counts(message.blocks) == [ROWS - shown(message.blocks, "2026-11-")]


def test_a_breakdown_of_thousands_of_people() -> None:
    rows = tuple(BreakdownRow(f"person-{i}@example.com", Decimal(ROWS - i), "usd_cents") for i in range(ROWS))
    answer = SpendAnswer(
        period_label="this month",
        previous_label="last month",
        tz=ZoneInfo("UTC"),
        sources=(),
        total_usd_cents=Decimal(1),
        previous_total_usd_cents=None,
        left_out=(),
        breakdowns=(Breakdown("user", rows), Breakdown("model", rows)),
        freshness=(),
    )
    blocks = spend_message(answer).blocks
    within_limits(blocks, MAX_BLOCKS)
    assert shown(blocks, "person-") == 2 * BREAKDOWN_ROWS
    assert more_counts(blocks) == [ROWS - BREAKDOWN_ROWS] * 2


def _home(**changes: Any) -> HomeModel:
    model = HomeModel(
        team_id="T1",
        user_id="U1",
        is_admin=True,
        tz=ZoneInfo("Europe/Paris"),
        now=NOW,
        command="/spend",
        status=StatusAnswer(ZoneInfo("Europe/Paris"), ()),
        spend=(),
        credits=(),
    )
    return replace(model, **changes)


def test_a_home_with_thousands_of_subscriptions_deliveries_and_alerts() -> None:
    model = _home(
        subscriptions=tuple(SubscriptionLine(i, "C1", "digest", f"sub-{i}") for i in range(ROWS)),
        deliveries=tuple(DeliveryLine("C1", "digest", f"del-{i}", "sent", False, NOW) for i in range(ROWS)),
        alerts=tuple(AlertLine(i, "C1", "budget", "spend", "80%", f"alert-{i}", NOW) for i in range(ROWS)),
    )
    blocks = home_view(model)["blocks"]
    within_limits(blocks, MAX_VIEW_BLOCKS)
    counts = more_counts(blocks)
    assert counts == [
        ROWS - shown(blocks, "sub-"),
        ROWS - shown(blocks, "del-"),
        ROWS - shown(blocks, "alert-"),
    ]
    assert blocks[-1]["type"] == "section" and "Subscribe a channel" in blocks[-1]["text"]["text"]


def _card(name: str) -> StatusCard:
    return StatusCard(
        connection=name,
        vendor="cursor",
        origin="slack",
        status="ok",
        status_detail=None,
        unit="usd_cents",
        cycle_spent=Decimal(1000),
        cycle_start=NOW - timedelta(days=10),
        cycle_end=NOW + timedelta(days=20),
        credit=None,
        near_limit=0,
        tracked=None,
        windows=(),
        freshness=Freshness(name, "cursor", NOW),
    )


def test_a_home_with_thousands_of_connections_counts_what_it_cut(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = _home(status=StatusAnswer(ZoneInfo("Europe/Paris"), tuple(_card(f"c{i}") for i in range(ROWS))))
    blocks = home_view(model)["blocks"]
    within_limits(blocks, MAX_VIEW_BLOCKS)
    monkeypatch.setattr(home, "MAX_VIEW_BLOCKS", 10**6)
    uncut = home_view(model)["blocks"]
    (more,) = [block for block in blocks if "more sections not shown" in str(block)]
    count = int(re.findall(r"\+(\d+) more", str(more))[0])
    assert count == len(uncut) - (len(blocks) - 1)  # every block not shown is counted
    assert blocks[-1] == uncut[-1]  # the admin controls survive the cut
