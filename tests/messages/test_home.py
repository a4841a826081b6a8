"""The App Home view drawn from hand-built models: its sections, its wording and Slack's view limits."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bot.messages.answers import Freshness, StatusAnswer, StatusCard
from bot.messages.blocks import MAX_VIEW_BLOCKS, readable_texts
from bot.messages.home import (
    CONNECT_ACTION,
    AlertLine,
    HomeModel,
    ToolSpend,
    describe_alert,
    describe_delivery,
    describe_subscription,
    home_view,
)
from bot.messages.subscriptions import DeliveryLine, SubscriptionLine

NOW = datetime(2026, 11, 20, 9, 12, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
SECTIONS = [
    "spendbot",
    "Connections",
    "Spend this cycle",
    "Credits",
    "Subscriptions",
    "Last deliveries",
    "Open alerts",
]


def _model(**changes: Any) -> HomeModel:
    model = HomeModel(
        team_id="T1",
        user_id="U1",
        is_admin=True,
        tz=PARIS,
        now=NOW,
        command="/spend",
        status=StatusAnswer(PARIS, ()),
        spend=(),
        credits=(),
    )
    return replace(model, **changes)


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


def _headers(view: dict[str, Any]) -> list[str]:
    return [block["text"]["text"] for block in view["blocks"] if block["type"] == "header"]


def _texts(view: dict[str, Any]) -> list[str]:
    return readable_texts(view["blocks"])


def _actions(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [block for block in view["blocks"] if block["type"] == "actions"]


def test_an_empty_admin_home_has_every_section_in_order_then_the_admin_controls() -> None:
    view = home_view(_model())
    assert view["type"] == "home"
    assert _headers(view) == [*SECTIONS, "Admin"]
    assert view["blocks"][1] == {
        "type": "context",
        "elements": [
            {
                "type": "mrkdwn",
                "text": "Updated 10:12 · times in Europe/Paris · `/spend help` lists every command",
            }
        ],
    }
    texts = _texts(view)
    assert "No connections yet. Connect one below." in texts
    assert "No spend recorded yet: it appears after the first sync." in texts
    assert "No credit pools yet (Windsurf reports its pools; Cursor has spend limits)." in texts
    assert "No channel subscribes to anything yet." in texts
    assert "Nothing posted on schedule yet." in texts
    assert ":white_check_mark: No alert is firing." in texts
    assert len(view["blocks"]) == 2 + 6 * 2 + 5  # title, six sections of two blocks, the admin five


def test_the_connect_buttons_are_one_per_vendor_the_first_one_primary() -> None:
    (block,) = _actions(home_view(_model()))
    assert block["block_id"] == "spendbot_home_connect"
    assert [(b["action_id"], b["value"], b["text"]["text"], b.get("style")) for b in block["elements"]] == [
        (f"{CONNECT_ACTION}_cursor", "cursor", "Connect Cursor", "primary"),
        (f"{CONNECT_ACTION}_windsurf", "windsurf", "Connect Windsurf", None),
        (f"{CONNECT_ACTION}_openai", "openai", "Connect OpenAI", None),
        (f"{CONNECT_ACTION}_anthropic", "anthropic", "Connect Anthropic", None),
        (f"{CONNECT_ACTION}_copilot", "copilot", "Connect GitHub Copilot", None),
        (f"{CONNECT_ACTION}_rest", "rest", "Connect a REST API", None),
    ]


def test_the_admin_section_lists_the_subscribe_commands_with_the_configured_command() -> None:
    last = home_view(_model(command="/costs"))["blocks"][-1]
    assert last["text"]["text"] == (
        "*Subscribe a channel:* type one of these in that channel.\n"
        "`/costs subscribe digest daily at 09:00`\n`/costs subscribe credit-low`\n"
        "`/costs subscribe budget 5000 cursor`\n`/costs subscribe rate-limit`\n`/costs subscribe health`\n"
        "`/costs subscribe spike`\n`/costs subscribe requests`"
    )


def test_insights_say_the_idle_seats_to_everyone_and_the_waiting_requests_to_admins() -> None:
    idle = "1,000 seats unused for 30 days, *$19,000.00* a month"
    texts = readable_texts(home_view(_model(idle=idle, pending_requests=2))["blocks"])
    at = texts.index("Insights")
    assert texts[at + 1] == (
        f"*Idle seats:* {idle}. `/spend idle` lists them.\n"
        "*Limit requests:* 2 limit requests wait for a decision in the channel that takes requests."
    )
    member = readable_texts(home_view(_model(is_admin=False, idle=idle, pending_requests=2))["blocks"])
    assert f"*Idle seats:* {idle}. `/spend idle` lists them." in member
    assert not any("Limit requests" in text for text in member)
    assert "Insights" not in readable_texts(home_view(_model())["blocks"])  # nothing to act on: no section


def test_a_member_gets_no_controls_and_is_told_who_connects() -> None:
    view = home_view(_model(is_admin=False))
    assert _headers(view) == SECTIONS
    assert _actions(view) == []
    assert "No connections yet. An admin can connect Cursor, Windsurf or a REST API." in _texts(view)
    assert view["blocks"][-2:] == [
        {"type": "divider"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Workspace admins connect tools here."}]},
    ]


def test_spend_is_one_field_per_tool_naming_its_connections() -> None:
    spend = (ToolSpend("cursor", "usd_cents", Decimal(120_000), ("cursor", "cursor-eu")),)
    view = home_view(_model(spend=spend))
    fields = [block for block in view["blocks"] if "fields" in block]
    assert fields == [
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": "*Cursor*\n$1,200.00\n`cursor`, `cursor-eu`"}],
        }
    ]
    assert "Each connection's own billing cycle." in _texts(view)


def test_a_subscription_line_escapes_its_words_and_says_its_state() -> None:
    line = SubscriptionLine(4, "C1", "digest", "digest <daily> & more")
    assert describe_subscription(line) == "<#C1> · #4 digest &lt;daily&gt; &amp; more"
    paused = replace(line, paused_reason="channel_not_found <x>", snoozed_until=NOW)
    assert describe_subscription(paused) == (
        "<#C1> · #4 digest &lt;daily&gt; &amp; more"
        " · :double_vertical_bar: paused: channel_not_found &lt;x&gt; · snoozed"
    )
    muted = replace(line, snoozed_until=NOW, muted=True)
    assert describe_subscription(muted).endswith(" · muted until resolved")


def test_more_than_25_subscriptions_end_in_plus_n_more() -> None:
    lines = tuple(SubscriptionLine(i, f"C{i}", "health", "health") for i in range(30))
    view = home_view(_model(subscriptions=lines))
    assert "+5 more" in _texts(view)
    assert sum(text.count(" · #") for text in _texts(view)) == 25


def test_an_alert_line_escapes_what_it_quotes_and_shows_times_in_the_readers_zone() -> None:
    model = _model()
    line = AlertLine(1, "C1", "credit-low", "credits <left>", "10%", "Cursor & co: 5% left", NOW)
    assert describe_alert(line, model) == (
        ":rotating_light: *credit-low* · <#C1> · Cursor &amp; co: 5% left · since 10:12"
    )
    bare = replace(line, channel_id=None, summary=None, fired_at=None)
    assert (
        describe_alert(bare, model)
        == ":rotating_light: *credit-low* · no channel · credits &lt;left&gt; (10%)"
    )


def test_an_alert_says_snoozed_only_until_a_future_time_and_muted_first() -> None:
    model = _model()
    line = AlertLine(1, "C1", "health", "m", "t", "down", None)
    later = replace(line, snoozed_until=NOW + timedelta(hours=2))
    assert describe_alert(later, model).endswith(" · snoozed until 12:12")
    assert "snoozed" not in describe_alert(replace(line, snoozed_until=NOW - timedelta(hours=2)), model)
    assert describe_alert(replace(later, muted=True), model).endswith(" · muted until resolved")


def test_a_delivery_line_names_its_outcome_when_and_where() -> None:
    model = _model()
    line = DeliveryLine("C1", "digest", "2026-11-20", "failed", True, NOW, error="not_in_channel <x>")
    assert describe_delivery(line, model) == (
        ":x: 10:12 · digest 2026-11-20 · <#C1> · failed (late) — not_in_channel &lt;x&gt;"
    )
    earlier = replace(line, state="sent", late=False, error=None, at=NOW - timedelta(days=1))
    assert (
        describe_delivery(earlier, model)
        == ":white_check_mark: Nov 19 10:12 · digest 2026-11-20 · <#C1> · sent"
    )


def test_a_crowded_home_stays_within_slacks_limit_and_keeps_the_admin_controls() -> None:
    cards = tuple(_card(f"cursor-{index}") for index in range(120))
    model = _model(
        status=StatusAnswer(PARIS, cards),
        spend=(ToolSpend("cursor", "usd_cents", Decimal(120_000), tuple(card.connection for card in cards)),),
        subscriptions=tuple(SubscriptionLine(i, f"C{i}", "health", "health") for i in range(300)),
        deliveries=tuple(DeliveryLine("C1", "digest", "2026-11-20", "sent", False, NOW) for _ in range(10)),
        alerts=tuple(AlertLine(1, "C1", "health", "m", "t", "down", NOW) for _ in range(100)),
    )
    view = home_view(model)
    assert len(view["blocks"]) == MAX_VIEW_BLOCKS
    assert _headers(view)[-1] == "Admin"
    assert _actions(view)[-1]["block_id"] == "spendbot_home_connect"
    assert any("more sections not shown (Slack allows 100 blocks)" in text for text in _texts(view))
    assert all(len(json.dumps(block)) < 3500 for block in view["blocks"])


def test_the_block_ids_of_a_full_view_are_unique() -> None:
    cards = tuple(_card(f"cursor-{index}") for index in range(3))
    view = home_view(_model(status=StatusAnswer(PARIS, cards)))
    ids = [block["block_id"] for block in view["blocks"] if "block_id" in block]
    assert len(ids) == len(set(ids))
