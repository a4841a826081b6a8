"""The digest from hand-built figures: its sections in order, their exact lines, the late and test
variants, no-names, escaping, and Slack's limits."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.domain.usage import CreditPool
from bot.messages.answers import CreditView, Freshness, TrackedView, WindowView
from bot.messages.blocks import MAX_BLOCKS, MAX_HEADER, readable_texts
from bot.messages.digest import (
    CreditLine,
    CycleStanding,
    Digest,
    Headroom,
    Ranked,
    SourceSpend,
    TopTable,
    digest_message,
    no_sources_message,
)

UTC_ZONE = ZoneInfo("UTC")
END_OF_CYCLE = datetime(2026, 12, 1, tzinfo=UTC)
AS_OF = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
CURSOR = SourceSpend(
    "cursor",
    "cursor",
    "usd_cents",
    Decimal(12_345),
    Decimal(321),
    Decimal(10_000),
    Decimal(70_000),
    Decimal(60_000),
)
WINDSURF = SourceSpend(
    "windsurf-eu",
    "windsurf",
    "credits",
    Decimal(1_500),
    Decimal(0),
    Decimal(0),
    Decimal(9_000),
    Decimal(9_000),
    utc_days=True,
)


def digest(**changes: object) -> Digest:
    base = Digest(
        tz=UTC_ZONE,
        day=date(2026, 11, 19),
        period_label="Nov 13 – Nov 19",
        weekly=False,
        late=False,
        test=False,
        no_names=False,
        sources=(CURSOR,),
        cycles=(),
        top=(),
        people_notes=(),
        credits=(),
        headroom=(),
        open_alerts=(),
        freshness=(Freshness("cursor", "cursor", AS_OF),),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def section_texts(blocks: list[dict[str, object]]) -> list[str]:
    return [block["text"]["text"] for block in blocks if block["type"] == "section" and "text" in block]  # type: ignore[index]


def test_a_daily_digest_is_header_fields_open_alerts_and_freshness() -> None:
    message = digest_message(digest())
    assert [block["type"] for block in message.blocks] == ["header", "section", "section", "context"]
    assert message.blocks[0]["text"]["text"] == "Daily digest · Thu Nov 19"
    assert message.blocks[1]["fields"] == [
        {
            "type": "mrkdwn",
            "text": "*Cursor*\n*$123.45* · 321 requests\n+23.5% (+$23.45) on the day before\n"
            "7 days: $700.00, +16.7% (+$100.00) on the 7 before",
        }
    ]
    assert message.blocks[2]["text"]["text"] == "*Open alerts*\nNone."
    freshness = message.blocks[3]["elements"][0]["text"]
    assert freshness.startswith("Cursor data as of ") and freshness.endswith("06:00 · times in UTC")
    assert message.text == "Daily digest Thu Nov 19: cursor $123.45"


def test_a_weekly_digest_names_its_period_and_compares_with_the_week_before() -> None:
    message = digest_message(digest(weekly=True))
    assert message.blocks[0]["text"]["text"] == "Weekly digest · Nov 13 – Nov 19"
    assert "on the week before" in message.blocks[1]["fields"][0]["text"]
    assert message.text.startswith("Weekly digest Nov 13 – Nov 19: ")


def test_a_credit_source_without_request_counts_says_its_days_are_utc_days() -> None:
    message = digest_message(digest(sources=(CURSOR, WINDSURF)))
    windsurf = message.blocks[1]["fields"][1]["text"]
    assert windsurf == (
        "*Windsurf `windsurf-eu`*\n*1,500 credits*\nnew on the day before\n"
        "7 days: 9,000 credits, no change on the 7 before\n_UTC days_"
    )
    assert message.text == "Daily digest Thu Nov 19: cursor $123.45, windsurf-eu 1,500 credits"


def test_a_late_test_digest_is_tagged_and_says_why_it_is_late() -> None:
    message = digest_message(digest(late=True, test=True))
    assert message.blocks[0]["text"]["text"] == "Daily digest · Thu Nov 19 [TEST] (late)"
    assert message.blocks[1] == {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": "Posted late: the bot was not running at the scheduled time."}
        ],
    }
    assert message.text.startswith("Daily digest Thu Nov 19 [TEST] (late): ")


def test_no_usage_source_says_so_in_the_fallback() -> None:
    message = digest_message(digest(sources=()))
    assert message.text == "Daily digest Thu Nov 19: no spend sources"
    assert [block["type"] for block in message.blocks] == ["header", "section", "context"]


def test_the_cycle_shows_the_forecast_and_each_budget_share_with_a_warning_when_over() -> None:
    cycle = CycleStanding(
        "cursor",
        "cursor",
        "usd_cents",
        Decimal(40_000),
        Decimal(60_000),
        datetime(2026, 12, 1, tzinfo=UTC),
        (Decimal(50_000), Decimal(100_000)),
    )
    message = digest_message(digest(cycles=(cycle,)))
    assert message.blocks[2] == {"type": "divider"}
    assert message.blocks[3]["text"]["text"] == (
        "*This cycle*\nCursor: $400.00 so far, forecast $600.00 by Dec 1"
        " — 80% of the $500.00 budget :warning: forecast over budget"
        " — 40% of the $1,000.00 budget"
    )


def test_top_tables_are_numbered_per_unit_and_names_are_escaped() -> None:
    people = TopTable(
        "people", "usd_cents", (Ranked("<b>&eve", Decimal(900)), Ranked("ann@example.com", Decimal(100)))
    )
    models = TopTable("models", "credits", (Ranked("claude-4", Decimal(50)),))
    message = digest_message(
        digest(top=(people, models), people_notes=("Cursor: per-person figures are unavailable",))
    )
    assert section_texts(message.blocks)[0] == (
        "*Top people* (dollars)\n1. &lt;b&gt;&amp;eve — $9.00\n2. ann@example.com — $1.00\n"
        "*Top models* (credits)\n1. claude-4 — 50 credits\n_Cursor: per-person figures are unavailable_"
    )


def test_under_no_names_the_digest_says_people_are_not_named() -> None:
    models = TopTable("models", "usd_cents", (Ranked("gpt-5", Decimal(100)),))
    message = digest_message(digest(top=(models,), no_names=True))
    assert section_texts(message.blocks)[0] == (
        "*Top models* (dollars)\n1. gpt-5 — $1.00\n_People are not named in this channel (no-names)._"
    )


def test_empty_top_tables_leave_no_section_nor_divider() -> None:
    message = digest_message(digest(top=(TopTable("people", "usd_cents", ()),), no_names=True))
    assert [block["type"] for block in message.blocks] == ["header", "section", "section", "context"]


def test_credits_and_limits_show_a_pool_the_people_near_a_limit_and_an_escaped_figure() -> None:
    pool = CreditView(
        "windsurf",
        "windsurf",
        "credits",
        (CreditPool("prompt", Decimal(10_000), Decimal(8_000)),),
        Decimal(2_000),
        Decimal(10_000),
        Decimal(500),
        Decimal(4),
        None,
        None,
        None,
        AS_OF,
    )
    figure = TrackedView("api", "balance<&>", Decimal(1234567), AS_OF)
    lines = (
        CreditLine("windsurf", "windsurf", pool=pool),
        CreditLine("cursor", "cursor", near_limit=3),
        CreditLine("api", "rest", tracked=figure),
    )
    message = digest_message(digest(credits=lines))
    assert section_texts(message.blocks)[0] == (
        "*Credits and limits*\n"
        "Windsurf: *2,000 credits* left of 10,000 credits (20%)"
        " • prompt pool: 2,000 credits left of 10,000 credits"
        " ~4 days left at the current burn (500 credits/day)\n"
        "Cursor: 3 people at 90% or more of their spend limit\n"
        "REST `api`: `balance&lt;&amp;&gt;` = 1,234,567"
    )


def test_headroom_lines_follow_the_credits_without_a_divider() -> None:
    window = WindowView("minute", 60, 15, None, 60, 2, 0.0, AS_OF)
    message = digest_message(digest(headroom=(Headroom("cursor", "cursor", window),)))
    assert [block["type"] for block in message.blocks] == [
        "header",
        "section",
        "section",
        "section",
        "context",
    ]
    assert section_texts(message.blocks)[0] == (
        "*Rate-limit headroom*\nCursor — our count, per minute: 15 of 60 left (25%) · :warning: 2 × 429"
    )


def test_open_alerts_show_the_first_line_of_each_summary() -> None:
    summaries = ("*Budget $500.00 (all tools): 80% reached*\n$400.00 of $500.00", "health:cursor")
    message = digest_message(digest(open_alerts=summaries))
    assert section_texts(message.blocks)[-1] == (
        "*Open alerts*\n:rotating_light: *Budget $500.00 (all tools): 80% reached*\n"
        ":rotating_light: health:cursor"
    )


def test_the_chart_is_an_image_of_the_uploaded_file_before_the_freshness_line() -> None:
    message = digest_message(digest(chart_file_id="F123"))
    assert message.blocks[-2] == {
        "type": "image",
        "slack_file": {"id": "F123"},
        "alt_text": "Spend per UTC day over the last 30 days",
        "title": {"type": "plain_text", "text": "Last 30 days"},
    }
    assert message.blocks[-1]["type"] == "context"


def test_a_digest_of_many_sources_fits_fifty_blocks_and_counts_what_it_cut() -> None:
    sources = tuple(replace(CURSOR, connection=f"c{i}") for i in range(300))
    tables = tuple(TopTable("people", "usd_cents", (Ranked(f"p{i}", Decimal(i)),)) for i in range(2000))
    cycles = tuple(
        CycleStanding(
            f"c{i}", "cursor", "usd_cents", Decimal(1), Decimal(2), datetime(2026, 12, 1, tzinfo=UTC)
        )
        for i in range(300)
    )
    message = digest_message(digest(sources=sources, top=tables, cycles=cycles))
    assert len(message.blocks) == MAX_BLOCKS
    ids = [block["block_id"] for block in message.blocks if "block_id" in block]
    assert len(ids) == len(set(ids))
    assert all(len(text) <= 3000 for text in readable_texts(message.blocks))
    # header, 30 field sections, the cycle, 27 sections of top lines, open alerts and freshness: 63 blocks
    assert message.blocks[-1]["elements"][0]["text"] == "+14 more sections not shown (Slack allows 50 blocks)"


def test_a_long_period_label_is_clipped_to_slacks_header_limit() -> None:
    message = digest_message(digest(weekly=True, period_label="x" * 400))
    assert len(message.blocks[0]["text"]["text"]) == MAX_HEADER


def test_times_are_shown_in_the_channels_zone() -> None:
    message = digest_message(digest(tz=ZoneInfo("Asia/Kolkata")))
    assert (
        message.blocks[-1]["elements"][0]["text"] == "Cursor data as of Nov 20 11:30 · times in Asia/Kolkata"
    )


def test_a_workspace_without_connections_gets_the_reason() -> None:
    message = no_sources_message("No connection yet: run `/spend connect`.")
    assert message.text == "spendbot digest: no connection yet"
    assert message.blocks == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "No connection yet: run `/spend connect`."}}
    ]
