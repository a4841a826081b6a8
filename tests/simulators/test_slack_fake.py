"""The fake Slack's posting limits: one message a second per channel and a per-workspace cap per minute,
answered with 429 and ``Retry-After``, time scaled, and off unless asked for."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.simulators.serving import served
from bot.simulators.slack import FakeSlack, HistoryLimits, PostLimits

TOKEN = "xoxb-test-token"
OTHER_TOKEN = "xoxb-other-workspace"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    fake = FakeSlack(team_id="T0001")
    fake.add_token(OTHER_TOKEN, "T0002")
    for channel in ("C1", "C2", "C3", "C4"):
        fake.add_channel(channel)
    fake.add_channel("C9", team_id="T0002")
    with served(fake.app) as server:
        fake.bind(server.url)
        yield fake


@pytest.fixture
def client(fake: FakeSlack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.api_url) as client:
        yield client


def post(client: httpx.Client, channel: str, token: str = TOKEN) -> httpx.Response:
    return client.post(
        "chat.postMessage",
        data={"channel": channel, "text": "hello"},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_posting_limits_are_off_by_default(fake: FakeSlack, client: httpx.Client) -> None:
    assert all(post(client, "C1").json()["ok"] for _ in range(5))
    assert fake.rate_limited == 0 and len(fake.channel_messages("C1")) == 5


def test_a_second_post_in_a_channel_within_its_scaled_second_is_refused(
    fake: FakeSlack, client: httpx.Client
) -> None:
    fake.enforce_post_limits(PostLimits(per_channel_per_second=1, time_scale=2))  # 1 per 0.5 s
    assert post(client, "C1").json()["ok"]
    refused = post(client, "C1")
    assert refused.status_code == 429
    assert refused.json() == {"ok": False, "error": "ratelimited"}
    assert refused.headers["Retry-After"] == "1"  # whole wall-clock seconds, at least one
    assert post(client, "C2").json()["ok"]  # another channel is not held back
    time.sleep(0.55)
    assert post(client, "C1").json()["ok"]
    assert fake.rate_limited == 1
    assert [len(fake.channel_messages(channel)) for channel in ("C1", "C2")] == [2, 1]


def test_the_workspace_cap_holds_across_channels_and_only_for_that_workspace(
    fake: FakeSlack, client: httpx.Client
) -> None:
    fake.enforce_post_limits(PostLimits(per_workspace_per_minute=3, time_scale=60))  # 3 per second
    assert all(post(client, channel).json()["ok"] for channel in ("C1", "C2", "C3"))
    refused = post(client, "C4")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert post(client, "C9", OTHER_TOKEN).json()["ok"]  # the other workspace has its own budget
    time.sleep(1.05)
    assert post(client, "C4").json()["ok"]
    assert fake.rate_limited == 1
    fake.enforce_post_limits(None)
    assert all(post(client, "C1").json()["ok"] for _ in range(3))


# ----- strict where Slack is strict -----------------------------------------------------------------------

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_methods_that_take_no_json_ignore_a_json_body_as_slack_does(
    fake: FakeSlack, client: httpx.Client
) -> None:
    fake.add_user("U1", is_admin=True)
    # users.info and conversations.info "do not currently accept application/json": the arguments are lost.
    assert client.post("users.info", json={"user": "U1"}, headers=AUTH).json() == {
        "ok": False,
        "error": "user_not_found",
    }
    assert client.post("conversations.info", json={"channel": "C1"}, headers=AUTH).json()["error"] == (
        "channel_not_found"
    )
    history = client.post("conversations.history", json={"channel": "C1"}, headers=AUTH).json()
    assert history["error"] == "channel_not_found"
    # The same arguments as a form or a query string are read.
    assert client.post("users.info", data={"user": "U1"}, headers=AUTH).json()["user"]["is_admin"]
    assert client.get("conversations.info", params={"channel": "C1"}, headers=AUTH).json()["ok"]
    # chat.postMessage takes JSON.
    assert client.post("chat.postMessage", json={"channel": "C1", "text": "hi"}, headers=AUTH).json()["ok"]


def test_a_message_may_not_repeat_a_block_id_nor_have_more_than_50_blocks(
    fake: FakeSlack, client: httpx.Client
) -> None:
    twice = [{"type": "section", "block_id": "alert-0", "text": {"type": "mrkdwn", "text": "x"}}] * 2
    too_many = [{"type": "divider"}] * 51
    for blocks in (twice, too_many):
        for method, extra in (("chat.postMessage", {}), ("chat.postEphemeral", {"user": "U1"})):
            body = {"channel": "C1", "text": "t", "blocks": blocks, **extra}
            assert client.post(method, json=body, headers=AUTH).json()["error"] == "invalid_blocks"
    posted = client.post("chat.postMessage", json={"channel": "C1", "text": "t"}, headers=AUTH).json()
    update = {"channel": "C1", "ts": posted["ts"], "text": "t", "blocks": twice}
    assert client.post("chat.update", json=update, headers=AUTH).json()["error"] == "invalid_blocks"
    response = client.post(fake.new_response_url(), json={"text": "t", "blocks": too_many})
    assert response.status_code == 400 and response.json()["error"] == "invalid_blocks"
    assert fake.channel_messages("C1")[0].blocks is None and fake.response_posts() == []


@pytest.mark.parametrize(
    "metadata",
    [
        "not json",
        {"event_payload": {"keys": ["k"]}},
        {"event_type": 7, "event_payload": {}},
        {"event_type": "spendbot_delivery", "event_payload": ["k"]},
        {"event_type": "spendbot_delivery"},
    ],
)
def test_metadata_must_be_an_event_type_string_and_an_event_payload_object(
    client: httpx.Client, metadata: object
) -> None:
    body = {"channel": "C1", "text": "t", "metadata": metadata}
    assert client.post("chat.postMessage", json=body, headers=AUTH).json() == {
        "ok": False,
        "error": "invalid_metadata_format",
    }


def test_metadata_with_a_malformed_event_type_is_dropped_with_a_warning(
    fake: FakeSlack, client: httpx.Client
) -> None:
    good = {"event_type": "spendbot_delivery", "event_payload": {"keys": ["k"]}}
    bad = {"event_type": "spendbot.delivery", "event_payload": {"keys": ["k"]}}
    assert (
        "warning"
        not in client.post(
            "chat.postMessage", json={"channel": "C1", "text": "a", "metadata": good}, headers=AUTH
        ).json()
    )
    answer = client.post(
        "chat.postMessage", json={"channel": "C1", "text": "b", "metadata": bad}, headers=AUTH
    ).json()
    assert answer["ok"] and answer["warning"] == "invalid_metadata_schema"
    assert [message.metadata for message in fake.channel_messages("C1")] == [good, None]


def test_history_of_an_app_outside_the_marketplace_is_one_call_a_minute_of_15_messages(
    fake: FakeSlack, client: httpx.Client
) -> None:
    for number in range(20):
        client.post("chat.postMessage", data={"channel": "C1", "text": f"m{number}"}, headers=AUTH)
    fake.enforce_history_limits(HistoryLimits(time_scale=60))  # 1 call a second
    first = client.get("conversations.history", params={"channel": "C1", "limit": 200}, headers=AUTH)
    page = first.json()
    assert [message["text"] for message in page["messages"]] == [f"m{n}" for n in range(19, 4, -1)]
    assert page["has_more"] and page["response_metadata"]["next_cursor"]
    refused = client.get(
        "conversations.history",
        params={"channel": "C2", "cursor": page["response_metadata"]["next_cursor"]},
        headers=AUTH,
    )
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert client.get(
        "conversations.history", params={"channel": "C9"}, headers={"Authorization": f"Bearer {OTHER_TOKEN}"}
    ).json()["ok"]  # the other workspace has its own budget


def test_history_reads_a_window_exclusive_of_its_ends_page_by_page(
    fake: FakeSlack, client: httpx.Client
) -> None:
    fake.set_clock(lambda: 1_000.0)
    for number in range(3):
        client.post("chat.postMessage", data={"channel": "C1", "text": f"early{number}"}, headers=AUTH)
    fake.set_clock(lambda: 2_000.0)
    for number in range(4):
        client.post("chat.postMessage", data={"channel": "C1", "text": f"late{number}"}, headers=AUTH)
    window = {"channel": "C1", "oldest": "1500", "latest": "3000", "limit": 3}
    page = client.get("conversations.history", params=window, headers=AUTH).json()
    assert [message["text"] for message in page["messages"]] == ["late3", "late2", "late1"]
    cursor = page["response_metadata"]["next_cursor"]
    rest = client.get("conversations.history", params={**window, "cursor": cursor}, headers=AUTH).json()
    assert [message["text"] for message in rest["messages"]] == ["late0"] and not rest["has_more"]


def _text(kind: str, text: str) -> dict[str, str]:
    return {"type": kind, "text": text}


def _button(action_id: str = "a", *, text: str = "Go", value: str = "v") -> dict[str, Any]:
    return {"type": "button", "text": _text("plain_text", text), "action_id": action_id, "value": value}


REFUSED_BLOCKS = {
    "empty section text": {"type": "section", "text": _text("mrkdwn", "")},
    "section text over 3000": {"type": "section", "text": _text("mrkdwn", "x" * 3001)},
    "section with neither text nor fields": {"type": "section"},
    "11 fields": {"type": "section", "fields": [_text("mrkdwn", "f")] * 11},
    "field over 2000": {"type": "section", "fields": [_text("mrkdwn", "x" * 2001)]},
    "header over 150": {"type": "header", "text": _text("plain_text", "x" * 151)},
    "header in mrkdwn": {"type": "header", "text": _text("mrkdwn", "x")},
    "empty context": {"type": "context", "elements": []},
    "11 context elements": {"type": "context", "elements": [_text("mrkdwn", "c")] * 11},
    "empty actions": {"type": "actions", "elements": []},
    "26 buttons": {"type": "actions", "elements": [_button(f"a{i}") for i in range(26)]},
    "one action_id twice in a block": {"type": "actions", "elements": [_button("a"), _button("a")]},
    "button text over 75": {"type": "actions", "elements": [_button(text="x" * 76)]},
    "button value over 2000": {"type": "actions", "elements": [_button(value="x" * 2001)]},
    "action_id over 255": {"type": "actions", "elements": [_button("a" * 256)]},
    "block_id over 255": {"type": "divider", "block_id": "b" * 256},
    "option text over 75": {
        "type": "section",
        "text": _text("mrkdwn", "pick"),
        "accessory": {
            "type": "static_select",
            "action_id": "s",
            "options": [{"text": _text("plain_text", "x" * 76), "value": "v"}],
        },
    },
}


def _table(rows: int, cells: int = 2) -> dict[str, object]:
    return {
        "type": "table",
        "rows": [[{"type": "raw_text", "text": f"{r}.{c}"} for c in range(cells)] for r in range(rows)],
    }


def test_a_table_is_one_a_message_within_100_rows_of_20_cells_and_never_in_a_view(
    fake: FakeSlack, client: httpx.Client
) -> None:
    ok = client.post(
        "chat.postMessage", json={"channel": "C1", "text": "t", "blocks": [_table(100, 20)]}, headers=AUTH
    )
    assert ok.json()["ok"]
    refused = (
        [_table(2), _table(2)],
        [_table(101)],
        [_table(2, 21)],
        [{"type": "table", "rows": [[{"type": "mrkdwn", "text": "x"}]]}],
        [{**_table(2), "column_settings": [{"align": "middle"}]}],
    )
    for blocks in refused:
        body = {"channel": "C1", "text": "t", "blocks": blocks}
        assert client.post("chat.postMessage", json=body, headers=AUTH).json()["error"] == "invalid_blocks"
    home = {"type": "home", "blocks": [_table(2)]}
    answer = client.post("views.publish", json={"user_id": "U1", "view": home}, headers=AUTH).json()
    assert answer["error"] == "invalid_arguments"
    assert len(fake.channel_messages("C1")) == 1 and fake.views == []


@pytest.mark.parametrize("case", list(REFUSED_BLOCKS))
def test_a_block_outside_block_kits_limits_is_refused_as_slack_does(
    case: str, fake: FakeSlack, client: httpx.Client
) -> None:
    blocks = [REFUSED_BLOCKS[case]]
    for method, extra in (("chat.postMessage", {}), ("chat.postEphemeral", {"user": "U1"})):
        body = {"channel": "C1", "text": "t", "blocks": blocks, **extra}
        assert client.post(method, json=body, headers=AUTH).json()["error"] == "invalid_blocks"
    home = {"type": "home", "blocks": blocks}
    answer = client.post("views.publish", json={"user_id": "U1", "view": home}, headers=AUTH).json()
    assert answer["error"] == "invalid_arguments"
    assert fake.channel_messages("C1") == [] and fake.views == []


def test_blocks_at_block_kits_limits_are_taken(fake: FakeSlack, client: httpx.Client) -> None:
    blocks = [
        {"type": "section", "text": _text("mrkdwn", "x" * 3000), "fields": [_text("mrkdwn", "f")] * 10},
        {"type": "header", "text": _text("plain_text", "x" * 150)},
        {"type": "context", "elements": [_text("mrkdwn", "c")] * 10},
        {
            "type": "actions",
            "elements": [_button(f"a{i}", text="x" * 75, value="v" * 2000) for i in range(25)],
        },
    ]
    body = {"channel": "C1", "text": "x" * 40_000, "blocks": blocks}
    assert client.post("chat.postMessage", json=body, headers=AUTH).json()["ok"] is True


def test_a_message_text_over_40000_characters_is_msg_too_long(fake: FakeSlack, client: httpx.Client) -> None:
    body = {"channel": "C1", "text": "x" * 40_001}
    assert client.post("chat.postMessage", json=body, headers=AUTH).json()["error"] == "msg_too_long"


@pytest.mark.parametrize(
    "change",
    [
        {"title": _text("plain_text", "x" * 25)},
        {"title": _text("plain_text", "")},
        {"submit": _text("plain_text", "x" * 25)},
        {"private_metadata": "x" * 3001},
        {"callback_id": "x" * 256},
    ],
)
def test_a_modal_outside_slacks_limits_is_invalid_arguments(
    change: dict[str, Any], fake: FakeSlack, client: httpx.Client
) -> None:
    modal = {"type": "modal", "title": _text("plain_text", "Connect"), "blocks": [], **change}
    answer = client.post("views.open", json={"trigger_id": "1.2", "view": modal}, headers=AUTH).json()
    assert answer["error"] == "invalid_arguments"
