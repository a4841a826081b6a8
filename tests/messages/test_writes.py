"""The write confirmations, what replaces them once done, the export answer and the share button."""

from __future__ import annotations

from decimal import Decimal

from bot.messages.blocks import MAX_BLOCKS, section
from bot.messages.message import Message
from bot.messages.replies import export_message
from bot.messages.sharing import SHARE_ACTION, shared, with_share_button
from bot.messages.writes import CANCEL_ACTION, CONFIRM_ACTION, cap_question, limit_question, write_done


def test_a_limit_question_shows_new_and_current_and_carries_the_plan_on_both_buttons() -> None:
    question = limit_question(
        email="a<b>@x.com",
        connection="cursor",
        dollars=1500,
        current_cents=Decimal(5000),
        known_limit=True,
        value="plan",
    )
    assert question.blocks[0]["text"]["text"] == (
        "Set the Cursor spend limit of *a&lt;b&gt;@x.com* on `cursor` to *$1,500*?\nCurrent limit: $50.00."
    )
    assert question.text == (
        "Set the Cursor spend limit of a&lt;b&gt;@x.com on `cursor` to $1,500?\nCurrent limit: $50.00."
    )
    buttons = question.blocks[1]["elements"]
    assert [(b["action_id"], b["value"], b.get("style")) for b in buttons] == [
        (CONFIRM_ACTION, "plan", "primary"),
        (CANCEL_ACTION, "plan", None),
    ]
    assert question.blocks[2]["elements"][0]["text"] == (
        "Nothing changes until an admin confirms. The change is recorded in `audit`."
    )


def test_a_limit_removed_or_unknown_is_said_so() -> None:
    question = limit_question(
        email="e", connection="c", dollars=None, current_cents=None, known_limit=False, value="v"
    )
    assert question.text.endswith("to no limit?\nCurrent limit: unknown.")
    known_none = limit_question(
        email="e", connection="c", dollars=5, current_cents=None, known_limit=True, value="v"
    )
    assert known_none.text.endswith("Current limit: no limit.")


def test_a_cap_question_for_the_team_or_one_person() -> None:
    team = cap_question(scope="team", connection="windsurf", credits=1000, current=Decimal(500), value="v")
    assert team.blocks[0]["text"]["text"] == (
        "Set the Windsurf add-on credit cap for every person (team-wide) on `windsurf` to *1,000 credits*?\n"
        "Current cap: 500 credits. The cap applies to each person, not to a shared pool."
    )
    one = cap_question(scope="x&y@z.com", connection="w", credits=None, current=None, value="v")
    assert one.text.startswith("Set the Windsurf add-on credit cap for x&amp;y@z.com on `w` to no cap?")
    assert "Current cap: no cap." in one.text


def test_a_done_write_names_who_did_it_and_quotes_the_vendor_escaped() -> None:
    done = write_done(user_id="U1", op="set-limit", target="a<b>", connection="cursor", answer="ok <1>")
    assert done.text == ":white_check_mark: Done by <@U1>: `set-limit` for a&lt;b&gt; on `cursor`."
    assert done.blocks[1]["elements"][0]["text"] == "The vendor said: ok &lt;1&gt;"


def test_the_export_answer_names_the_file_rows_period_and_notes() -> None:
    answer = export_message("spend.csv", 12345, "Nov 1 – Nov 20", ("Windsurf days are team totals.",))
    assert (
        answer.text == ":page_facing_up: Sent you `spend.csv` by direct message: 12,345 rows, Nov 1 – Nov 20."
    )
    assert [element["text"] for element in answer.blocks[1]["elements"]] == [
        "Days in the file are UTC days; amounts in each row's unit.",
        "Windsurf days are team totals.",
    ]


def test_the_share_button_and_the_shared_by_line_survive_a_full_answer() -> None:
    full = Message("t", [section(str(i)) for i in range(80)])
    button = with_share_button(full, "spend 7d")
    assert len(button.blocks) == MAX_BLOCKS
    assert button.blocks[-1]["elements"][0]["action_id"] == SHARE_ACTION
    assert button.blocks[-1]["elements"][0]["value"] == "spend 7d"
    post = shared(full, user_id="U1", command="/spend", text="spend 7d")
    assert len(post.blocks) == MAX_BLOCKS
    assert post.text == "t"
    assert post.blocks[-1]["elements"][0]["text"] == "Shared by <@U1> · `/spend spend 7d`"
