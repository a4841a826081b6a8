"""``request-limit``: a person asks, admins approve or deny in the requests channel, the vendor is written
once, the person is told, and every step is audited. Through the signed Slack edge, the fake Slack and
the Cursor simulator."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.commands.conftest import ADMIN, MEMBER, World, button_value, text_of

MEMBER_DM = "D" + MEMBER.removeprefix("U")


def _audit(world: World) -> list[tuple[str, str, str]]:
    assert world.bot.services is not None
    entries = world.bot.call(world.bot.services.audit.recent("T0001", limit=50))
    return [(entry.action, entry.outcome, entry.target or "") for entry in entries]


def _press(world: World, action_id: str, value: str) -> None:
    """An admin's click on a request's button: a success edits the message rather than answering."""
    world.click(action_id, value, answered=False)


def _submit_denial(world: World, request_id: str, reason: str | None, user: str = ADMIN) -> httpx.Response:
    values: dict[str, Any] = {"reason": {"reason_input": {"type": "plain_text_input", "value": reason}}}
    payload = {
        "type": "view_submission",
        "team": {"id": "T0001", "domain": "acme"},
        "user": {"id": user, "team_id": "T0001"},
        "api_app_id": "AAPP0001",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": "limit_request_deny_reason",
            "private_metadata": request_id,
            "state": {"values": values},
        },
    }
    body, headers = world.signed.interactive(payload)
    return httpx.post(f"{world.bot.url}/slack/events", content=body, headers=headers, timeout=10)


def _wait(world: World, condition: Any, what: str) -> None:
    async def wait() -> None:
        await world.fake.wait_for(lambda fake: condition(), timeout=20)

    try:
        asyncio.run(wait())
    except TimeoutError as error:
        raise AssertionError(f"timed out waiting for {what}") from error


def _subscribe(world: World) -> str:
    world.fake.add_channel("C0001")
    return text_of(world.ask("subscribe requests"))


def _request_message(world: World) -> Any:
    (posted,) = [
        message for message in world.fake.channel_messages("C0001") if "Limit request #" in message.text
    ]
    return posted


def test_a_request_goes_to_the_admins_and_an_approval_writes_the_limit_once(synced: World) -> None:
    email = synced.member_email
    refused = text_of(synced.ask("request-limit 500 migrating billing", user=MEMBER))
    assert "No channel takes limit requests yet" in refused and "subscribe requests" in refused, refused
    assert "requests" in _subscribe(synced)
    assert "requests (people's limit requests, for admins to approve or deny)" in text_of(
        synced.ask("subscriptions")
    )
    synced.ask("test")
    (sample,) = [
        m for m in synced.fake.channel_messages("C0001") if m.text.startswith("Test: limit requests")
    ]
    assert not any(block["type"] == "actions" for block in sample.blocks)  # no live buttons in a sample

    asked = text_of(synced.ask("request-limit $500 migrating the *billing* service", user=MEMBER))
    assert "Asked: request #1 for a $500 Cursor spend limit is with the admins in <#C0001>" in asked, asked
    posted = _request_message(synced)
    shown = text_of({"text": posted.text, "blocks": posted.blocks})
    assert f"<@{MEMBER}> ({email}) asks for *a $500 Cursor spend limit* on `cursor`" in shown, shown
    assert (
        "\n> migrating the *billing* service" in shown
        and "\nNow: $" in shown
        and "spent this cycle." in shown
    )
    value = button_value({"blocks": posted.blocks}, "limit_request_approve")
    assert value == "1"

    # A member's click changes nothing; two admins' clicks at once write once.
    assert "only a workspace admin or owner" in text_of(
        synced.click("limit_request_approve", value, user=MEMBER)[-1]
    )
    assert synced.cursor.stats.count(path="/teams/user-spend-limit") == 0
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: _press(synced, "limit_request_approve", value), range(2)))
    _wait(synced, lambda: "Approved by" in _request_message(synced).text, "the message to show the approval")
    assert synced.cursor.dataset.limit_dollars(email) == 500
    assert synced.cursor.stats.count(path="/teams/user-spend-limit") == 1
    edited = _request_message(synced)
    assert edited.edits == 1 and not any(block["type"] == "actions" for block in edited.blocks)
    _wait(synced, lambda: synced.fake.channel_messages(MEMBER_DM), "the requester's direct message")
    (news,) = synced.fake.channel_messages(MEMBER_DM)
    assert news.text.startswith(
        "Your limit request #1 for a $500 Cursor spend limit: :white_check_mark: Approved"
    )
    audit = _audit(synced)
    assert ("request-limit", "ok", f"cursor: {email} -> 500") in audit
    assert [entry for entry in audit if entry[0] == "set-limit"] == [
        ("set-limit", "ok", f"cursor: {email} -> 500")
    ]
    # A third click, later: already approved, nothing written again.
    again = text_of(synced.click("limit_request_approve", value)[-1])
    assert "was approved already" in again and synced.cursor.stats.count(path="/teams/user-spend-limit") == 1


def test_a_denial_asks_the_reason_and_tells_the_requester(synced: World) -> None:
    _subscribe(synced)
    synced.ask("request-limit 900", user=MEMBER)
    value = button_value({"blocks": _request_message(synced).blocks}, "limit_request_deny")
    _press(synced, "limit_request_deny", value)
    _wait(synced, lambda: synced.fake.views, "the deny modal")
    assert synced.fake.views[-1]["view"]["callback_id"] == "limit_request_deny_reason"
    assert json.dumps(synced.fake.views[-1]["view"]).count("300") >= 1  # the reason is bounded
    # A member cannot submit it; an admin can.
    answer = _submit_denial(synced, value, "no", user=MEMBER)
    assert "only a workspace admin or owner" in answer.text
    assert _submit_denial(synced, value, "Over the quarter's budget <!channel>").status_code == 200
    _wait(synced, lambda: "Denied by" in _request_message(synced).text, "the message to show the denial")
    _wait(synced, lambda: synced.fake.channel_messages(MEMBER_DM), "the requester's direct message")
    (news,) = synced.fake.channel_messages(MEMBER_DM)
    assert "Denied by <@UADMIN01>: Over the quarter's budget &lt;!channel&gt;" in news.text, news.text
    assert synced.cursor.stats.count(path="/teams/user-spend-limit") == 0
    assert "was denied already" in text_of(synced.click("limit_request_approve", value)[-1])
    assert ("deny-limit-request", "ok", f"cursor: {synced.member_email} -> 900") in _audit(synced)


def test_a_vendor_refusal_leaves_the_request_pending_to_approve_again(synced: World) -> None:
    _subscribe(synced)
    synced.ask("request-limit 250", user=MEMBER)
    value = button_value({"blocks": _request_message(synced).blocks}, "limit_request_approve")
    synced.cursor.faults.fail(status=503, times=None, path="/teams/user-spend-limit")
    assert "could not be reached" in text_of(synced.click("limit_request_approve", value)[-1])
    assert "Approved by" not in _request_message(synced).text
    synced.cursor.faults.clear()
    _press(synced, "limit_request_approve", value)
    _wait(synced, lambda: "Approved by" in _request_message(synced).text, "the approval")
    assert synced.cursor.dataset.limit_dollars(synced.member_email) == 250


def test_wrong_requests_get_the_right_form(synced: World) -> None:
    _subscribe(synced)
    assert "Usage: `/spend request-limit" in text_of(synced.ask("request-limit", user=MEMBER))
    assert "whole dollars" in text_of(synced.ask("request-limit 12.50", user=MEMBER))
    no_limit = text_of(synced.ask("request-limit 500 rest", user=MEMBER))
    assert "cannot change a limit on `rest`" in no_limit, no_limit
    assert "has no seat" in text_of(synced.ask("request-limit 500", user=ADMIN))
    assert "keep it under 300" in text_of(synced.ask("request-limit 500 " + "x" * 301, user=MEMBER))


def test_a_windsurf_request_asks_for_credits_and_sets_the_persons_cap(synced: World) -> None:
    """A person with a Windsurf seat only: the cap is asked for in credits, never dollars."""
    _subscribe(synced)
    email = synced.windsurf.dataset.members[0].email
    synced.fake.add_user("UWSURF01", name="wes", email=email, tz="Europe/Paris")
    dollars = text_of(synced.ask("request-limit $3000", user="UWSURF01"))
    assert "Windsurf caps are in credits: `request-limit 3000 windsurf` asks for 3,000 credits" in dollars
    asked = text_of(synced.ask("request-limit 3000 need it for the eval sprint", user="UWSURF01"))
    assert "for a 3,000-credit Windsurf credit cap is with the admins" in asked, asked
    posted = _request_message(synced)
    assert "Now: no cap." in text_of({"text": posted.text, "blocks": posted.blocks})
    _press(synced, "limit_request_approve", button_value({"blocks": posted.blocks}, "limit_request_approve"))
    _wait(synced, lambda: "Approved by" in _request_message(synced).text, "the approval")
    assert synced.windsurf.dataset.usage_cap(user_email=email) == 3000
    assert synced.windsurf.stats.count(path="UsageConfig") == 1


@pytest.mark.parametrize("anthropic_declared", [True])
def test_an_anthropic_request_sets_the_members_monthly_limit_and_a_console_org_refuses(
    synced: World,
) -> None:
    """A person with a Cursor seat and an Anthropic one (the same email) must say which. A Claude Console
    organization cannot set ``user`` limits (400): the request stays pending, to approve once it can."""
    _subscribe(synced)
    email = synced.cursor.dataset.members[0].email
    (user,) = [user for user in synced.anthropic.dataset.users if user.email == email]
    synced.fake.add_user("UBOTH001", name="bo", email=email, tz="Europe/Paris")
    both = text_of(synced.ask("request-limit 400", user="UBOTH001"))
    assert "You have a seat on `anthropic`, `cursor`: say which, e.g. `request-limit 400 anthropic`" in both
    asked = text_of(synced.ask("request-limit $400 anthropic for the agents eval", user="UBOTH001"))
    assert "for a $400 Anthropic spend limit is with the admins" in asked, asked
    value = button_value({"blocks": _request_message(synced).blocks}, "limit_request_approve")
    synced.anthropic.enterprise = False
    refused = text_of(synced.click("limit_request_approve", value)[-1])
    assert "refused the change" in refused and "scope" in refused, refused
    assert synced.anthropic.user_limits == {}
    synced.anthropic.enterprise = True
    _press(synced, "limit_request_approve", value)
    _wait(synced, lambda: "Approved by" in _request_message(synced).text, "the approval")
    assert synced.anthropic.user_limits == {user.id: 40000}
    assert "Monthly spend limit set to $400.00" in _request_message(synced).text
    audit = _audit(synced)
    assert ("set-limit", "ok", f"anthropic: {email} -> 400") in audit
    assert ("set-limit", "failed", f"anthropic: {email} -> 400") in audit
