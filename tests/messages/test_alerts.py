"""Alert messages from hand-built batches: texts, buttons, block ids, the test variant, and one alert
resolved in place while the others keep their sections and buttons."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.messages.alerts import (
    ALERT_ACTIONS_BLOCK,
    ALERT_BLOCK,
    MUTE_ACTION,
    SNOOZE_ACTION,
    AlertBatch,
    AlertItem,
    OpenAlert,
    OpenAlerts,
    alert_block_id,
    alert_message,
    alert_of_block,
    alert_summary,
    fetch_failing_problem,
    health_detail,
    mark_resolved,
    open_alerts_message,
    rejected_problem,
    resolved_reply,
    stale_problem,
)
from bot.messages.blocks import MAX_BLOCKS, readable_texts
from bot.messages.message import Block

CREDITS = AlertItem(7, "Windsurf: credits running low", "1,200 credits left of 10,000 credits (12%)")
BUDGET = AlertItem(9, "Budget $500.00 (all tools): 80% reached", "$400.00 of $500.00 (80%) this cycle")
WHEN = datetime(2026, 11, 20, 9, 5, tzinfo=UTC)


def batch(*items: AlertItem, test: bool = False) -> AlertBatch:
    return AlertBatch(items, remind_hours=24, test=test)


def block_ids(blocks: list[Block]) -> list[str]:
    return [block["block_id"] for block in blocks if "block_id" in block]


def test_one_alert_is_a_header_its_section_its_buttons_and_the_reminder_note() -> None:
    message = alert_message(batch(CREDITS))
    assert message.text == "Windsurf: credits running low"
    assert [block["type"] for block in message.blocks] == ["header", "section", "actions", "context"]
    header, section, actions, note = message.blocks
    assert header["text"]["text"] == "spendbot alert"
    assert section == {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": ":rotating_light: *Windsurf: credits running low*\n"
            "1,200 credits left of 10,000 credits (12%)",
        },
        "block_id": "alert-0-7",
    }
    assert actions["block_id"] == "alert-actions-0-7"
    assert [
        (button["text"]["text"], button["action_id"], button["value"]) for button in actions["elements"]
    ] == [
        ("Snooze 24h", SNOOZE_ACTION, "7"),
        ("Mute until resolved", MUTE_ACTION, "7"),
    ]
    assert note["elements"][0]["text"] == "Reminders at most every 24 h."


def test_a_reminder_says_still_and_the_note_shows_fractional_hours() -> None:
    item = AlertItem(3, "Cursor: people near their spend limit", "2 at 90% or more", reminder=True)
    message = alert_message(AlertBatch((item,), remind_hours=1.5))
    assert (
        message.blocks[1]["text"]["text"]
        == ":hourglass: Still: *Cursor: people near their spend limit*\n2 at 90% or more"
    )
    assert message.blocks[-1]["elements"][0]["text"] == "Reminders at most every 1.5 h."


def test_alerts_due_together_share_one_message_and_its_fallback() -> None:
    message = alert_message(batch(CREDITS, BUDGET))
    assert message.text == "Windsurf: credits running low; Budget $500.00 (all tools): 80% reached"
    assert block_ids(message.blocks) == ["alert-0-7", "alert-actions-0-7", "alert-1-9", "alert-actions-1-9"]


def test_a_test_alert_is_tagged_has_no_buttons_and_says_nothing_is_wrong() -> None:
    message = alert_message(batch(CREDITS, BUDGET, test=True))
    assert message.text.startswith("[TEST] Windsurf: credits running low; ")
    assert message.blocks[0]["text"]["text"] == "[TEST] spendbot alert"
    assert [block["type"] for block in message.blocks] == ["header", "section", "section", "context"]
    assert not any(block["type"] == "actions" for block in message.blocks)
    assert message.blocks[-1]["elements"][0]["text"] == "This is a test: nothing is wrong."


def test_samples_share_state_zero_yet_their_block_ids_stay_unique() -> None:
    items = [AlertItem(None, f"sample {i}", "detail") for i in range(3)]
    message = alert_message(batch(*items, test=True))
    assert block_ids(message.blocks) == ["alert-0-0", "alert-1-0", "alert-2-0"]


def test_sixty_alerts_fit_in_fifty_blocks_with_the_rest_counted_and_ids_unique() -> None:
    items = [AlertItem(i, f"alert {i}", "detail") for i in range(1, 61)]
    message = alert_message(batch(*items))
    assert len(message.blocks) <= MAX_BLOCKS
    ids = block_ids(message.blocks)
    assert len(ids) == len(set(ids))
    shown = sum(1 for block in message.blocks if block["type"] == "section")
    assert shown == 23  # header + 23 alerts of two blocks + the count + the note = 49
    assert message.blocks[-2]["elements"][0]["text"] == "+37 more alerts not shown (Slack allows 50 blocks)"
    assert message.blocks[-1]["elements"][0]["text"] == "Reminders at most every 24 h."
    assert "alert 60" in message.text  # the fallback still names every alert


def test_a_very_long_title_is_clipped_in_the_fallback_text() -> None:
    message = alert_message(batch(AlertItem(1, "x" * 4000, "detail")))
    assert len(message.text) <= 3000 and message.text.endswith("more characters)")


def test_block_ids_name_their_place_and_state_and_old_ids_are_still_read() -> None:
    ids = [
        alert_block_id(kind, place, 0) for place in range(3) for kind in (ALERT_BLOCK, ALERT_ACTIONS_BLOCK)
    ]
    assert len(set(ids)) == 6  # samples all show state 0
    assert alert_of_block(alert_block_id(ALERT_ACTIONS_BLOCK, 4, 17)) == (ALERT_ACTIONS_BLOCK, 17)
    assert alert_of_block("alert-17") == (ALERT_BLOCK, 17)  # a message posted before the place was in it
    assert alert_of_block("alert-actions-17") == (ALERT_ACTIONS_BLOCK, 17)
    assert alert_of_block("spendbot_home_connect") is None and alert_of_block("alert-x") is None
    assert alert_of_block("alert-1-2-3") is None


def test_resolving_one_alert_rewrites_its_section_drops_its_buttons_and_keeps_the_others() -> None:
    posted = alert_message(batch(CREDITS, BUDGET)).blocks
    marked = mark_resolved(posted, 7, CREDITS.title, WHEN)
    assert block_ids(marked) == ["alert-0-7", "alert-1-9", "alert-actions-1-9"]
    assert marked[1] == {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": ":white_check_mark: ~Windsurf: credits running low~ — *resolved* Nov 20 09:05 UTC",
        },
        "block_id": "alert-0-7",
    }
    assert marked[0] == posted[0] and marked[2:] == posted[3:]  # header, the other alert, the note


def test_resolving_leaves_the_stored_blocks_untouched_and_ignores_unknown_states() -> None:
    posted = alert_message(batch(CREDITS, BUDGET)).blocks
    before = [dict(block) for block in posted]
    assert mark_resolved(posted, 42, "gone", WHEN) == posted
    mark_resolved(posted, 9, BUDGET.title, WHEN)
    assert posted == before


def test_resolving_reads_messages_posted_before_the_place_was_in_the_block_id() -> None:
    old = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "x"}, "block_id": "alert-7"},
        {"type": "actions", "elements": [], "block_id": "alert-actions-7"},
    ]
    marked = mark_resolved(old, 7, "Old alert", WHEN)
    assert len(marked) == 1 and marked[0]["block_id"] == "alert-7"
    assert "~Old alert~ — *resolved*" in marked[0]["text"]["text"]


def test_the_resolved_reply_names_the_alert_and_says_what_it_reads_now() -> None:
    reply = resolved_reply("Windsurf: credits running low", "9,000 credits left")
    assert reply.text == "Resolved: Windsurf: credits running low"
    assert reply.blocks == [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": ":white_check_mark: *Resolved:* Windsurf: credits running low\n9,000 credits left",
            },
        }
    ]


def test_open_alerts_name_their_subscription_and_channel() -> None:
    message = open_alerts_message(
        OpenAlerts((OpenAlert("*Cursor: cannot fetch data*\nthe key is rejected", 4, "health", "C123"),))
    )
    assert message.text == "1 open alerts"
    assert message.blocks[0]["text"]["text"] == "Open alerts (1)"
    assert message.blocks[1]["text"]["text"] == (
        ":rotating_light: *Cursor: cannot fetch data*\nthe key is rejected\n_#4 health in <#C123>_"
    )


def test_many_open_alerts_are_counted_past_the_block_limit() -> None:
    alerts = tuple(OpenAlert(f"alert {i}", i, "budget", "C1") for i in range(80))
    message = open_alerts_message(OpenAlerts(alerts))
    assert len(message.blocks) == MAX_BLOCKS
    assert message.blocks[-1]["elements"][0]["text"] == "+32 more alerts not shown (Slack allows 50 blocks)"
    assert "alert 47" in readable_texts(message.blocks)[-2]


def test_a_connection_s_problems_are_escaped_and_joined() -> None:
    problems = [
        rejected_problem(None),
        fetch_failing_problem("HTTP 500 <html>"),
        stale_problem(datetime(2026, 11, 19, 8, 4, tzinfo=UTC)),
    ]
    assert health_detail(problems) == (
        "the key is rejected (no detail); fetching fails: HTTP 500 &lt;html&gt;; "
        "no fresh data since Nov 19 08:04 UTC"
    )
    assert (stale_problem(None), health_detail([])) == ("no fresh data ever", "fetching works")


def test_an_alert_s_summary_is_its_title_in_bold_over_its_detail() -> None:
    assert alert_summary(CREDITS.title, CREDITS.detail) == f"*{CREDITS.title}*\n{CREDITS.detail}"
