"""The one Slack client of the services, against the fake Slack: each method sent the way Slack takes it,
and two retry policies, so a post whose answer was lost is never sent a second time underneath the ledger."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from bot.services.slack_api import SlackApi, SlackOutcomeUnknown
from bot.settings import Settings
from bot.simulators.slack import FakeSlack

TEAM = "T0001"


@pytest.fixture
async def slack(make_settings: Callable[..., Settings]) -> AsyncIterator[SlackApi]:
    api = SlackApi(make_settings())
    try:
        yield api
    finally:
        await api.close()


async def test_a_workspace_admin_is_known_as_one_and_keeps_their_time_zone(
    slack: SlackApi, fake_slack: FakeSlack
) -> None:
    """``users.info`` takes no JSON: sent as JSON, Slack would answer user_not_found for everyone."""
    fake_slack.add_user("UADMIN", is_admin=True, tz="Europe/Paris")
    user = await slack.user(TEAM, "UADMIN")
    assert user is not None and user.is_admin and user.tz == "Europe/Paris"
    fake_slack.add_channel("C1")
    info = await slack.call(TEAM, "conversations.info", channel="C1")
    assert info["channel"]["id"] == "C1"


async def test_a_post_whose_connection_drops_after_slack_took_it_is_not_sent_again(
    slack: SlackApi, fake_slack: FakeSlack
) -> None:
    fake_slack.add_channel("C1")
    fake_slack.fail("chat.postMessage", drop=True, applied=True)
    with pytest.raises(SlackOutcomeUnknown):
        await slack.call(TEAM, "chat.postMessage", once=True, channel="C1", text="digest")
    assert len(fake_slack.calls("chat.postMessage")) == 1
    assert [message.text for message in fake_slack.channel_messages("C1")] == ["digest"]


async def test_a_post_met_by_a_5xx_is_not_sent_again(slack: SlackApi, fake_slack: FakeSlack) -> None:
    fake_slack.add_channel("C1")
    fake_slack.fail("chat.postMessage", status=503, applied=True)
    with pytest.raises(SlackOutcomeUnknown):
        await slack.call(TEAM, "chat.postMessage", once=True, channel="C1", text="digest")
    assert len(fake_slack.channel_messages("C1")) == 1


async def test_a_post_refused_with_429_is_sent_after_retry_after(
    slack: SlackApi, fake_slack: FakeSlack
) -> None:
    fake_slack.add_channel("C1")
    fake_slack.rate_limit("chat.postMessage", retry_after=1)
    response = await slack.call(TEAM, "chat.postMessage", once=True, channel="C1", text="digest")
    assert response["ok"] and len(fake_slack.calls("chat.postMessage")) == 2
    assert len(fake_slack.channel_messages("C1")) == 1


async def test_a_read_whose_connection_drops_or_meets_a_5xx_is_tried_again(
    slack: SlackApi, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("U1")
    fake_slack.fail("users.info", drop=True)
    fake_slack.fail("users.info", status=503)
    assert await slack.user(TEAM, "U1") is not None
    assert len(fake_slack.calls("users.info")) == 3
