"""Block Kit in the terminal: mrkdwn, every block the bot builds, and buttons as numbered choices."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from rich.console import Console, RenderableType

from bot.console.render import BlockRenderer, emoji
from bot.messages.answers import Freshness, StatusAnswer, StatusCard
from bot.messages.blocks import actions, button, context, divider, fields, header, section
from bot.messages.message import Message
from bot.messages.replies import status_message
from bot.slack.write_commands import confirmation

RENDERER = BlockRenderer()
"""No names known for ids: ids are shown as they are."""


def _plain(renderable: RenderableType, width: int = 100) -> str:
    console = Console(width=width, record=True, color_system=None, force_terminal=False)
    with console.capture() as captured:
        console.print(renderable)
    return captured.get()


def _spans(text: str) -> dict[str, str]:
    """Each styled piece of ``text`` rendered as mrkdwn, by its style."""
    rendered = RENDERER.mrkdwn(text)
    return {str(span.style): rendered.plain[span.start : span.end] for span in rendered.spans}


def test_mrkdwn_styles_bold_italic_strike_and_code() -> None:
    rendered = RENDERER.mrkdwn("Spent *$1,234.00* this _cycle_, ~not~ in `cursor`")
    assert rendered.plain == "Spent $1,234.00 this cycle, not in cursor"
    styles = _spans("Spent *$1,234.00* this _cycle_, ~not~ in `cursor`")
    assert styles["bold"] == "$1,234.00"
    assert styles["italic"] == "cycle"
    assert styles["strike"] == "not"
    assert styles["cyan"] == "cursor"


def test_mrkdwn_leaves_words_with_underscores_and_lone_stars_alone() -> None:
    assert RENDERER.mrkdwn("data_as_of and snake_case_name").plain == "data_as_of and snake_case_name"
    assert RENDERER.mrkdwn("2 * 3 = 6").plain == "2 * 3 = 6"
    assert RENDERER.mrkdwn("*bold with `code` inside*").plain == "bold with code inside"


def test_links_mentions_channels_dates_and_escapes() -> None:
    renderer = BlockRenderer(mentions={"UCONSOLE": "you"}, channels={"C1": "finops"})
    text = renderer.mrkdwn(
        "<@UCONSOLE> and <@U999> in <#C1> and <#C2|general>: see <https://example.com/a|the docs>, "
        "<mailto:ada@example.com|ada@example.com>, <!date^1700000000^{date_short}|Nov 14>, <!here>. "
        "&lt;tag&gt; &amp; more"
    ).plain
    assert "@you and @U999 in #finops and #general" in text
    assert "the docs (https://example.com/a)" in text
    assert "ada@example.com," in text and "mailto" not in text
    assert "Nov 14" in text and "!date" not in text
    assert "@here" in text
    assert text.endswith("<tag> & more")


def test_emoji_shortcodes_the_bot_uses_become_emoji_and_times_stay() -> None:
    shortcodes = (
        ":warning: :white_check_mark: :lock: :x: :no_entry: :white_circle: :red_circle: "
        ":page_facing_up: :large_green_circle: :hourglass_flowing_sand: :hourglass: :rotating_light:"
    )
    converted = emoji(shortcodes)
    assert ":" not in converted
    assert "🟢" in converted and "✅" in converted and "⚠" in converted
    assert emoji("at 09:12:30 :not_an_emoji_name:") == "at 09:12:30 :not_an_emoji_name:"
    # Never inside code: what is typed there is shown as typed.
    assert RENDERER.mrkdwn("`:warning:`").plain == ":warning:"


def test_header_fields_context_and_divider_render_readably() -> None:
    message = Message(
        "fallback",
        [
            header("Spend · last 7 days"),
            section("*$277.25* in dollars"),
            *fields([("Cursor", "$277.25\n−20.3%"), ("Windsurf", "2,041 credits")]),
            divider(),
            context("Cursor data as of 09:12", "times in UTC"),
        ],
    )
    rendered = RENDERER.message(message)
    text = _plain(rendered)
    lines = text.splitlines()
    assert lines[0].startswith("Spend · last 7 days ──")
    assert "$277.25 in dollars" in text
    row = next(line for line in lines if "Cursor" in line and "Windsurf" in line)
    assert row.index("Cursor") < row.index("Windsurf")  # two columns, side by side
    assert "Cursor data as of 09:12  ·  times in UTC" in text
    assert rendered.choices == []


def test_buttons_become_numbered_choices_with_their_payload() -> None:
    message = Message(
        "fallback",
        [
            section("Pick one"),
            actions(
                button("Confirm", "write_confirm", '{"op": "set-limit"}', style="primary"),
                button("Cancel", "write_cancel", "x"),
                block_id="writes",
            ),
        ],
    )
    rendered = RENDERER.message(message, first_number=3)
    assert "[3] Confirm   [4] Cancel" in _plain(rendered)
    confirm, cancel = rendered.choices
    assert (confirm.number, confirm.action_id, confirm.value) == (3, "write_confirm", '{"op": "set-limit"}')
    assert confirm.action() == {
        "action_id": "write_confirm",
        "type": "button",
        "block_id": "writes",
        "text": {"type": "plain_text", "text": "Confirm", "emoji": True},
        "value": '{"op": "set-limit"}',
    }
    assert cancel.number == 4


def test_select_options_are_choices_that_send_the_selected_option() -> None:
    blocks = [
        {
            "type": "section",
            "block_id": "pick",
            "text": {"type": "mrkdwn", "text": "Connect a tool"},
            "accessory": {
                "type": "static_select",
                "action_id": "vendor",
                "placeholder": {"type": "plain_text", "text": "Connect"},
                "options": [
                    {"text": {"type": "plain_text", "text": "Cursor"}, "value": "cursor"},
                    {"text": {"type": "plain_text", "text": "Windsurf"}, "value": "windsurf"},
                ],
            },
        }
    ]
    rendered = BlockRenderer().blocks(blocks)
    assert "[1] Connect: Cursor   [2] Connect: Windsurf" in _plain(rendered)
    assert rendered.choices[1].action()["selected_option"]["value"] == "windsurf"


def test_images_and_unknown_blocks_are_named_not_dropped() -> None:
    blocks = [
        {"type": "image", "image_url": "file:///tmp/chart.png", "alt_text": "Spend by day"},
        {"type": "video", "title": {"type": "plain_text", "text": "x"}},
    ]
    text = _plain(BlockRenderer().blocks(blocks))
    assert "(image: Spend by day: file:///tmp/chart.png)" in text
    assert "(a video block)" in text


def test_a_message_without_blocks_shows_its_text() -> None:
    assert _plain(RENDERER.message({"text": "There is no sub-command *bogus*."})).strip() == (
        "There is no sub-command bogus."
    )


def test_a_modal_shows_its_title_and_inputs() -> None:
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Connect Cursor"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "The key is tried first."}},
            {
                "type": "input",
                "block_id": "name",
                "label": {"type": "plain_text", "text": "Connection name"},
                "element": {"type": "plain_text_input", "action_id": "value", "initial_value": "cursor"},
            },
            {
                "type": "input",
                "block_id": "base_url",
                "optional": True,
                "label": {"type": "plain_text", "text": "Base URL override"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "placeholder": {"type": "plain_text", "text": "https://api.cursor.com"},
                },
            },
        ],
    }
    text = _plain(RENDERER.view(view))
    assert text.splitlines()[0].startswith("Connect Cursor ──")
    assert "Connection name: cursor" in text
    assert "Base URL override (optional): https://api.cursor.com" in text


def test_the_bots_own_answers_render_with_their_figures_and_buttons() -> None:
    tz = ZoneInfo("UTC")
    now = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    card = StatusCard(
        connection="cursor",
        vendor="cursor",
        origin="env",
        status="ok",
        status_detail=None,
        unit="usd_cents",
        cycle_spent=Decimal(131956),
        cycle_start=datetime(2026, 10, 24, tzinfo=UTC),
        cycle_end=datetime(2026, 11, 24, tzinfo=UTC),
        credit=None,
        near_limit=2,
        tracked=None,
        windows=(),
        freshness=Freshness("cursor", "cursor", now),
    )
    text = _plain(RENDERER.message(status_message(StatusAnswer(tz, (card,)))))
    assert "🟢 Cursor (environment)" in text
    assert "This cycle: $1,319.56 (Oct 24 – Nov 24)" in text
    assert "*" not in text and "_" not in text

    from bot.services.writes import LimitChange

    question = confirmation(
        LimitChange(
            connection="cursor",
            email="ada@example.com",
            dollars=150,
            current_cents=Decimal(5000),
            known_limit=True,
        )
    )
    rendered = RENDERER.message(question)
    assert [choice.label for choice in rendered.choices] == ["Confirm", "Cancel"]
    assert json.loads(rendered.choices[0].value or "")["email"] == "ada@example.com"


def test_a_table_block_is_drawn_with_its_header_and_right_aligned_figures() -> None:
    from bot.messages.blocks import table

    blocks = table(("Person", "A month"), [("ada@x.io", "$40.00"), ("bo@x.io", "$19.00")], right=(1,))
    text = _plain(RENDERER.blocks(blocks))
    lines = [line for line in text.splitlines() if line.strip()]
    assert "Person" in lines[0] and "A month" in lines[0]
    assert any("ada@x.io" in line and line.rstrip().endswith("$40.00") for line in lines)
    many = table(("n",), [(str(n),) for n in range(150)])
    assert len(many[0]["rows"]) == 100 and many[1]["elements"][0]["text"] == "+51 more"
