"""An alert's life with a hand-moved clock: one post per crossing, slow reminders, a resolution in place,
a new alert in the next cycle; restarts at any step change none of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from bot.domain.commands import SubscribeCreditLow, SubscribeHealth, SubscribeRateLimit
from bot.messages.replies import delivery_subject
from bot.services.clock import ManualClock
from bot.simulators.rest import RestSimulator
from bot.simulators.serving import served
from bot.simulators.slack import FakeSlack
from tests.scheduling.conftest import ADMIN, START, TEAM, Rig, build_services, make_settings


async def _check(rig: Rig, credits: int | None = None, *, advance: timedelta = timedelta(minutes=5)) -> None:
    rig.clock.advance(advance)
    if credits is not None:
        rig.rest.set_credits(Decimal(credits))
    await rig.services.publisher.check_alerts()


@pytest.mark.parametrize("restart", [False, True], ids=["one-process", "restart-between-steps"])
async def test_falling_credits_fire_once_remind_once_resolve_once_and_fire_again_next_cycle(
    rig: Rig, restart: bool
) -> None:
    await rig.services.subscriptions.subscribe(
        TEAM, "C1", ADMIN, SubscribeCreditLow(below_amount=Decimal(500))
    )

    async def step(credits: int, advance: timedelta = timedelta(minutes=5)) -> None:
        if restart:
            await rig.restart()
        await _check(rig, credits, advance=advance)

    await step(1000)
    assert rig.top_level("C1") == []

    await step(400)  # the crossing
    alerts = rig.top_level("C1")
    assert len(alerts) == 1
    assert "tracked figure low" in alerts[0].text
    assert "400" in str(alerts[0].blocks)
    buttons = [
        e["action_id"] for b in alerts[0].blocks or [] if b["type"] == "actions" for e in b["elements"]
    ]
    assert buttons == ["alert_snooze", "alert_mute"]

    await step(300)  # still breached, well within the reminder interval: nothing
    await step(250, timedelta(hours=10))
    assert len(rig.top_level("C1")) == 1

    await step(200, timedelta(hours=15))  # 24 h after the first post: one reminder
    messages = rig.top_level("C1")
    assert len(messages) == 2
    assert "Still:" in str(messages[1].blocks)
    await step(150)
    assert len(rig.top_level("C1")) == 2

    await step(800)  # recovered: the first message is edited in place and a reply goes in its thread
    first = rig.top_level("C1")[0]
    assert first.edits == 1
    assert "resolved" in str(first.blocks)
    assert "alert_snooze" not in str(first.blocks)
    replies = rig.replies("C1")
    assert len(replies) == 1
    assert replies[0].thread_ts == first.ts
    assert "Resolved" in replies[0].text
    await step(900)
    assert len(rig.top_level("C1")) == 2 and len(rig.replies("C1")) == 1

    # The next billing cycle (the tracked figure's cycle is the calendar month) is a new alert.
    rig.clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    await step(300)
    assert len(rig.top_level("C1")) == 3
    assert "tracked figure low" in rig.top_level("C1")[2].text

    deliveries = await rig.services.ledger.recent(TEAM, limit=50)
    # Fire, reminder, resolution reply, next cycle's fire: four posts, four keys, all sent.
    assert sorted(row.state for row in deliveries) == ["sent"] * 4
    assert len({row.idempotency_key for row in deliveries}) == 4
    # `deliveries` names each post, the resolution as well as the firings (it used to read "alert  ()").
    subjects = [delivery_subject(line.kind, line.period) for line in await rig.services.ledger.lines(TEAM)]
    assert sorted(subjects) == sorted(
        ["alert tracked:rest abs:500 (fired)"] * 2
        + ["alert tracked:rest abs:500 (reminder)", "alert tracked:rest abs:500 (resolved)"]
    ), subjects


async def test_alerts_due_together_share_one_message_and_resolve_separately(rig: Rig) -> None:
    services = rig.services
    await services.subscriptions.subscribe(TEAM, "C1", ADMIN, SubscribeCreditLow(below_amount=Decimal(500)))
    await services.subscriptions.subscribe(TEAM, "C1", ADMIN, SubscribeCreditLow(below_percent=Decimal(40)))
    await _check(rig, 1000)
    await _check(rig, 300)  # both cross together: one message, two sections
    messages = rig.top_level("C1")
    assert len(messages) == 1
    sections = [
        block
        for block in messages[0].blocks or []
        if block.get("block_id", "").startswith("alert-") and block["type"] == "section"
    ]
    assert len(sections) == 2
    await _check(rig, 410)  # 41% of the month's 1,000 peak: within the 2-point hysteresis, both still hold
    assert rig.top_level("C1")[0].edits == 0
    await _check(rig, 450)  # 45% clears the percentage alert; 450 is still under 500
    first = rig.top_level("C1")[0]
    assert first.edits == 1
    text = str(first.blocks)
    assert text.count("*resolved*") == 1
    assert "alert_snooze" in text  # the other alert keeps its buttons
    assert len(rig.replies("C1")) == 1


async def test_sixty_alerts_due_together_are_each_shown_or_counted_and_any_resolves_in_place(
    rig: Rig,
) -> None:
    """Slack takes 50 blocks: the alerts past them are counted in a "+N more alerts" line, never dropped."""
    services = rig.services
    for threshold in range(500, 560):
        await services.subscriptions.subscribe(
            TEAM, "C1", ADMIN, SubscribeCreditLow(below_amount=Decimal(threshold))
        )
    await _check(rig, 1000)
    await _check(rig, 300)
    (message,) = rig.top_level("C1")
    blocks = message.blocks or []
    assert len(blocks) <= 50
    shown = [b for b in blocks if b["type"] == "section" and str(b.get("block_id")).startswith("alert-")]
    (more,) = [block for block in blocks if "more alerts not shown" in str(block)]
    counted = int(str(more["elements"][0]["text"]).split()[0].lstrip("+"))
    assert len(shown) + counted == 60
    deliveries = await services.ledger.recent(TEAM, limit=100)
    assert len([row for row in deliveries if row.state == "sent"]) == 60
    # The first alert (below 500) clears above 525 (5% hysteresis); the one below 501 still holds at 526.
    ids = [block.get("block_id") for block in blocks]
    await _check(rig, 526)
    edited = rig.top_level("C1")[0].blocks or []
    resolved = [block for block in edited if "*resolved*" in str(block)]
    assert [block["block_id"] for block in resolved] == [shown[0]["block_id"]]
    assert [block.get("block_id") for block in edited] == [i for i in ids if i != ids[2]]  # its buttons went
    assert len(rig.replies("C1")) == 1


async def test_snooze_holds_back_posts_but_not_the_recovery(rig: Rig) -> None:
    services = rig.services
    subscription = await services.subscriptions.subscribe(
        TEAM, "C1", ADMIN, SubscribeCreditLow(below_amount=Decimal(500))
    )
    await _check(rig, 400)
    assert len(rig.top_level("C1")) == 1
    assert subscription.id is not None
    await services.subscriptions.snooze(TEAM, ADMIN, subscription.id, timedelta(hours=48), False)  # (row, 0)
    await _check(rig, 300, advance=timedelta(hours=30))  # a reminder would be due, but it is snoozed
    assert len(rig.top_level("C1")) == 1
    await _check(rig, 900)  # the recovery is still posted
    assert len(rig.replies("C1")) == 1


async def test_the_mute_button_holds_reminders_until_resolved_and_is_for_admins(rig: Rig) -> None:
    services = rig.services
    await services.subscriptions.subscribe(TEAM, "C1", ADMIN, SubscribeCreditLow(below_amount=Decimal(500)))
    await _check(rig, 400)
    (state,) = [state for _, state in await services.alerts.open_alerts(TEAM)]
    assert state.id is not None
    assert "muted" in await services.alerts.mute_state(TEAM, ADMIN, state.id)
    await _check(rig, 300, advance=timedelta(hours=30))
    assert len(rig.top_level("C1")) == 1  # no reminder while muted
    await _check(rig, 900)
    assert len(rig.replies("C1")) == 1  # resolved, and the mute ended with it
    await _check(rig, 400, advance=timedelta(hours=1))
    assert len(rig.top_level("C1")) == 2  # a new episode is not muted


async def test_health_alert_names_a_rejected_key(rig: Rig) -> None:
    services = rig.services
    await services.subscriptions.subscribe(TEAM, "C2", ADMIN, SubscribeHealth())
    await _check(rig)
    assert rig.top_level("C2") == []
    rig.rest.revoke_key()  # the vendor no longer accepts our key
    await _check(rig)
    (alert,) = rig.top_level("C2")
    assert "cannot fetch data" in alert.text
    assert "key is rejected" in str(alert.blocks)
    rig.rest.restore_key()
    await _check(rig)
    assert len(rig.replies("C2")) == 1  # fixed: resolved in the thread


async def test_rate_limit_alert_on_low_headroom(tmp_path: Path, fake_slack: FakeSlack) -> None:
    # A vendor minute of real length here, so that other callers' requests stay in the same window.
    sim = RestSimulator(plan="free", now=START, time_scale=1.0)
    fake_slack.add_channel("C3")
    with served(sim.app) as server:
        settings = make_settings(tmp_path, fake_slack, server.url + "/v1", sim.api_key, rest_per_minute=60)
        clock = ManualClock(START)
        services = build_services(settings, clock)
        await services.start(identify_workspace=False)
        await services.use_env_team(TEAM)
        try:
            await services.subscriptions.subscribe(
                TEAM, "C3", ADMIN, SubscribeRateLimit(below_percent=Decimal(50))
            )
            await services.publisher.check_alerts()
            assert fake_slack.channel_messages("C3") == []
            async with httpx.AsyncClient() as other_caller:  # someone else spends the key's minute
                for _ in range(40):
                    await other_caller.get(
                        f"{server.url}/v1/account", headers={"Authorization": f"Bearer {sim.api_key}"}
                    )
            clock.advance(timedelta(minutes=5))
            await services.publisher.check_alerts()
            (alert,) = fake_slack.channel_messages("C3")
            assert "rate-limit headroom low" in alert.text
            assert "the API's own window" in str(alert.blocks)
        finally:
            await services.close()


async def test_a_kill_between_slacks_answer_and_our_commit_neither_loses_nor_doubles(rig: Rig) -> None:
    """Rows left "posting": one was posted (Slack answered, we never recorded it), one was not at all."""
    from bot.messages.message import Message
    from bot.services.deliveries import METADATA_EVENT, Claim, key_for

    ledger = rig.services.ledger
    sent_key = key_for(TEAM, "C1", None, "digest", "2026-11-20")
    lost_key = key_for(TEAM, "C2", None, "digest", "2026-11-20")
    for key, channel in ((sent_key, "C1"), (lost_key, "C2")):
        claimed = await ledger.claim(
            Claim(key, TEAM, channel, None, "digest", "2026-11-20"), Message("digest", [])
        )
        assert claimed is not None
    # The first one reached Slack before the "crash": the message carries its key.
    await rig.services.slack.call(
        TEAM,
        "chat.postMessage",
        channel="C1",
        text="digest",
        metadata={"event_type": METADATA_EVENT, "event_payload": {"keys": [sent_key]}},
    )
    services = await rig.restart()
    assert await services.ledger.settle(older_than=timedelta(0)) == 2
    assert len(rig.top_level("C1")) == 1  # found in the history: not posted again
    assert len(rig.top_level("C2")) == 1  # never posted: posted now, once
    rows = {row.idempotency_key: row for row in await services.ledger.recent(TEAM)}
    assert rows[sent_key].state == "sent" and rows[sent_key].message_ts == rig.top_level("C1")[0].ts
    assert rows[lost_key].state == "sent"
    assert await services.ledger.settle(older_than=timedelta(0)) == 0


async def test_snooze_until_resolved_mutes_what_fires_and_the_next_episode_still_posts(rig: Rig) -> None:
    subscription = await rig.services.subscriptions.subscribe(
        TEAM, "C1", ADMIN, SubscribeCreditLow(below_amount=Decimal(500))
    )
    assert subscription.id is not None
    _, muted = await rig.services.subscriptions.snooze(TEAM, ADMIN, subscription.id, None, True)
    assert muted == 0  # nothing firing: nothing muted, as the answer says
    await _check(rig, 400)  # the crossing posts
    assert len(rig.top_level("C1")) == 1
    _, muted = await rig.services.subscriptions.snooze(TEAM, ADMIN, subscription.id, None, True)
    assert muted == 1
    await _check(rig, 300, advance=timedelta(hours=25))  # a reminder is due, and held back
    assert len(rig.top_level("C1")) == 1
    await _check(rig, 900)  # the recovery is still posted
    assert len(rig.replies("C1")) == 1
    await _check(rig, 400)  # a new episode: it posts
    assert len(rig.top_level("C1")) == 2
