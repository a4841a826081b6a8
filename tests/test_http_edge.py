"""The HTTP edge, against the real bot over loopback: what a forged, broken or huge request gets.

Each refusal is a 4xx with a short reason, no listener runs, and the log has one short INFO line that
holds neither the body nor anything typed in it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from bot.settings import RunMode, Settings
from bot.simulators.slack import FakeSlack, SignedRequests
from tests.conftest import APP_TOKEN
from tests.support.bot import BotThread

MARKER = "SECRETMARKER"


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.INFO)
    return caplog


def _assert_quiet(log: pytest.LogCaptureFixture) -> None:
    """No ERROR record, no traceback, and nothing the client sent, in what the bot logged."""
    assert [record for record in log.records if record.levelno >= logging.ERROR] == []
    assert all(record.exc_info is None for record in log.records)
    assert MARKER not in log.text


async def _post(bot: BotThread, body: str | bytes, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(f"{bot.url}/slack/events", content=body, headers=headers)


_FORM = "application/x-www-form-urlencoded"
MALFORMED = {
    "payload is a JSON list": (urlencode({"payload": json.dumps([MARKER])}), _FORM),
    "payload is a JSON string": (urlencode({"payload": json.dumps(MARKER)}), _FORM),
    "payload is not JSON": (urlencode({"payload": "{" + MARKER}), _FORM),
    "payload nested too deep": (urlencode({"payload": "[" * 100_000 + MARKER}), _FORM),
    "team is a list": (
        urlencode({"payload": json.dumps({"type": "block_actions", "team": [MARKER]})}),
        _FORM,
    ),
    "raw text body": (f"hello {MARKER}", _FORM),
    "raw text as text/plain": (f"hello {MARKER}", "text/plain"),
    "not UTF-8": (b"\xff\xfe" + MARKER.encode(), _FORM),
    "JSON list": (json.dumps([MARKER]), "application/json"),
    "JSON not closed": ("{" + MARKER, "application/json"),
    "empty": ("", _FORM),
}


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_a_signed_malformed_body_is_400_without_a_trace(
    case: str, bot: BotThread, signed: SignedRequests, log: pytest.LogCaptureFixture
) -> None:
    body, content_type = MALFORMED[case]
    response = await _post(bot, *signed.raw(body, content_type=content_type))
    assert response.status_code == 400, response.text
    assert MARKER not in response.text
    _assert_quiet(log)


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_an_unsigned_malformed_body_is_401_before_any_parsing(
    case: str, bot: BotThread, log: pytest.LogCaptureFixture
) -> None:
    body, content_type = MALFORMED[case]
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=0"}
    response = await _post(bot, body, headers)
    assert response.status_code == 401
    _assert_quiet(log)


@pytest.mark.parametrize("stamp", ["abc", "", "1e9", "9" * 40, "-5", "12.5"])
async def test_a_non_numeric_timestamp_is_401(
    stamp: str, bot: BotThread, signed: SignedRequests, log: pytest.LogCaptureFixture
) -> None:
    body, headers = signed.command(f"help {MARKER}")
    headers["X-Slack-Request-Timestamp"] = stamp
    response = await _post(bot, body, headers)
    assert response.status_code == 401
    _assert_quiet(log)


async def test_a_refused_request_is_logged_as_one_short_line_without_its_body(
    bot: BotThread, signed: SignedRequests, log: pytest.LogCaptureFixture
) -> None:
    # A connect-modal submission whose signature no longer matches (a rotated secret, clock skew):
    # the key typed in the form must not reach the log.
    payload = {
        "type": "view_submission",
        "team": {"id": "T0001"},
        "user": {"id": "U0001"},
        "view": {"state": {"values": {"key": {"value": {"value": f"key_{MARKER}\n2026 [error] forged"}}}}},
    }
    body, headers = signed.interactive(payload)
    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    response = await _post(bot, body, headers)
    assert response.status_code == 401
    _assert_quiet(log)
    refusals = [record.getMessage() for record in log.records if "refused" in record.getMessage()]
    assert len(refusals) == 1 and "invalid signature" in refusals[0]
    assert "\n" not in refusals[0] and len(refusals[0]) < 200


async def test_a_10_mb_body_is_413_and_the_log_does_not_grow_with_it(
    bot: BotThread, signed: SignedRequests, log: pytest.LogCaptureFixture
) -> None:
    body = "payload=" + MARKER * (10 * 1024 * 1024 // len(MARKER))
    response = await _post(bot, *signed.raw(body))
    assert response.status_code == 413
    _assert_quiet(log)
    assert len(log.text) < 2000


async def test_a_chunked_body_over_the_limit_is_413_while_it_streams(
    bot: BotThread, signed: SignedRequests, log: pytest.LogCaptureFixture
) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(64):  # 4 MiB, with no Content-Length
            sent += 1
            yield MARKER.encode() * (65536 // len(MARKER))

    headers = {"Content-Type": _FORM, "X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=0"}
    async with httpx.AsyncClient() as client:
        request = client.build_request("POST", f"{bot.url}/slack/events", content=chunks(), headers=headers)
        assert "content-length" not in request.headers
        try:
            response = await client.send(request)
        except httpx.HTTPError:  # the server may close before the client is done sending: that is fine
            response = None
    if response is not None:
        assert response.status_code == 413
    _assert_quiet(log)
    assert len(log.text) < 2000


async def test_a_body_just_under_the_limit_is_still_verified(bot: BotThread, signed: SignedRequests) -> None:
    body, headers = signed.command("help " + "x" * (1024 * 1024 - 2000))
    response = await _post(bot, body, headers)
    assert response.status_code == 200
    assert "/spend help" in response.json()["text"]


# ------------------------------------------------------------------------------------------- Slack ids


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("team_id", "../../x"),
        ("team_id", "T0001/../../x"),
        ("user_id", "U0001\nforged"),
        ("channel_id", "C0001 <!channel>"),
        ("team_id", "t0001"),
    ],
)
async def test_a_command_with_an_id_not_shaped_like_slacks_is_refused(
    field: str,
    value: str,
    bot: BotThread,
    signed: SignedRequests,
    fake_slack: FakeSlack,
    tmp_path: Path,
    log: pytest.LogCaptureFixture,
) -> None:
    before = set(tmp_path.parent.rglob("*"))
    body, headers = signed.command("digest now", **{field: value})  # type: ignore[arg-type]
    response = await _post(bot, body, headers)
    assert response.status_code == 400
    assert fake_slack.response_posts() == []
    assert not (tmp_path / "x").exists() and not (tmp_path.parent / "x").exists()
    created = set(tmp_path.parent.rglob("*")) - before
    assert all(tmp_path in path.parents for path in created)
    assert "../" not in log.text and "forged" not in log.text


async def test_an_action_with_a_forged_team_is_refused(bot: BotThread, signed: SignedRequests) -> None:
    payload = {
        "type": "block_actions",
        "team": {"id": "../../x"},
        "user": {"id": "U0001", "team_id": "T0001"},
        "actions": [{"action_id": "write_confirm", "value": "{}"}],
    }
    response = await _post(bot, *signed.interactive(payload))
    assert response.status_code == 400


async def test_an_event_with_a_forged_user_is_refused(bot: BotThread, signed: SignedRequests) -> None:
    body, headers = signed.event({"type": "app_home_opened", "user": "../U1", "tab": "home"})
    response = await _post(bot, body, headers)
    assert response.status_code == 400


async def test_single_token_mode_serves_only_the_bot_tokens_workspace(
    bot: BotThread, signed: SignedRequests, fake_slack: FakeSlack, log: pytest.LogCaptureFixture
) -> None:
    other = await _post(bot, *signed.command("help", team_id="T0OTHER"))
    assert other.status_code == 403
    own = await _post(bot, *signed.command("help"))
    assert own.status_code == 200 and "/spend help" in own.json()["text"]
    asked = len(fake_slack.calls("auth.test"))
    for _ in range(3):
        assert (await _post(bot, *signed.command("help", team_id="T0OTHER"))).status_code == 403
    assert len(fake_slack.calls("auth.test")) == asked  # the workspace is learnt once, not per request


async def test_socket_mode_refuses_ids_not_shaped_like_slacks(
    make_settings: Callable[..., Settings], fake_slack: FakeSlack
) -> None:
    import asyncio

    settings = make_settings(slack_app_token=APP_TOKEN, slack_signing_secret=None)
    payload = {
        "team_id": "../../x",
        "channel_id": "C0001",
        "user_id": "U0001",
        "command": "/spend",
        "text": "help",
        "api_app_id": "AAPP0001",
        "response_url": fake_slack.new_response_url(),
        "trigger_id": "T.trigger.socket",
    }
    envelope = {"envelope_id": "env-1", "type": "slash_commands", "accepts_response_payload": True}
    with BotThread(settings, mode=RunMode.SOCKET):
        await asyncio.to_thread(fake_slack.wait_socket, 10)
        ack = await asyncio.to_thread(fake_slack.socket_send, {**envelope, "payload": payload})
        assert ack["envelope_id"] == "env-1"
        assert "/spend help" not in json.dumps(ack)
        good = {**envelope, "envelope_id": "env-2", "payload": {**payload, "team_id": "T0001"}}
        ack = await asyncio.to_thread(fake_slack.socket_send, good)
        assert "/spend help" in ack["payload"]["text"]


# ------------------------------------------------------------- parts of a payload Bolt reads by shape

_CLICK = {"type": "block_actions", "team": {"id": "T0001"}, "user": {"id": "U0001", "team_id": "T0001"}}
_SUBMIT = {"type": "view_submission", "team": {"id": "T0001"}, "user": {"id": "U0001", "team_id": "T0001"}}
MISSHAPEN = {
    "event is a list": ({"type": "event_callback", "team_id": "T0001", "event": [MARKER]}, "json"),
    "event is a string": ({"type": "event_callback", "team_id": "T0001", "event": MARKER}, "json"),
    "event type is a list": ({"type": "event_callback", "team_id": "T0001", "event": {"type": [1]}}, "json"),
    "actions is an object": ({**_CLICK, "actions": {"0": {"action_id": MARKER}}}, "form"),
    "actions holds strings": ({**_CLICK, "actions": [MARKER]}, "form"),
    "actions is empty": ({**_CLICK, "actions": []}, "form"),
    "action has no action_id": ({**_CLICK, "actions": [{"value": MARKER}]}, "form"),
    "user is a string": ({**_CLICK, "user": "U0001", "actions": [{"action_id": "write_confirm"}]}, "form"),
    "view is a string": ({**_SUBMIT, "view": MARKER}, "form"),
    "view has no type": ({**_SUBMIT, "view": {"callback_id": "connect", "state": {"values": {}}}}, "form"),
    "view state values is a list": (
        {**_SUBMIT, "view": {"type": "modal", "callback_id": "connect", "state": {"values": [MARKER]}}},
        "form",
    ),
}


@pytest.mark.parametrize("case", list(MISSHAPEN))
async def test_a_signed_payload_whose_parts_are_misshapen_is_400_without_a_trace(
    case: str, bot: BotThread, signed: SignedRequests, log: pytest.LogCaptureFixture
) -> None:
    # Bolt indexes these parts (``body["actions"][0]``, ``body["view"]["type"]``, ``event.get``) in its
    # own middleware, before ours runs: a wrong type there was a 500 with a traceback.
    payload, kind = MISSHAPEN[case]
    if kind == "json":
        body, headers = signed.raw(json.dumps(payload), content_type="application/json")
    else:
        body, headers = signed.interactive(payload)
    response = await _post(bot, body, headers)
    assert response.status_code == 400, response.text
    _assert_quiet(log)


async def test_a_client_that_stops_before_its_declared_length_leaves_no_error(
    bot: BotThread, log: pytest.LogCaptureFixture
) -> None:
    import asyncio

    _reader, writer = await asyncio.open_connection("127.0.0.1", bot.port)
    writer.write(
        b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Length: 1000\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n\r\n" + MARKER.encode()
    )
    await writer.drain()
    await asyncio.sleep(0.2)
    writer.close()
    await writer.wait_closed()
    for _ in range(50):  # the server notices the disconnect on its own loop
        if any("refused" in record.getMessage() for record in log.records):
            break
        await asyncio.sleep(0.05)
    _assert_quiet(log)
    assert any("client disconnected" in record.getMessage() for record in log.records)
