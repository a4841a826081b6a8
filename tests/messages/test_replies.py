"""The read commands' answers from hand-built view models: exact lines, escaping, and the cut lists."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.domain.usage import CreditPool
from bot.messages.answers import (
    Breakdown,
    BreakdownRow,
    CreditsAnswer,
    CreditView,
    Freshness,
    LimitsAnswer,
    LimitWatch,
    NearLimit,
    PersonSource,
    PersonTotal,
    Ranking,
    SourceTotal,
    SpendAnswer,
    StatusAnswer,
    StatusCard,
    TopAnswer,
    TrackedView,
    UserAnswer,
    WindowView,
)
from bot.messages.blocks import MAX_BLOCKS, interval_words, readable_texts
from bot.messages.replies import (
    credits_message,
    delivery_line,
    freshness_line,
    limits_message,
    source_label,
    spend_message,
    status_message,
    top_message,
    user_message,
)

TZ = ZoneInfo("UTC")
AS_OF = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
FRESH = (Freshness("cursor", "cursor", AS_OF),)
USD = "usd_cents"


SPEND = SpendAnswer(
    period_label="yesterday (Nov 19)",
    previous_label="the day before",
    tz=TZ,
    sources=(SourceTotal("cursor", "cursor", USD, Decimal(12_000), Decimal(10_000), Decimal(42)),),
    total_usd_cents=Decimal(12_000),
    previous_total_usd_cents=Decimal(10_000),
    left_out=(),
    breakdowns=(),
    freshness=FRESH,
)


def test_source_labels_name_the_connection_only_when_it_is_not_the_vendor() -> None:
    assert source_label("cursor", "cursor") == "Cursor"
    assert source_label("team-b", "cursor") == "Cursor `team-b`"


def test_freshness_names_each_source_and_escapes_its_problem() -> None:
    items = (Freshness("cursor", "cursor", None), Freshness("eu", "windsurf", None, "HTTP 500 <html>"))
    assert freshness_line(items, ZoneInfo("Europe/Paris")) == (
        "Cursor data as of never · `eu` data as of never (HTTP 500 &lt;html&gt;) · times in Europe/Paris"
    )


def test_spend_shows_the_dollar_total_against_the_previous_period_and_each_source() -> None:
    message = spend_message(SPEND)
    assert message.text == "Spend yesterday (Nov 19): $120.00"
    assert message.blocks[0]["text"]["text"] == "Spend · yesterday (Nov 19)"
    assert message.blocks[1]["text"]["text"] == "*$120.00* in dollars (+20% (+$20.00) on the day before)"
    assert message.blocks[2]["fields"][0]["text"] == "*Cursor*\n$120.00\n+20% (+$20.00) · 42 requests"


def test_spend_says_which_credit_sources_the_dollar_total_leaves_out() -> None:
    windsurf = SourceTotal(
        "windsurf", "windsurf", "credits", Decimal(300), Decimal(0), Decimal(0), utc_days=True
    )
    message = spend_message(replace(SPEND, sources=(windsurf,), total_usd_cents=None, left_out=("windsurf",)))
    assert message.blocks[1]["text"]["text"] == (
        "Not in the dollar total: `windsurf` (credits; set `WINDSURF_CREDIT_PRICE` to count them)."
    )
    assert message.blocks[2]["fields"][0]["text"] == "*Windsurf*\n300 credits\nnew · UTC days"
    assert message.text == "Spend yesterday (Nov 19): 300 credits"


def test_a_breakdown_by_person_is_numbered_with_shares_escaped_and_cut_at_25() -> None:
    rows = tuple(BreakdownRow(f"<u{i}>", Decimal(100), USD) for i in range(30))
    message = spend_message(replace(SPEND, breakdowns=(Breakdown("user", rows),)))
    shown = readable_texts(message.blocks)
    assert "*By person*" in shown
    lines = next(text for text in shown if text.startswith("1. ")).split("\n")
    assert lines[0] == "1. &lt;u0&gt; — *$1.00* · 3.3%" and len(lines) == 25
    assert "+5 more" in shown


def test_a_breakdown_read_only_as_far_as_shown_counts_and_shares_against_every_row() -> None:
    # The store read the 25 rows shown of 5,000; the shares and the "+N more" are of all of them.
    rows = tuple(BreakdownRow(f"u{i}@x.io", Decimal(200), USD) for i in range(25))
    breakdown = Breakdown("user", rows, size=5000, total=Decimal(40_000))
    shown = readable_texts(spend_message(replace(SPEND, breakdowns=(breakdown,))).blocks)
    lines = next(text for text in shown if text.startswith("1. ")).split("\n")
    assert lines[0] == "1. u0@x.io — *$2.00* · 0.5%" and len(lines) == 25  # not 4% of the 25 shown
    assert "+4975 more" in shown


def test_an_empty_breakdown_says_nobody_spent() -> None:
    message = spend_message(replace(SPEND, breakdowns=(Breakdown("model", ()),)))
    assert "*By model*" in readable_texts(message.blocks) and "No spend in this period." in readable_texts(
        message.blocks
    )


def test_top_names_people_with_their_email_escaped_and_counts_the_rest() -> None:
    people = (
        PersonTotal("ann@example.com", "Ann <admin>", Decimal(5_000), USD),
        PersonTotal("bob@example.com", None, Decimal(2_500), USD),
    )
    answer = TopAnswer("last 7 days", TZ, 2, (Ranking(USD, ("cursor",), people, 9),), FRESH)
    message = top_message(answer)
    assert message.text == "Top 2 last 7 days: ann@example.com $50.00 first"
    shown = readable_texts(message.blocks)
    assert "*By dollars* (`cursor`)" in shown
    assert "1. Ann &lt;admin&gt; (ann@example.com) — *$50.00*\n2. bob@example.com — *$25.00*" in shown
    assert "9 people spent in this period." in shown


def test_top_with_nobody_says_so() -> None:
    answer = TopAnswer("today", TZ, 5, (Ranking("credits", ("windsurf",), (), 0),), FRESH)
    message = top_message(answer)
    assert message.text == "Top 5 today"
    assert "*By credits* (`windsurf`)" in readable_texts(message.blocks)
    assert "Nobody spent anything in this period." in readable_texts(message.blocks)


def test_user_shows_each_source_with_the_cycle_and_limit_and_the_models() -> None:
    sources = (
        PersonSource("cursor", "cursor", USD, Decimal(900), Decimal(300), Decimal(4_000), Decimal(10_000)),
        PersonSource("team-b", "cursor", USD, Decimal(0), Decimal(0), Decimal(0)),
    )
    models = (BreakdownRow("gpt-<5>", Decimal(900), USD),)
    answer = UserAnswer("ann@example.com", "Ann", "yesterday", TZ, sources, models, FRESH)
    message = user_message(answer)
    assert message.blocks[0]["text"]["text"] == "Ann (ann@example.com) · yesterday"
    assert [field["text"] for field in message.blocks[1]["fields"]] == [
        "*Cursor*\n*$9.00* (+200% (+$6.00))\n$40.00 this cycle of a $100.00 limit",
        "*Cursor `team-b`*\n*$0.00* (—)\n$0.00 this cycle, no limit",
    ]
    assert "gpt-&lt;5&gt; — $9.00" in readable_texts(message.blocks)
    assert message.text == "ann@example.com yesterday: $9.00, $0.00"


CREDIT_VIEW = CreditView(
    connection="windsurf",
    vendor="windsurf",
    unit="credits",
    pools=(CreditPool("prompt", Decimal(1_000), Decimal(900)),),
    remaining=Decimal(100),
    size=Decimal(1_000),
    burn_per_day=Decimal(50),
    days_left=Decimal(2),
    runs_out_at=None,
    top_up_by=None,
    cycle_end=datetime(2026, 12, 1, tzinfo=UTC),
    observed_at=AS_OF,
)


def test_credits_show_pools_runway_and_when_to_top_up() -> None:
    view = replace(CREDIT_VIEW, top_up_by=datetime(2026, 11, 22, tzinfo=UTC).date())
    answer = CreditsAnswer(TZ, (view,), (), (), FRESH)
    message = credits_message(answer)
    assert message.blocks[1]["text"]["text"] == (
        "*Windsurf*\n*100 credits* left of 1,000 credits (10%)\n"
        "• prompt pool: 100 credits left of 1,000 credits\n"
        "~2 days left at the current burn (50 credits/day), cycle resets on Dec 1\n"
        ":warning: Runs out before the cycle resets: top up by *Nov 22*."
    )
    assert message.text == "Credits: 100 credits left (~2 days)"


def test_credits_list_people_near_their_limit_escaped_and_tracked_figures() -> None:
    watch = LimitWatch(
        "cursor",
        Decimal(90),
        (NearLimit("e@example.com", "<Eve>", Decimal(9_500), Decimal(10_000)),),
        1,
        False,
        4,
    )
    figure = TrackedView("api", "balance", Decimal(1_500), AS_OF, previous=Decimal(2_000))
    message = credits_message(CreditsAnswer(TZ, (), (watch,), (figure,), FRESH))
    shown = readable_texts(message.blocks)
    assert (
        "*Cursor*\n*1* person is at 90% or more of their limit\n"
        "• &lt;Eve&gt;: $95.00 of $100.00 (95%)" in shown
    )
    tracked = next(text for text in shown if text.startswith("*REST `api`*"))
    assert tracked.startswith("*REST `api`*\n`balance` = *1,500* (read ") and tracked.endswith(
        ", −500 in a day"
    )
    assert message.text == "Credits: see details"


def test_credits_with_nothing_to_show_say_so() -> None:
    message = credits_message(CreditsAnswer(TZ, (), (), (), FRESH))
    assert "No credit pools, spend limits or tracked figures yet." in readable_texts(message.blocks)


def test_limits_show_each_window_and_what_was_met() -> None:
    windows = (
        WindowView("headers", 100, 40, None, 60, 0, 0.0, AS_OF),
        WindowView("usage_events", None, None, None, None, 3, 12.0, AS_OF),
    )
    answer = LimitsAnswer(TZ, (("cursor", "cursor", windows), ("eu", "windsurf", ())))
    message = limits_message(answer)
    assert message.text == "Rate-limit headroom per connection"
    assert message.blocks[1]["text"]["text"] == (
        "*Cursor*\n• vendor headers: 40 of 100 left (40%)\n"
        "• usage events: no figures yet · :warning: 3 × 429 · waited 12s for our limiter"
    )
    assert message.blocks[2]["text"]["text"] == "*Windsurf `eu`*\n• No requests made yet."


CARD = StatusCard(
    connection="cursor",
    vendor="cursor",
    origin="env",
    status="ok",
    status_detail=None,
    unit=USD,
    cycle_spent=Decimal(25_000),
    cycle_start=datetime(2026, 11, 1, tzinfo=UTC),
    cycle_end=datetime(2026, 12, 1, tzinfo=UTC),
    credit=None,
    near_limit=2,
    tracked=None,
    windows=(),
    freshness=Freshness("cursor", "cursor", None),
)


def test_status_shows_one_card_per_connection_and_names_the_failing_ones() -> None:
    failing = replace(
        CARD,
        connection="eu",
        vendor="windsurf",
        origin="slack",
        status="failing",
        status_detail="HTTP <500>",
        cycle_spent=None,
        near_limit=None,
    )
    message = status_message(StatusAnswer(TZ, (CARD, failing)))
    assert message.text == "2 connections, failing: eu"
    assert message.blocks[1]["text"]["text"] == (
        ":large_green_circle: *Cursor* _(environment)_\nThis cycle: *$250.00* (Nov 1 – Dec 1)\n"
        "2 people at 90% or more of their spend limit\n_Data as of never_"
    )
    assert message.blocks[2]["text"]["text"] == (
        ":red_circle: *Windsurf `eu`*\n:warning: HTTP &lt;500&gt;\n_Data as of never_"
    )
    assert message.blocks[-1]["elements"][0]["text"] == "Times in UTC"


def test_a_connection_whose_newer_data_is_overdue_is_stale_not_fine() -> None:
    """A sync that overran its interval (a throttling vendor) leaves the status "ok": the age says it."""
    as_of = datetime(2020, 1, 6, 7, 0, tzinfo=UTC)  # never today: shown with its date, whenever this runs
    stale = replace(
        CARD, freshness=Freshness("cursor", "cursor", as_of, None, timedelta(minutes=2)), near_limit=None
    )
    message = status_message(StatusAnswer(TZ, (stale,)))
    assert message.text == "1 connections, stale: cursor"
    assert message.blocks[1]["text"]["text"] == (
        ":large_yellow_circle: *Cursor* _(environment)_\nThis cycle: *$250.00* (Nov 1 – Dec 1)\n"
        ":hourglass: stale: newer data is overdue (it is synced every 2 min)\n_Data as of Jan 6 07:00_"
    )
    line = freshness_line((stale.freshness,), TZ)
    assert line.startswith(
        "Cursor data as of Jan 6 07:00 (stale: newer data is overdue (it is synced every 2 min))"
    )
    failing = replace(stale, status="failing", status_detail="probe: rate limited")
    message = status_message(StatusAnswer(TZ, (failing,)))
    assert message.text == "1 connections, failing: cursor"  # named once, by the worse of the two
    assert ":warning: probe: rate limited\n:hourglass: stale" in message.blocks[1]["text"]["text"]


def test_intervals_read_as_the_settings_give_them() -> None:
    assert [interval_words(timedelta(seconds=n)) for n in (45, 120, 3600, 5400)] == [
        "45 s",
        "2 min",
        "1 h",
        "1 h 30 min",
    ]


def test_status_of_many_connections_fits_fifty_blocks() -> None:
    cards = tuple(replace(CARD, connection=f"c{i}") for i in range(80))
    message = status_message(StatusAnswer(TZ, cards))
    assert len(message.blocks) == MAX_BLOCKS
    assert "more sections not shown" in message.blocks[-1]["elements"][0]["text"]
    assert message.text == "80 connections, all fine"


def test_a_delivery_line_reads_an_alert_key_as_its_step_and_escapes_errors() -> None:
    line = delivery_line(
        "Nov 20 09:00 UTC",
        "alert",
        "credits:eu|pct:20|cycle:-|fire|e1|r0",
        "C1",
        "failed",
        late=True,
        error="<boom>",
    )
    assert line == (
        ":x: Nov 20 09:00 UTC · alert credits:eu pct:20 (fired) · <#C1> · failed (late) — &lt;boom&gt;"
    )
