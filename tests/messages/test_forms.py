"""The connect modal and its companions: fields per vendor, Slack's modal limits, never a key."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.domain.usage import Vendor
from bot.domain.vendors import traits
from bot.messages.blocks import MAX_TEXT
from bot.messages.forms import (
    CONNECT_VIEW,
    MAX_TITLE,
    VALUE,
    checking_view,
    connect_modal,
    connected_view,
    notice_view,
)

VENDORS = [vendor.value for vendor in Vendor]


def _inputs(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [block for block in view["blocks"] if block["type"] == "input"]


def _field(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(block for block in _inputs(view) if block["block_id"] == block_id)


def test_the_cursor_form_asks_for_a_name_a_key_and_an_optional_base_url() -> None:
    view = connect_modal(
        "cursor", channel_id="C1", values={"name": "cursor-2"}, default_base_url="https://api"
    )
    assert view["type"] == "modal"
    assert view["callback_id"] == CONNECT_VIEW
    assert view["title"] == {"type": "plain_text", "text": "Connect Cursor", "emoji": True}
    assert (view["submit"]["text"], view["close"]["text"]) == ("Connect", "Cancel")
    assert view["private_metadata"] == '{"vendor": "cursor", "channel": "C1"}'
    assert [block["block_id"] for block in _inputs(view)] == ["name", "key", "base_url"]
    assert view["blocks"][0]["text"]["text"] == (
        "The key is tried with one live call to Cursor before anything is saved, then stored encrypted. "
        "It is never shown again: `connections` shows at most its last four characters."
    )
    name = _field(view, "name")
    assert name["label"]["text"] == "Connection name"
    assert name["element"] == {
        "type": "plain_text_input",
        "action_id": VALUE,
        "max_length": 40,
        "initial_value": "cursor-2",
    }
    assert name["hint"]["text"] == "Lowercase letters, digits, - and _."
    assert name["optional"] is False
    assert _field(view, "key")["label"]["text"] == traits("cursor").key_label
    base = _field(view, "base_url")
    assert base["optional"] is True
    assert base["element"]["placeholder"]["text"] == "https://api"
    assert "initial_value" not in base["element"]  # the default is not an override


def test_a_base_url_override_is_shown_again_only_when_it_differs_from_the_default() -> None:
    view = connect_modal(
        "windsurf", channel_id="", values={"base_url": "https://proxy"}, default_base_url="https://x"
    )
    assert _field(view, "base_url")["element"]["initial_value"] == "https://proxy"
    same = connect_modal(
        "windsurf", channel_id="", values={"base_url": "https://x"}, default_base_url="https://x"
    )
    assert "initial_value" not in _field(same, "base_url")["element"]
    assert (
        _field(connect_modal("windsurf", channel_id=""), "base_url")["element"]["placeholder"]["text"]
        == "https://"
    )


def test_the_rest_form_has_the_probe_quota_and_track_fields() -> None:
    values = {
        "name": "api",
        "base_url": "https://x",
        "probe_path": "/p",
        "per_minute": "60",
        "track": "/u#a.b",
    }
    view = connect_modal("rest", channel_id="C1", values=values)
    assert [block["block_id"] for block in _inputs(view)] == [
        "name",
        "key",
        "base_url",
        "probe_path",
        "per_minute",
        "per_day",
        "track",
    ]
    assert _field(view, "base_url")["optional"] is False
    assert _field(view, "per_minute")["element"] == {
        "type": "number_input",
        "action_id": VALUE,
        "is_decimal_allowed": False,
        "min_value": "1",
        "initial_value": "60",
    }
    assert "initial_value" not in _field(view, "per_day")["element"]
    assert _field(view, "track")["element"]["initial_value"] == "/u#a.b"


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_form_fits_slacks_modal_limits_and_never_holds_a_key(vendor: str) -> None:
    view = connect_modal(vendor, channel_id="C1", values={"name": "n", "key": "sk-secret"}, problem="p")
    assert len(view["title"]["text"]) <= MAX_TITLE
    ids = [block["block_id"] for block in _inputs(view)]
    assert len(ids) == len(set(ids))
    assert all(block["element"]["action_id"] == VALUE for block in _inputs(view))
    assert all(0 < len(block["label"]["text"]) <= 2000 for block in _inputs(view))
    assert "initial_value" not in _field(view, "key")["element"]
    assert "sk-secret" not in json.dumps(view)
    assert json.loads(view["private_metadata"]) == {"vendor": vendor, "channel": "C1"}


def test_a_problem_goes_first_escaped_and_a_typed_value_is_cut_to_the_fields_length() -> None:
    view = connect_modal("cursor", channel_id="", values={"name": "n" * 100}, problem="HTTP 401 <b>&")
    assert view["blocks"][0]["text"]["text"] == ":warning: HTTP 401 &lt;b&gt;&amp;"
    assert _field(view, "name")["element"]["initial_value"] == "n" * 40


def test_checking_and_connected_views_name_the_tool_and_at_most_four_characters_of_the_key() -> None:
    checking = checking_view(Vendor.WINDSURF)
    assert checking["callback_id"] == CONNECT_VIEW
    assert checking["title"]["text"] == "Checking the key…"
    assert "submit" not in checking
    assert checking["blocks"][0]["text"]["text"].startswith(
        ":hourglass_flowing_sand: Checking the key with one live call to Windsurf… "
    )
    connected = connected_view("windsurf-eu", Vendor.WINDSURF, "abcdef")
    assert connected["title"]["text"] == "Connected ✓"
    assert connected["blocks"][0]["text"]["text"] == (
        ":white_check_mark: `windsurf-eu` (Windsurf) is connected. The key ends in …cdef. "
        "A first sync has started; `status` and `connections` show it shortly."
    )
    assert "The key ends" not in json.dumps(connected_view("w", Vendor.WINDSURF, ""))


def test_a_notice_cuts_its_title_to_24_characters_and_its_text_within_slack_s_3000() -> None:
    view = notice_view("A title far longer than Slack allows", "t" * 5000)
    assert view == {
        "type": "modal",
        "title": {"type": "plain_text", "text": "A title far longer than ", "emoji": True},
        "close": {"type": "plain_text", "text": "Done", "emoji": True},
        "blocks": [view["blocks"][0]],
    }
    text = view["blocks"][0]["text"]["text"]
    assert len(text) <= MAX_TEXT and text.startswith("t" * 2900)
    kept = text.split("…")[0]
    assert text.endswith(f"… (+{5000 - len(kept)} more characters)")  # the cut says how much is missing
