"""The fake Slack's posting limits: one message a second per channel and a per-workspace cap per minute,
answered with 429 and ``Retry-After``, time scaled, and off unless asked for."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from bot.simulators.serving import served
from bot.simulators.slack import FakeSlack, PostLimits

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
