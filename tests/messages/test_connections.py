"""``connections``, the disconnect question and ``audit``, drawn from hand-built view models."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain.usage import Vendor
from bot.messages.blocks import MAX_BLOCKS, MAX_TEXT
from bot.messages.connections import (
    CANCEL_DISCONNECT,
    CONFIRM_DISCONNECT,
    AuditLine,
    ConnectionSummary,
    audit_blocks,
    confirm_blocks,
    connections_blocks,
    describe_connection,
    describe_entry,
    slack_date,
    slack_moment,
)

ADDED = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
SYNCED = datetime(2026, 11, 20, 9, 12, tzinfo=UTC)
ADDED_DATE = f"<!date^{int(ADDED.timestamp())}^{{date_short}}|2026-11-02>"
SYNCED_MOMENT = f"<!date^{int(SYNCED.timestamp())}^{{date_short}} {{time}}|2026-11-20 09:12 UTC>"

CURSOR = ConnectionSummary(
    name="cursor",
    vendor=Vendor.CURSOR,
    origin="slack",
    created_by="U1",
    created_at=ADDED,
    last_sync=SYNCED,
    status="ok",
    status_detail=None,
    key_hint="wxyz",
)


def _texts(blocks: list[dict[str, Any]]) -> list[str]:
    """The text of each section, and of a context's first element (the "+N more" line)."""
    return [block["text"]["text"] if "text" in block else block["elements"][0]["text"] for block in blocks]


def test_slack_date_tokens_carry_a_utc_fallback() -> None:
    assert slack_date(ADDED) == ADDED_DATE
    assert slack_moment(SYNCED) == SYNCED_MOMENT


def test_a_connection_added_in_slack_says_who_when_its_last_sync_and_key_hint() -> None:
    assert describe_connection(CURSOR) == (
        f"*`cursor`* Cursor · added by <@U1> on {ADDED_DATE}\n"
        f"last sync {SYNCED_MOMENT} · status :white_check_mark: ok · key …wxyz"
    )


def test_an_environment_connection_never_synced_and_without_a_key_hint() -> None:
    row = replace(CURSOR, origin="env", created_by=None, last_sync=None, status="new", key_hint="")
    assert describe_connection(row) == (
        "*`cursor`* Cursor · (environment) configured by the operator\n"
        "last sync never · status :hourglass: new"
    )
    assert "someone" in describe_connection(replace(row, origin="slack"))


def test_a_failing_status_shows_its_detail_escaped_on_one_line_and_cut_at_150() -> None:
    row = replace(CURSOR, status="failing", status_detail="HTTP 500 <html>\n  & more")
    assert describe_connection(row).endswith(
        "status :warning: failing — HTTP 500 &lt;html&gt; &amp; more · key …wxyz"
    )
    long = replace(row, status_detail="x" * 400)
    assert describe_connection(long).endswith(f"— {'x' * 150}… · key …wxyz")
    assert "HTTP" not in describe_connection(
        replace(row, status="ok")
    )  # an ok connection shows no old detail
    assert "status weird ·" in describe_connection(replace(CURSOR, status="weird"))  # no mark, no stray space


def test_a_connection_name_is_quoted_so_it_cannot_mention_or_link() -> None:
    row = replace(CURSOR, name="<!channel>`x`")
    assert describe_connection(row).startswith("*`&lt;!channel&gt;'x'`* Cursor")


def test_connections_lists_a_title_then_the_rows_and_without_rows_says_how_to_add_one() -> None:
    blocks = connections_blocks([CURSOR, replace(CURSOR, name="rest", vendor=Vendor.REST)], command="/spend")
    assert _texts(blocks)[0] == "*Connections in this workspace* (2)"
    assert len(blocks) == 2
    assert _texts(blocks)[1].count("\n\n") == 1
    assert connections_blocks([], command="/costs") == [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "No connections yet. An admin can add one with `/costs connect cursor` "
                "(or `windsurf`, `rest`).",
            },
        }
    ]


def test_hundreds_of_connections_fit_one_message_and_say_how_many_are_left_out() -> None:
    rows = [
        replace(CURSOR, name=f"cursor-{i}", status="failing", status_detail="y" * 140) for i in range(600)
    ]
    blocks = connections_blocks(rows, command="/spend")
    assert len(blocks) == MAX_BLOCKS
    texts = _texts(blocks)
    assert all(len(text) <= MAX_TEXT for text in texts)
    shown = sum(text.count("*`cursor-") for text in texts)
    assert blocks[-1]["type"] == "context" and texts[-1] == f"+{600 - shown} more"


def test_entries_are_kept_whole_and_apart_by_a_blank_line() -> None:
    entries = [AuditLine("a" * 1400, "ok", SYNCED), AuditLine("b" * 1400, "ok", SYNCED)]
    entries.append(AuditLine("c" * 1400, "ok", SYNCED))
    first, second, third = (describe_entry(entry) for entry in entries)
    assert _texts(audit_blocks(entries))[1:] == [f"{first}\n\n{second}", third]


def test_the_disconnect_question_names_the_connection_and_carries_the_value_on_both_buttons() -> None:
    section, buttons = confirm_blocks(CURSOR, "token:cursor")
    assert section["text"]["text"] == (
        ":warning: Disconnect `cursor` (Cursor, added by <@U1>)? Its key and all its history (spend, "
        "credits, alert state) will be deleted. This cannot be undone."
    )
    assert buttons["block_id"] == "spendbot_disconnect"
    assert [(b["action_id"], b["text"]["text"], b.get("style"), b["value"]) for b in buttons["elements"]] == [
        (CONFIRM_DISCONNECT, "Disconnect", "danger", "token:cursor"),
        (CANCEL_DISCONNECT, "Cancel", None, "token:cursor"),
    ]
    (anonymous, _) = confirm_blocks(replace(CURSOR, created_by=None, vendor=Vendor.REST), "v")
    assert anonymous["text"]["text"].startswith(":warning: Disconnect `cursor` (REST)? ")


def test_an_audit_entry_says_when_who_what_and_how_it_went_escaping_the_detail() -> None:
    entry = AuditLine(
        "connect", "failed", SYNCED, user_id="U1", target="cursor", detail="key <rejected> & gone"
    )
    assert describe_entry(entry) == (
        f"{SYNCED_MOMENT} · <@U1> `connect` `cursor` — :x: failed (key &lt;rejected&gt; &amp; gone)"
    )
    slack = AuditLine("rotate-key", "ok", SYNCED)
    assert describe_entry(slack) == f"{SYNCED_MOMENT} · Slack `rotate-key` — :white_check_mark: ok"
    assert describe_entry(replace(slack, outcome="refused")).endswith("— :lock: refused")
    assert describe_entry(replace(slack, outcome="other")).endswith("—  other")


def test_the_audit_log_has_a_title_or_says_nothing_is_recorded() -> None:
    assert _texts(audit_blocks([])) == ["Nothing recorded yet: changes and writes will show here."]
    entries = [AuditLine("connect", "ok", SYNCED - timedelta(minutes=i), user_id="U1") for i in range(3)]
    blocks = audit_blocks(entries)
    assert _texts(blocks)[0] == "*Last changes and writes* (newest first)"
    assert len(blocks) == 2


def test_a_long_audit_log_is_cut_within_one_message() -> None:
    entries = [AuditLine("set-limit", "ok", SYNCED, user_id="U1", detail="d" * 900) for _ in range(500)]
    blocks = audit_blocks(entries)
    assert len(blocks) == MAX_BLOCKS
    texts = _texts(blocks)
    shown = sum(text.count("`set-limit`") for text in texts)
    assert blocks[-1]["type"] == "context" and texts[-1] == f"+{500 - shown} more"
    assert all(len(text) <= MAX_TEXT for text in texts)
