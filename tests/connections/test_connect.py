"""``connect``: the modal, and the key tried live before anything is saved, end to end over HTTP."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from bot.simulators.anthropic import AnthropicSimulator
from bot.simulators.copilot import CopilotSimulator
from bot.simulators.cursor import CursorSimulator
from bot.simulators.openai import OpenAISimulator
from bot.simulators.rest import RestSimulator
from bot.simulators.serving import free_port
from bot.simulators.slack import FakeSlack
from bot.simulators.windsurf import WindsurfSimulator
from bot.slack import connections as connection_listeners
from tests.connections.conftest import ADMIN, LISTED, OWNER, TEAM, audit, cursor_form, rows, settle
from tests.connections.driver import SlackDriver
from tests.support.bot import BotThread


def _opened_views(fake: FakeSlack) -> list[dict[str, Any]]:
    return [view for view in fake.views if view["method"] == "views.open"]


def _block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [block for block in view["blocks"] if block.get("block_id") == block_id]
    assert found, f"no block {block_id!r} in {[block.get('block_id') for block in view['blocks']]}"
    return found[0]


async def test_connect_opens_a_modal_that_asks_for_the_key_and_carries_no_secret(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    await slack.command("connect rest billing-api", user=ADMIN, channel="C0042", answered=False)
    opened = await fake_slack.wait_for(_opened_views)
    view = opened[0]["view"]
    assert view["type"] == "modal" and view["callback_id"] == "spendbot_connect"
    assert json.loads(view["private_metadata"]) == {"vendor": "rest", "channel": "C0042"}
    assert _block(view, "name")["element"]["initial_value"] == "billing-api"
    assert "initial_value" not in _block(view, "key")["element"]
    for block_id in ("base_url", "probe_path", "per_minute", "per_day", "track"):
        _block(view, block_id)
    assert opened[0]["trigger_id"].startswith("trigger.")


async def test_a_good_cursor_key_is_stored_encrypted_audited_and_synced(
    slack: SlackDriver, running: BotThread, cursor_sim: CursorSimulator
) -> None:
    response, _ = await slack.submit(cursor_form(cursor_sim), user=ADMIN)
    answer = response.json()
    assert answer["response_action"] == "update"
    assert "Connected" in answer["view"]["title"]["text"]
    assert f"…{cursor_sim.api_key[-4:]}" in json.dumps(answer, ensure_ascii=False)
    assert cursor_sim.api_key not in response.text
    (row,) = rows(running, TEAM)
    assert (row.name, row.vendor, row.origin, row.created_by) == ("cursor", "cursor", "slack", ADMIN)
    assert row.secret_ciphertext and cursor_sim.api_key not in row.secret_ciphertext
    assert row.key_hint == cursor_sim.api_key[-4:]
    assert [(entry.action, entry.target, entry.outcome) for entry in audit(running)] == [
        ("connect", "cursor", "ok")
    ]
    # the first sync runs in the background and reaches more than the probe's endpoint
    await slack.fake.wait_for(lambda _: cursor_sim.stats.count(path="/teams/spend") > 0, timeout=10)


async def test_every_admin_kind_can_connect(
    slack: SlackDriver, running: BotThread, cursor_sim: CursorSimulator
) -> None:
    for number, user in enumerate((ADMIN, OWNER, LISTED)):
        response, _ = await slack.submit(cursor_form(cursor_sim, name=f"cursor-{number}"), user=user)
        assert response.json()["response_action"] == "update", response.text
    assert sorted((row.name, row.created_by) for row in rows(running)) == [
        ("cursor-0", ADMIN),
        ("cursor-1", OWNER),
        ("cursor-2", LISTED),
    ]


BAD_KEYS = (
    ("wrong cursor key", "Key rejected"),
    ("revoked cursor key", "Key rejected"),
    ("cursor answers 403", "lacks a permission or plan"),
    ("windsurf key without Billing Read", "lacks a permission or plan"),
    ("windsurf key rejected", "Key rejected"),
    ("rest vendor down", "Vendor unreachable or too slow"),
    ("nothing listening at the base URL", "Vendor unreachable or too slow"),
)


async def test_each_kind_of_bad_key_is_explained_under_the_key_field_and_nothing_is_saved(
    slack: SlackDriver,
    running: BotThread,
    cursor_sim: CursorSimulator,
    windsurf_sim: WindsurfSimulator,
    rest_sim: RestSimulator,
) -> None:
    for number, (case, expected) in enumerate(BAD_KEYS, start=1):
        vendor, values, secret = _bad_key_case(case, cursor_sim, windsurf_sim, rest_sim)
        response, _ = await slack.submit(values, user=ADMIN, vendor=vendor)
        answer = response.json()
        assert secret not in response.text, case
        assert answer["response_action"] == "errors", case
        assert list(answer["errors"]) == ["key"], case
        assert expected in answer["errors"]["key"], (case, answer["errors"]["key"])
        assert rows(running) == [], case
        entries = audit(running)
        assert len(entries) == number, case
        assert (entries[-1].action, entries[-1].outcome) == ("connect", "failed"), case
        assert all(secret not in (entry.detail or "") for entry in entries), case
        _heal(cursor_sim, windsurf_sim, rest_sim)


def _heal(cursor_sim: CursorSimulator, windsurf_sim: WindsurfSimulator, rest_sim: RestSimulator) -> None:
    cursor_sim.restore_key()
    cursor_sim.faults.clear()
    windsurf_sim.permissions = frozenset(
        {"Teams Read-Only", "Analytics Read", "Billing Read", "Billing Write"}
    )
    rest_sim.faults.clear()


def _bad_key_case(
    case: str, cursor_sim: CursorSimulator, windsurf_sim: WindsurfSimulator, rest_sim: RestSimulator
) -> tuple[str, dict[str, str | None], str]:
    rest_url = rest_sim.url  # type: ignore[attr-defined]
    windsurf_url = windsurf_sim.url  # type: ignore[attr-defined]
    if case == "wrong cursor key":
        return "cursor", cursor_form(cursor_sim, key="key_" + "0" * 64), "key_" + "0" * 64
    if case == "revoked cursor key":
        cursor_sim.revoke_key()
        return "cursor", cursor_form(cursor_sim), cursor_sim.api_key
    if case == "cursor answers 403":
        cursor_sim.faults.fail(403, times=None)
        return "cursor", cursor_form(cursor_sim), cursor_sim.api_key
    if case == "windsurf key without Billing Read":
        windsurf_sim.permissions = frozenset({"Teams Read-Only", "Analytics Read"})
        values = {"name": "windsurf", "key": windsurf_sim.service_key, "base_url": windsurf_url}
        return "windsurf", values, windsurf_sim.service_key
    if case == "windsurf key rejected":
        wrong = "ws-svc-not-the-right-key-0123456789"
        return "windsurf", {"name": "windsurf", "key": wrong, "base_url": windsurf_url}, wrong
    if case == "rest vendor down":
        rest_sim.faults.fail(503, times=None)
        values = {
            "name": "billing",
            "key": rest_sim.api_key,
            "base_url": rest_url,
            "probe_path": "/v1/account",
        }
        return "rest", values, rest_sim.api_key
    assert case == "nothing listening at the base URL"
    closed = f"http://127.0.0.1:{free_port()}/v1"
    return "rest", {"name": "billing", "key": rest_sim.api_key, "base_url": closed}, rest_sim.api_key


async def test_good_windsurf_and_rest_keys_are_stored_with_their_options(
    slack: SlackDriver, running: BotThread, windsurf_sim: WindsurfSimulator, rest_sim: RestSimulator
) -> None:
    windsurf = {"name": "", "key": windsurf_sim.service_key, "base_url": windsurf_sim.url}  # type: ignore[attr-defined]
    response, _ = await slack.submit(windsurf, user=ADMIN, vendor="windsurf")
    assert response.json()["response_action"] == "update", response.text
    rest = {
        "name": "Billing-API",
        "key": rest_sim.read_only_key,
        "base_url": rest_sim.url + "/",  # type: ignore[attr-defined]
        "probe_path": "/v1/account",
        "per_minute": "100",
        "per_day": "20000",
        "track": "/v1/usage#data.credits_remaining",
    }
    response, _ = await slack.submit(rest, user=LISTED, vendor="rest")
    assert response.json()["response_action"] == "update", response.text
    stored = {row.name: row for row in rows(running)}
    assert set(stored) == {"windsurf", "billing-api"}  # an empty name is the vendor's; names are lowercased
    assert stored["windsurf"].base_url == windsurf_sim.url  # type: ignore[attr-defined]
    billing = stored["billing-api"]
    assert billing.base_url == rest_sim.url  # type: ignore[attr-defined]
    assert billing.options == {
        "probe_path": "/v1/account",
        "per_minute": 100,
        "per_day": 20000,
        "track": "/v1/usage#data.credits_remaining",
    }
    assert rest_sim.stats.count(path="/v1/account") >= 1


async def test_an_openai_admin_key_is_tried_then_stored_and_a_wrong_one_explained(
    slack: SlackDriver, running: BotThread, openai_sim: OpenAISimulator
) -> None:
    url = openai_sim.url  # type: ignore[attr-defined]
    response, _ = await slack.submit(
        {"name": "", "key": "sk-admin-wrong", "base_url": url}, user=ADMIN, vendor="openai"
    )
    assert response.json()["response_action"] == "errors", response.text
    assert "Key rejected" in response.text
    assert rows(running) == []
    response, _ = await slack.submit(
        {"name": "", "key": openai_sim.admin_key, "base_url": url}, user=ADMIN, vendor="openai"
    )
    assert response.json()["response_action"] == "update", response.text
    (stored,) = rows(running)
    assert (stored.name, stored.vendor, stored.base_url) == ("openai", "openai", url)
    # The probe answered (the sync that follows a new connection may already have fetched more).
    assert openai_sim.stats.count(path="/v1/organization/costs", status=200) >= 1


async def test_an_anthropic_admin_key_is_tried_then_stored_and_a_wrong_one_explained(
    slack: SlackDriver, running: BotThread, anthropic_sim: AnthropicSimulator
) -> None:
    url = anthropic_sim.url  # type: ignore[attr-defined]
    response, _ = await slack.submit(
        {"name": "", "key": "sk-ant-admin01-wrong", "base_url": url}, user=ADMIN, vendor="anthropic"
    )
    assert response.json()["response_action"] == "errors", response.text
    assert "Key rejected" in response.text
    assert rows(running) == []
    response, _ = await slack.submit(
        {"name": "", "key": anthropic_sim.admin_key, "base_url": url}, user=ADMIN, vendor="anthropic"
    )
    assert response.json()["response_action"] == "update", response.text
    (stored,) = rows(running)
    assert (stored.name, stored.vendor, stored.base_url) == ("anthropic", "anthropic", url)
    # The probe answered (the sync that follows a new connection may already have fetched more).
    assert anthropic_sim.stats.count(path="/v1/organizations/cost_report", status=200) >= 1


async def test_a_copilot_token_needs_its_organization_and_is_tried_before_it_is_stored(
    slack: SlackDriver, running: BotThread, copilot_sim: CopilotSimulator
) -> None:
    url = copilot_sim.url  # type: ignore[attr-defined]
    fields = {"name": "", "key": copilot_sim.token, "base_url": url}
    response, _ = await slack.submit({**fields, "account": "not an org!"}, user=ADMIN, vendor="copilot")
    assert response.json()["response_action"] == "errors", response.text
    assert "GitHub organization" in response.json()["errors"]["account"]
    assert copilot_sim.stats.requests_total == 0  # a wrong field never reaches GitHub
    response, _ = await slack.submit({**fields, "account": "someone-else"}, user=ADMIN, vendor="copilot")
    assert response.json()["response_action"] == "errors" and rows(running) == [], response.text
    assert "found no such account" in response.text
    response, _ = await slack.submit({**fields, "account": "acme"}, user=ADMIN, vendor="copilot")
    assert response.json()["response_action"] == "update", response.text
    (stored,) = rows(running)
    assert (stored.name, stored.vendor, stored.options) == ("copilot", "copilot", {"account": "acme"})
    assert copilot_sim.stats.count(path="/orgs/acme/copilot/billing/seats", status=200) >= 1


async def test_wrong_fields_are_named_one_by_one_and_no_vendor_is_called(
    slack: SlackDriver, running: BotThread, rest_sim: RestSimulator
) -> None:
    values = {
        "name": "Bad Name!",
        "key": "two words",
        "base_url": "ftp://example.com",
        "probe_path": "account",
        "per_minute": "0",
        "per_day": "lots",
        "track": "/v1/usage",
    }
    response, _ = await slack.submit(values, user=ADMIN, vendor="rest")
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"name", "key", "base_url", "per_minute", "per_day", "track"}
    assert "two words" not in response.text
    outside = {
        "name": "billing",
        "key": rest_sim.api_key,
        "base_url": rest_sim.url,  # type: ignore[attr-defined]
        "probe_path": "https://evil.example/steal",
    }
    answer = (await slack.submit(outside, user=ADMIN, vendor="rest"))[0].json()
    assert set(answer["errors"]) == {"probe_path"}
    assert "under the base URL" in answer["errors"]["probe_path"]
    credentials = {"name": "x", "key": "k" * 20, "base_url": "https://user:pw@api.example.com"}
    answer = (await slack.submit(credentials, user=ADMIN, vendor="rest"))[0].json()
    assert set(answer["errors"]) == {"base_url"}
    forged_vendor = (await slack.submit({"name": "x", "key": "k" * 20}, user=ADMIN, vendor="oracle"))[
        0
    ].json()
    assert set(forged_vendor["errors"]) == {"key"}
    assert rest_sim.stats.requests_total == 0
    assert rows(running) == []


async def test_a_name_already_taken_is_refused_before_and_after_the_modal(
    slack: SlackDriver, running: BotThread, fake_slack: FakeSlack, cursor_sim: CursorSimulator
) -> None:
    assert (await slack.submit(cursor_form(cursor_sim), user=ADMIN))[0].json()["response_action"] == "update"
    answer = await slack.command("connect cursor", user=ADMIN)
    assert "already has a connection named `cursor`" in answer["text"]
    assert "cursor-2" in answer["text"]
    assert _opened_views(fake_slack) == []
    again = (await slack.submit(cursor_form(cursor_sim), user=ADMIN))[0].json()
    assert again["response_action"] == "errors" and set(again["errors"]) == {"name"}
    assert len(rows(running)) == 1


async def test_a_slow_vendor_gets_a_checking_view_then_the_outcome_by_views_update(
    slack: SlackDriver,
    running: BotThread,
    fake_slack: FakeSlack,
    cursor_sim: CursorSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cursor_sim.faults.slow(2.6, times=1)
    started = time.perf_counter()
    response, view_id = await slack.submit(cursor_form(cursor_sim), user=ADMIN)
    assert time.perf_counter() - started < 3.0  # Slack's limit for answering a view submission
    answer = response.json()
    assert answer["response_action"] == "update"
    assert "Checking" in answer["view"]["title"]["text"]
    updates = await fake_slack.wait_for(_updates, timeout=10)
    assert updates[0]["view_id"] == view_id
    assert "Connected" in updates[0]["view"]["title"]["text"]
    assert [row.name for row in rows(running)] == ["cursor"]

    # A slow refusal: the form comes back with the reason, what was typed, and an empty key field.
    settle(running)  # the first sync is done with the simulator, so the next slow answer is the check's
    monkeypatch.setattr(connection_listeners, "ACK_BUDGET", 0.3)
    fake_slack.reset_records()
    cursor_sim.faults.slow(1.0, times=1)
    cursor_sim.revoke_key()
    response, view_id = await slack.submit(cursor_form(cursor_sim, name="team-cursor"), user=ADMIN)
    assert "Checking" in response.json()["view"]["title"]["text"]
    updates = await fake_slack.wait_for(_updates, timeout=10)
    view = updates[0]["view"]
    assert updates[0]["view_id"] == view_id
    assert view["callback_id"] == "spendbot_connect" and view["submit"]["text"] == "Connect"
    assert "Key rejected" in json.dumps(view) and "paste it again" in json.dumps(view)
    assert _block(view, "name")["element"]["initial_value"] == "team-cursor"
    assert "initial_value" not in _block(view, "key")["element"]
    assert cursor_sim.api_key not in json.dumps(updates)
    assert [row.name for row in rows(running)] == ["cursor"]


def _updates(fake: FakeSlack) -> list[dict[str, Any]]:
    return [view for view in fake.views if view["method"] == "views.update"]
