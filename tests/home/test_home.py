"""App Home: published when opened, with every section; Connect for admins only; refreshed after syncs."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bot.domain.money import format_usd
from bot.messages.blocks import MAX_VIEW_BLOCKS
from bot.messages.home import CONNECT_ACTION
from bot.simulators.slack import FakeSlack, SignedRequests
from bot.store.models import AlertStateRow, Delivery, Subscription
from tests.commands.conftest import ADMIN, MEMBER, NOW, World, text_of
from tests.support.bot import BotThread

SECTIONS = [
    "spendbot",
    "Connections",
    "Spend this cycle",
    "Credits",
    "Subscriptions",
    "Last deliveries",
    "Open alerts",
]


def _published(world: World, user: str) -> list[dict[str, Any]]:
    return [
        record["view"]
        for record in world.fake.views
        if record["method"] == "views.publish" and record.get("user_id") == user
    ]


def _wait_for_publish(world: World, user: str, count: int = 1) -> dict[str, Any]:
    async def wait() -> list[dict[str, Any]]:
        return list(
            await world.fake.wait_for(
                lambda fake: len(_published(world, user)) >= count and _published(world, user)
            )
        )

    return asyncio.run(wait())[-1]


def _open_home(world: World, user: str) -> dict[str, Any]:
    before = len(_published(world, user))
    body, headers = world.signed.event(
        {"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"}
    )
    response = httpx.post(f"{world.bot.url}/slack/events", content=body, headers=headers, timeout=10)
    assert response.status_code == 200
    return _wait_for_publish(world, user, before + 1)


def _headers(view: dict[str, Any]) -> list[str]:
    return [block["text"]["text"] for block in view["blocks"] if block["type"] == "header"]


def _action_ids(view: dict[str, Any]) -> list[str]:
    return [
        element["action_id"]
        for block in view["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def _seed_subscriptions(world: World) -> None:
    """A digest and an alert subscription, a delivery of each, and one alert firing."""
    assert world.bot.services is not None
    services = world.bot.services

    async def seed() -> None:
        async with services.db.write() as session:
            digest = Subscription(
                team_id="T0001",
                channel_id="C0FINOPS",
                kind="digest",
                params={"weekdays": [0, 1], "at": "09:00", "tz": "Europe/Paris", "cadence": "daily"},
                created_at=NOW,
            )
            credit = Subscription(
                team_id="T0001",
                channel_id="C0ALERTS",
                kind="credit-low",
                params={"below_percent": "20", "below_amount": None},
                created_at=NOW,
            )
            session.add_all([digest, credit])
            await session.flush()
            assert digest.id is not None and credit.id is not None
            session.add_all(
                [
                    Delivery(
                        idempotency_key="T0001:C0FINOPS:digest:2026-11-20",
                        team_id="T0001",
                        channel_id="C0FINOPS",
                        subscription_id=digest.id,
                        kind="digest",
                        period="2026-11-20",
                        state="sent",
                        late=True,
                        created_at=NOW - timedelta(hours=6),
                        updated_at=NOW - timedelta(hours=6),
                    ),
                    Delivery(
                        idempotency_key="T0001:C0ALERTS:credit-low:1",
                        team_id="T0001",
                        channel_id="C0ALERTS",
                        subscription_id=credit.id,
                        kind="credit-low",
                        period="2026-11",
                        state="failed",
                        error="not_in_channel",
                        created_at=NOW - timedelta(hours=1),
                        updated_at=NOW - timedelta(hours=1),
                    ),
                    AlertStateRow(
                        subscription_id=credit.id,
                        metric="windsurf:credits_left",
                        threshold="20%",
                        cycle="2026-11-15",
                        status="firing",
                        fired_at=NOW - timedelta(hours=2),
                        channel_id="C0ALERTS",
                        summary="Windsurf credits: 18% left, ~4 days at the current burn",
                    ),
                    AlertStateRow(
                        subscription_id=credit.id,
                        metric="windsurf:credits_left",
                        threshold="50%",
                        cycle="2026-10-15",
                        status="ok",
                        summary="an alert that resolved: not shown",
                    ),
                ]
            )

    world.bot.call(seed())


def test_home_is_published_with_every_section_and_connect_for_admins(synced: World) -> None:
    _seed_subscriptions(synced)
    view = _open_home(synced, ADMIN)
    assert view["type"] == "home"
    assert _headers(view)[: len(SECTIONS)] == SECTIONS
    assert _headers(view)[-1] == "Admin"
    text = text_of(view)
    for name in ("Cursor", "Windsurf", "REST"):
        assert f"*{name}* _(environment)_" in text
    assert "Data as of" in text  # freshness
    cursor_cycle = sum(
        (synced.cursor.dataset.cycle_spend(m.email) for m in synced.cursor.dataset.members), Decimal(0)
    )
    assert f"This cycle: *{format_usd(cursor_cycle)}*" in text  # a connection's card
    assert f"{format_usd(cursor_cycle)}\n`cursor`" in text  # the spend per tool
    assert "credits left of" in text and "at the current burn" in text
    assert re.search(r"<#C0FINOPS> · #\d+ digest mon,tue at 09:00 Europe/Paris", text)
    assert re.search(r"<#C0ALERTS> · #\d+ credit-low below 20%", text)
    assert "digest 2026-11-20 · <#C0FINOPS> · sent (late)" in text
    assert "failed — not_in_channel" in text
    assert "Windsurf credits: 18% left" in text and "an alert that resolved" not in text
    assert sorted(_action_ids(view)) == sorted(
        f"{CONNECT_ACTION}_{vendor}"
        for vendor in ("cursor", "windsurf", "openai", "anthropic", "copilot", "rest")
    )
    assert "`/spend subscribe digest daily at 09:00`" in text and "`/spend subscribe health`" in text
    assert len(view["blocks"]) <= MAX_VIEW_BLOCKS


def test_a_member_sees_the_home_without_the_connect_control(synced: World) -> None:
    view = _open_home(synced, MEMBER)
    assert _headers(view)[: len(SECTIONS)] == SECTIONS
    assert "Admin" not in _headers(view)
    assert not any(action.startswith(CONNECT_ACTION) for action in _action_ids(view))
    assert "/spend subscribe" not in text_of(view)


def test_the_messages_tab_publishes_nothing(synced: World) -> None:
    body, headers = synced.signed.event(
        {"type": "app_home_opened", "user": ADMIN, "channel": "D1", "tab": "messages"}
    )
    assert (
        httpx.post(f"{synced.bot.url}/slack/events", content=body, headers=headers, timeout=10).status_code
        == 200
    )
    _open_home(synced, MEMBER)  # a later event is handled, so the first one has been too
    assert _published(synced, ADMIN) == []


def test_the_home_is_published_again_after_a_sync(synced: World) -> None:
    _open_home(synced, ADMIN)
    _open_home(synced, MEMBER)
    admin_before, member_before = len(_published(synced, ADMIN)), len(_published(synced, MEMBER))
    services = synced.bot.services
    assert services is not None

    async def sync_rest() -> None:
        connection = await services.connections.get("T0001", "rest")
        assert connection is not None
        await services.sync.sync(connection)

    synced.bot.call(sync_rest())
    _wait_for_publish(synced, ADMIN, admin_before + 1)
    _wait_for_publish(synced, MEMBER, member_before + 1)


def _click_connect(world: World, user: str, vendor: str) -> dict[str, Any]:
    before = len(world.fake.views)
    payload = {
        "type": "block_actions",
        "team": {"id": "T0001", "domain": "acme"},
        "user": {"id": user, "team_id": "T0001"},
        "api_app_id": "AAPP0001",
        "container": {"type": "view", "view_id": "V1"},
        "trigger_id": "T.trigger.home",
        "view": {"id": "V1", "type": "home"},
        "actions": [
            {"action_id": f"{CONNECT_ACTION}_{vendor}", "block_id": "b", "type": "button", "value": vendor}
        ],
    }
    body, headers = world.signed.interactive(payload)
    response = httpx.post(f"{world.bot.url}/slack/events", content=body, headers=headers, timeout=10)
    assert response.status_code == 200

    async def wait() -> dict[str, Any]:
        views = await world.fake.wait_for(
            lambda fake: [v for v in fake.views[before:] if v["method"] == "views.open"], timeout=10
        )
        return dict(views[0]["view"])

    return asyncio.run(wait())


def test_connect_opens_the_connect_modal_for_admins_only(synced: World) -> None:
    modal = _click_connect(synced, ADMIN, "cursor")
    assert modal["callback_id"] == "spendbot_connect"
    assert json.loads(modal["private_metadata"])["vendor"] == "cursor"
    name = next(block for block in modal["blocks"] if block.get("block_id") == "name")
    assert name["element"]["initial_value"] == "cursor-2"  # "cursor" is the environment's

    refused = _click_connect(synced, MEMBER, "windsurf")
    assert refused.get("callback_id") != "spendbot_connect"
    assert "only a workspace admin or owner" in text_of(refused)


def test_a_workspace_with_no_connection_yet_gets_a_home_with_connect(
    bot: BotThread, signed: SignedRequests, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    # The first thing a new admin sees, before any connection exists: the Home (with its Connect
    # buttons) must be published, not fail on "there is no connection yet".
    fake_slack.add_user(ADMIN, name="ada", is_admin=True)
    body, headers = signed.event({"type": "app_home_opened", "user": ADMIN, "channel": "D1", "tab": "home"})
    assert httpx.post(f"{bot.url}/slack/events", content=body, headers=headers, timeout=10).status_code == 200

    async def published() -> Any:
        return await fake_slack.wait_for(
            lambda fake: [r["view"] for r in fake.views if r["method"] == "views.publish"] or None
        )

    view = asyncio.run(published())[-1]
    assert _headers(view)[: len(SECTIONS)] == SECTIONS
    assert sorted(_action_ids(view)) == sorted(
        f"{CONNECT_ACTION}_{vendor}"
        for vendor in ("cursor", "windsurf", "openai", "anthropic", "copilot", "rest")
    )
    assert "No connections yet. Connect one below." in text_of(view)
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []


def test_an_admins_home_says_how_many_limit_requests_wait(synced: World) -> None:
    synced.fake.add_channel("C0001")
    synced.ask("subscribe requests")
    assert "Asked: request #1" in text_of(synced.ask("request-limit 300", user=MEMBER))
    text = text_of(_open_home(synced, ADMIN))
    waiting = "*Limit requests:* 1 limit request waits for a decision in the channel that takes requests."
    assert waiting in text
    assert "Limit requests" not in text_of(_open_home(synced, MEMBER))
