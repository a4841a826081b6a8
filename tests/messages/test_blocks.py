"""Slack's limits are enforced in one place, whatever the answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.messages.answers import Breakdown, BreakdownRow, Freshness, SourceTotal, SpendAnswer
from bot.messages.blocks import (
    MAX_BLOCKS,
    MAX_FIELDS,
    MAX_TEXT,
    clip,
    context,
    divider,
    fields,
    fit,
    fit_groups,
    header,
    lines_sections,
    local_time,
    section,
)
from bot.messages.replies import spend_message


def test_a_long_text_is_clipped_and_says_how_much_is_left_out() -> None:
    text = "x" * 5000
    block = section(text)
    shown = block["text"]["text"]
    assert len(shown) <= MAX_TEXT
    kept = shown.split("…")[0]
    assert shown.endswith(f"(+{5000 - len(kept)} more characters)")
    assert clip("short", 100) == "short"
    assert len(header("h" * 400)["text"]["text"]) == 150


def test_fields_are_split_ten_to_a_section() -> None:
    blocks = fields([(f"label {i}", f"value {i}") for i in range(23)])
    assert [len(block["fields"]) for block in blocks] == [MAX_FIELDS, MAX_FIELDS, 3]


def test_more_than_fifty_blocks_end_with_a_count_of_what_was_cut() -> None:
    kept = fit([section(str(i)) for i in range(80)])
    assert len(kept) == MAX_BLOCKS
    assert kept[-1]["type"] == "context"
    assert "+31 more" in kept[-1]["elements"][0]["text"]


def test_a_long_list_shows_plus_n_more() -> None:
    lines = [f"{i}. someone@example.com — $1.00" for i in range(200)]
    blocks = lines_sections(lines, max_lines=25)
    shown = "\n".join(block["text"]["text"] for block in blocks if block["type"] == "section")
    assert shown.count("\n") == 24
    assert blocks[-1]["elements"][0]["text"] == "+175 more"
    assert all(len(block["text"]["text"]) <= MAX_TEXT for block in blocks if block["type"] == "section")


def test_a_spend_answer_for_thousands_of_people_stays_within_limits() -> None:
    rows = tuple(BreakdownRow(f"user{i}@example.com", Decimal(10_000 - i), "usd_cents") for i in range(5000))
    answer = SpendAnswer(
        period_label="last 30 days (Oct 22 – Nov 20)",
        previous_label="previous 30 days",
        tz=ZoneInfo("America/New_York"),
        sources=tuple(
            SourceTotal(f"c{i}", "cursor", "usd_cents", Decimal(100), Decimal(90), Decimal(3))
            for i in range(12)
        ),
        total_usd_cents=Decimal(1200),
        previous_total_usd_cents=Decimal(1080),
        left_out=(),
        breakdowns=(Breakdown("user", rows),),
        freshness=(Freshness("cursor", "cursor", datetime(2026, 11, 20, 14, 12, tzinfo=UTC)),),
    )
    message = spend_message(answer)
    assert len(message.blocks) <= MAX_BLOCKS
    assert all(len(block.get("fields", [])) <= MAX_FIELDS for block in message.blocks)
    texts = [
        block["text"]["text"]
        for block in message.blocks
        if "text" in block and isinstance(block["text"], dict)
    ]
    assert all(len(text) <= MAX_TEXT for text in texts)
    flat = str(message.blocks)
    assert "+4975 more" in flat
    assert "$12.00" in message.text and "$12.00" in flat and "+11.1% (+$1.20)" in flat


def test_freshness_is_shown_in_the_readers_zone() -> None:
    moment = datetime(2026, 11, 20, 14, 12, tzinfo=UTC)
    now = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
    assert local_time(moment, ZoneInfo("America/New_York"), now) == "09:12"
    assert local_time(moment, ZoneInfo("Asia/Kolkata"), now) == "19:42"
    assert local_time(moment, ZoneInfo("Pacific/Auckland"), now) == "03:12"  # Nov 21 there, as is now
    assert local_time(moment - timedelta(days=1), ZoneInfo("Pacific/Auckland"), now) == "Nov 20 03:12"
    assert local_time(None, ZoneInfo("UTC"), now) == "never"


def test_groups_are_kept_whole_around_head_and_tail_and_the_rest_counted() -> None:
    groups = [[section(f"alert {i}"), divider()] for i in range(60)]
    kept = fit_groups(groups, head=[header("alerts")], tail=[context("note")], noun="alerts")
    assert len(kept) == MAX_BLOCKS - 1  # 23 whole pairs: a 24th would not leave room for the count
    assert kept[0]["type"] == "header" and kept[-1]["elements"][0]["text"] == "note"
    shown = sum(1 for block in kept if block["type"] == "section")
    assert shown == 23 and "+37 more alerts not shown" in kept[-2]["elements"][0]["text"]
    assert fit_groups(groups[:3], tail=[context("note")]) == [
        *groups[0],
        *groups[1],
        *groups[2],
        context("note"),
    ]
