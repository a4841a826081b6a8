"""The subscription commands' answers, drawn from hand-built lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.messages.blocks import MAX_BLOCKS, readable_texts
from bot.messages.subscriptions import (
    DeliveryLine,
    SubscriptionLine,
    deliveries_message,
    digest_when,
    muted_message,
    samples_posted_message,
    snoozed_message,
    subscribed_message,
    subscriptions_message,
    unsubscribed_message,
)

NOW = datetime(2026, 11, 20, 9, 12, tzinfo=UTC)


def _sections(blocks: list[dict[str, Any]]) -> list[str]:
    return [block["text"]["text"] for block in blocks if block["type"] == "section"]


def test_a_digests_next_time_is_local_with_utc_beside_it() -> None:
    assert digest_when(NOW, ZoneInfo("Europe/Paris")) == "Fri Nov 20 10:12 Europe/Paris (Nov 20 09:12 UTC)"
    assert digest_when(NOW, ZoneInfo("UTC")) == "Fri Nov 20 09:12 UTC"


def test_subscribe_says_what_escaped_when_first_and_how_to_undo_it() -> None:
    answer = subscribed_message(4, "budget <5000> & more", first="Fri Nov 20 09:12 UTC", command="/spend")
    assert answer.text == (
        ":white_check_mark: Subscribed this channel: *#4* budget &lt;5000&gt; &amp; more.\n"
        "First digest: Fri Nov 20 09:12 UTC."
    )
    assert answer.blocks[1]["elements"][0]["text"] == "`/spend unsubscribe 4` removes it."
    assert "First digest" not in subscribed_message(5, "health", first=None, command="/spend").text


def test_unsubscribe_lists_what_was_removed() -> None:
    assert unsubscribed_message([(1, "health"), (2, "digest <daily>")]).text == (
        "Removed #1 health, #2 digest &lt;daily&gt;."
    )


def test_the_list_of_one_channel_says_next_post_snooze_and_pause() -> None:
    lines = [
        SubscriptionLine(1, "C1", "digest", "digest daily", next_due_at=NOW),
        SubscriptionLine(2, "C1", "health", "health", snoozed_until=NOW + timedelta(hours=1)),
        SubscriptionLine(3, "C1", "health", "health", snoozed_until=NOW - timedelta(hours=1)),
        SubscriptionLine(4, "C1", "digest", "digest", paused_reason="not_in_channel <x>", next_due_at=NOW),
    ]
    answer = subscriptions_message(lines, every_channel=False, now=NOW, command="/spend")
    assert answer.text == "Subscriptions in this channel: 4"
    assert answer.blocks[0]["text"]["text"] == "Subscriptions in this channel"
    assert _sections(answer.blocks) == [
        "*#1* digest daily · next Nov 20 09:12 UTC\n"
        "*#2* health · snoozed until Nov 20 10:12 UTC\n"
        "*#3* health\n"
        "*#4* digest\n   :double_vertical_bar: paused: not_in_channel &lt;x&gt;"
        " — fix it, then subscribe again to resume"
    ]


def test_the_list_of_every_channel_names_the_channel_and_an_empty_list_says_how_to_add_one() -> None:
    answer = subscriptions_message(
        [SubscriptionLine(1, "C9", "health", "health")], every_channel=True, now=NOW, command="/s"
    )
    assert _sections(answer.blocks) == ["*#1* health · <#C9>"]
    empty = subscriptions_message([], every_channel=True, now=NOW, command="/s")
    assert empty.text == "Subscriptions in every channel: none"
    assert _sections(empty.blocks) == ["None yet. `/s help subscribe` shows how to add one."]


def test_a_long_list_shows_forty_and_counts_the_rest() -> None:
    lines = [SubscriptionLine(i, "C1", "health", "health") for i in range(100)]
    answer = subscriptions_message(lines, every_channel=False, now=NOW, command="/spend")
    assert len(answer.blocks) <= MAX_BLOCKS
    assert sum(text.count("*#") for text in _sections(answer.blocks)) == 40
    assert "+60 more" in readable_texts(answer.blocks)


def test_snooze_says_until_when_or_until_resolved() -> None:
    assert snoozed_message(3, until=NOW).text == (
        "Subscription #3 snoozed until Nov 20 09:12 UTC (recoveries still post)."
    )
    assert muted_message(3, 2, command="/spend").text == (
        "Subscription #3: its 2 firing alerts are muted until each resolves (the recovery is still "
        "posted); a new alert still posts."
    )
    assert muted_message(3, 0, command="/spend").text.startswith(
        "Subscription #3 has no alert firing, so nothing was muted"
    )


def test_test_says_what_was_posted_and_why_a_sample_was_not() -> None:
    assert samples_posted_message([], [], command="/spend").text == (
        "This channel has no subscription to test. `/spend help subscribe` shows how."
    )
    assert samples_posted_message(["digest"], [("health", "not_in_channel <x>")], command="/spend").text == (
        "Posted 1 test message here, one per kind subscribed (digest), each marked [TEST].\n"
        "The `health` sample could not be posted: `not_in_channel &lt;x&gt;`."
    )
    assert samples_posted_message([], [("digest", "e")], command="/spend").text.startswith(
        "Posted 0 test messages here, one per kind subscribed.\n"
    )


def test_deliveries_are_listed_in_utc_and_cut_at_twenty() -> None:
    line = DeliveryLine("C1", "digest", "2026-11-20", "sent", False, NOW)
    answer = deliveries_message([line] * 25)
    assert answer.text == "Last 25 deliveries"
    assert answer.blocks[0]["text"]["text"] == "Last deliveries"
    first = _sections(answer.blocks)[0].split("\n")[0]
    assert first == ":white_check_mark: Nov 20 09:12 UTC · digest 2026-11-20 · <#C1> · sent"
    assert "+5 more" in readable_texts(answer.blocks)
    assert deliveries_message([]).text == "No scheduled posts yet."
