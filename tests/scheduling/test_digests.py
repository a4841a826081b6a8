"""Digests with a hand-moved clock: the right local time (DST included), exactly once, late but once after
downtime, never for a day that has ended, and Slack's refusals handled without endless retries."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.domain.commands import SubscribeDigest
from bot.messages.blocks import readable_texts
from bot.messages.subscriptions import DeliveryLine, deliveries_message
from bot.services.container import Services
from bot.services.deliveries import DeliveryLedger, history_pacing
from bot.simulators.slack import HistoryLimits
from bot.vendors.limiter import LimiterRegistry
from tests.scheduling.conftest import ADMIN, TEAM, Rig, build_services

EVERY_DAY = frozenset(range(7))


def text_of_lines(lines: Sequence[DeliveryLine]) -> str:
    """What ``deliveries`` shows for ``lines``."""
    return "\n".join(readable_texts(deliveries_message(lines).blocks))


async def _walk(rig: Rig, until: datetime, step: timedelta = timedelta(minutes=5)) -> list[datetime]:
    """Move the clock in steps, running the digest tick at each; returns the clock times posts were made."""
    posted_at = []
    while rig.clock() < until:
        rig.clock.advance(step)
        before = len(rig.fake.all_messages())
        await rig.services.publisher.run_due_digests()
        if len(rig.fake.all_messages()) > before:
            posted_at.append(rig.clock())
    return posted_at


async def test_a_daily_digest_posts_once_a_day_at_its_local_time(rig: Rig) -> None:
    rig.clock.set(datetime(2026, 11, 19, 23, 0, tzinfo=UTC))
    await rig.services.subscriptions.subscribe(
        TEAM, "C1", ADMIN, SubscribeDigest(at=time(9, 0), tz="Europe/Paris", weekdays=EVERY_DAY)
    )
    posted = await _walk(rig, datetime(2026, 11, 22, 23, 0, tzinfo=UTC))
    # 09:00 in Paris is 08:00 UTC in November; a tick every 5 minutes posts within 5 minutes of it.
    assert [moment.replace(minute=0) for moment in posted] == [
        datetime(2026, 11, day, 8, 0, tzinfo=UTC) for day in (20, 21, 22)
    ]
    assert all(moment.minute <= 5 for moment in posted)
    messages = rig.top_level("C1")
    assert len(messages) == 3
    assert "Daily digest" in messages[0].text and "late" not in messages[0].text


async def test_dst_gap_and_fold_post_once_at_the_right_time(rig: Rig) -> None:
    # 02:30 does not exist in New York on 2026-03-08: the digest goes at the first valid minute, 03:00 EDT.
    rig.clock.set(datetime(2026, 3, 7, 12, 0, tzinfo=UTC))
    await rig.services.subscriptions.subscribe(
        TEAM, "C1", ADMIN, SubscribeDigest(at=time(2, 30), tz="America/New_York", weekdays=EVERY_DAY)
    )
    posted = await _walk(rig, datetime(2026, 3, 9, 12, 0, tzinfo=UTC), step=timedelta(minutes=1))
    assert posted == [
        datetime(2026, 3, 8, 7, 0, tzinfo=UTC),  # 03:00 EDT, the first valid minute after the gap
        datetime(2026, 3, 9, 6, 30, tzinfo=UTC),  # 02:30 EDT
    ]


async def test_a_repeated_hour_posts_once_at_its_first_occurrence(rig: Rig) -> None:
    # 01:30 happens twice in New York on 2026-11-01: the digest goes at the first one (EDT) only.
    rig.clock.set(datetime(2026, 10, 31, 12, 0, tzinfo=UTC))
    await rig.services.subscriptions.subscribe(
        TEAM, "C2", ADMIN, SubscribeDigest(at=time(1, 30), tz="America/New_York", weekdays=EVERY_DAY)
    )
    posted = await _walk(rig, datetime(2026, 11, 2, 12, 0, tzinfo=UTC), step=timedelta(minutes=1))
    assert posted == [
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # 01:30 EDT, the first of the two 01:30s
        datetime(2026, 11, 2, 6, 30, tzinfo=UTC),  # 01:30 EST the day after
    ]


async def test_a_digest_missed_while_down_goes_out_once_late_if_its_day_goes_on(rig: Rig) -> None:
    rig.clock.set(datetime(2026, 11, 20, 6, 0, tzinfo=UTC))
    await rig.services.subscriptions.subscribe(
        TEAM, "C1", ADMIN, SubscribeDigest(at=time(9, 0), tz="UTC", weekdays=EVERY_DAY)
    )
    # The bot is down from 06:00 to 11:00: the 09:00 digest goes out at start, once, marked late.
    rig.clock.set(datetime(2026, 11, 20, 11, 0, tzinfo=UTC))
    services = await rig.restart()
    await services.publisher.run_due_digests()
    await services.publisher.run_due_digests()
    (late,) = rig.top_level("C1")
    assert "(late)" in late.text
    # Down again over a whole day: that day's digest is skipped (its day ended), the next one is on time.
    rig.clock.set(datetime(2026, 11, 22, 8, 0, tzinfo=UTC))
    services = await rig.restart()
    await services.publisher.run_due_digests()
    assert len(rig.top_level("C1")) == 1
    rows = await services.ledger.recent(TEAM)
    assert [row.state for row in rows if row.period == "2026-11-21"] == ["skipped"]
    await _walk(rig, datetime(2026, 11, 22, 9, 30, tzinfo=UTC))
    assert len(rig.top_level("C1")) == 2
    assert "(late)" not in rig.top_level("C1")[1].text


async def test_two_processes_on_one_database_post_each_digest_once(rig: Rig) -> None:
    rig.clock.set(datetime(2026, 11, 20, 7, 0, tzinfo=UTC))
    for index in range(12):
        channel = f"CREP{index:03d}"
        rig.fake.add_channel(channel)
        await rig.services.subscriptions.subscribe(
            TEAM, channel, ADMIN, SubscribeDigest(at=time(8, 0), tz="UTC", weekdays=EVERY_DAY)
        )
    other: Services = build_services(rig.settings, rig.clock)
    await other.start(identify_workspace=False)
    try:
        rig.clock.set(datetime(2026, 11, 20, 8, 1, tzinfo=UTC))
        for _ in range(3):
            await asyncio.gather(rig.services.publisher.run_due_digests(), other.publisher.run_due_digests())
    finally:
        await other.close()
    for index in range(12):
        assert len(rig.top_level(f"CREP{index:03d}")) == 1


async def test_slack_429_is_waited_out_and_the_digest_posted_once(rig: Rig) -> None:
    await _daily_at_eight(rig)
    rig.fake.rate_limit("chat.postMessage", retry_after=1, times=1)
    rig.clock.set(datetime(2026, 11, 20, 8, 1, tzinfo=UTC))
    await rig.services.publisher.run_due_digests()
    assert len(rig.top_level("C1")) == 1
    assert len(rig.fake.calls("chat.postMessage")) == 2  # the 429, then the post after Retry-After


@pytest.mark.parametrize("posted", [True, False], ids=["slack-posted", "slack-did-not-post"])
async def test_a_post_whose_answer_is_lost_is_settled_from_history_never_repeated_blindly(
    rig: Rig, posted: bool
) -> None:
    """A 5xx (or a timeout) leaves the outcome unknown: no blind retry; the settle looks in the history."""
    await _daily_at_eight(rig)
    rig.fake.fail("chat.postMessage", status=503, applied=posted)
    rig.clock.set(datetime(2026, 11, 20, 8, 1, tzinfo=UTC))
    await rig.services.publisher.run_due_digests()
    assert len(rig.fake.calls("chat.postMessage")) == 1  # not retried on the spot
    (row,) = await rig.services.ledger.recent(TEAM)
    assert row.state == "posting" and "503" in (row.error or "")

    # The history cannot be read: not knowing is not "not posted", so nothing is posted yet.
    rig.clock.advance(timedelta(minutes=2))
    rig.fake.fail("conversations.history", status=500, times=10)
    await rig.services.publisher.settle()
    assert len(rig.fake.calls("chat.postMessage")) == 1
    assert (await rig.services.ledger.recent(TEAM))[0].state == "posting"

    rig.fake.clear_faults()
    rig.clock.advance(timedelta(minutes=2))
    await rig.services.publisher.settle()
    assert len(rig.top_level("C1")) == 1  # exactly one digest, whichever way the first post went
    assert len(rig.fake.calls("chat.postMessage")) == (1 if posted else 2)
    (row,) = await rig.services.ledger.recent(TEAM)
    assert row.state == "sent" and row.message_ts == rig.top_level("C1")[0].ts


async def test_settling_reads_a_narrow_window_paced_as_slack_allows_a_distributed_app(rig: Rig) -> None:
    """Since 2025, for an app installed by OAuth outside the Marketplace: one conversations.history a
    minute per workspace, 15 messages a call. Three posts whose connection dropped after Slack took
    them are found, in a busy channel too, with no 429."""
    rig.clock.set(datetime(2026, 11, 20, 7, 0, tzinfo=UTC))
    for channel in ("C1", "C2", "C3"):
        await rig.services.subscriptions.subscribe(
            TEAM, channel, ADMIN, SubscribeDigest(at=time(8, 0), tz="UTC", weekdays=EVERY_DAY)
        )
    rig.fake.fail("chat.postMessage", drop=True, applied=True, times=3)
    rig.clock.set(datetime(2026, 11, 20, 8, 1, tzinfo=UTC))
    await rig.services.publisher.run_due_digests()
    assert len(rig.fake.calls("chat.postMessage")) == 3  # each sent once, its answer lost
    rig.clock.advance(timedelta(seconds=30))
    for number in range(20):  # people talk in C1 after the digest: it is no longer in the newest 15
        await rig.services.slack.call(TEAM, "chat.postMessage", channel="C1", text=f"chat {number}")
    rig.clock.set(datetime(2026, 11, 20, 10, 0, tzinfo=UTC))  # settled much later (down for a while)
    rig.fake.enforce_history_limits(HistoryLimits(time_scale=600.0))  # Slack's minute: 0.1 s
    services = rig.services
    distributed = DeliveryLedger(
        services.store.deliveries,
        services.slack,
        clock=rig.clock,
        metrics=services.metrics,
        # Ours: 0.15 s. A real minute's slot is released 1.2 s late (release_margin); at Slack's scale
        # that margin would shrink to its 5 ms floor, less than a busy machine's loopback jitter.
        pacing=LimiterRegistry(time_scale=400.0),
        history=history_pacing(distributed=True),
    )
    assert await distributed.settle() == 3
    assert rig.fake.rate_limited == 0
    assert [len(rig.top_level(channel)) for channel in ("C1", "C2", "C3")] == [21, 1, 1]  # none doubled
    rows = await rig.services.ledger.recent(TEAM)
    assert sorted(row.state for row in rows) == ["sent"] * 3
    reads = rig.fake.calls("conversations.history")
    assert len(reads) == 4  # C1 takes two pages
    for read in reads:
        assert int(read.args["limit"]) <= 15
        assert float(read.args["latest"]) - float(read.args["oldest"]) < 15 * 60  # minutes, not hours


async def test_an_internal_app_settles_many_channels_at_tier_3_not_one_a_minute(rig: Rig) -> None:
    """spendbot with a bot token is an internal app: Slack's 2025 limits for apps outside the Marketplace
    do not apply, so twelve posts a crash left unsettled (six sent, six not) are settled in one pass at
    Tier 3 (50 calls a minute) with no 429, each posted exactly once."""
    channels = [f"CS{index:02d}" for index in range(12)]
    rig.clock.set(datetime(2026, 11, 20, 7, 0, tzinfo=UTC))
    for channel in channels:
        rig.fake.add_channel(channel)
        await rig.services.subscriptions.subscribe(
            TEAM, channel, ADMIN, SubscribeDigest(at=time(8, 0), tz="UTC", weekdays=EVERY_DAY)
        )
    rig.fake.fail("chat.postMessage", drop=True, applied=True, times=6)
    rig.fake.fail("chat.postMessage", drop=True, applied=False, times=6)
    rig.clock.set(datetime(2026, 11, 20, 8, 1, tzinfo=UTC))
    await rig.services.publisher.run_due_digests()
    assert sum(len(rig.top_level(channel)) for channel in channels) == 6
    rig.clock.advance(timedelta(minutes=3))
    rig.fake.enforce_history_limits(HistoryLimits(per_minute=50, max_limit=999, time_scale=600.0))
    assert await rig.services.ledger.settle() == 12
    assert rig.fake.rate_limited == 0
    assert [len(rig.top_level(channel)) for channel in channels] == [1] * 12
    assert sorted(row.state for row in await rig.services.ledger.recent(TEAM, limit=50)) == ["sent"] * 12
    reads = rig.fake.calls("conversations.history")
    assert len(reads) == 12 and all(int(read.args["limit"]) == 200 for read in reads)


async def _daily_at_eight(rig: Rig) -> None:
    """At 07:00 UTC on Nov 20, C1 subscribes to a digest every day at 08:00 UTC."""
    rig.clock.set(datetime(2026, 11, 20, 7, 0, tzinfo=UTC))
    await rig.services.subscriptions.subscribe(
        TEAM, "C1", ADMIN, SubscribeDigest(at=time(8, 0), tz="UTC", weekdays=EVERY_DAY)
    )


async def _settle_every(rig: Rig, step: timedelta, until: datetime) -> None:
    """The settle job's ticks (settle, then the delayed posts whose time has come) up to ``until``."""
    while rig.clock() < until:
        rig.clock.advance(step)
        await rig.services.publisher.settle()


async def test_a_digest_slack_keeps_failing_stays_due_with_backoff_and_posts_once_slack_answers(
    rig: Rig,
) -> None:
    """A 500 leaves a post's outcome unknown. After three tries, each after a look in the history, the
    post is no longer failed (it used to be, and nothing posted that digest before the next day): it
    waits with backoff (30 s doubling to 10 minutes) while the digest is due, and posts once."""
    await _daily_at_eight(rig)
    rig.fake.fail("chat.postMessage", status=500, times=1000)
    rig.clock.set(datetime(2026, 11, 20, 8, 1, tzinfo=UTC))
    await rig.services.publisher.run_due_digests()
    await _settle_every(rig, timedelta(minutes=1), datetime(2026, 11, 20, 9, 1, tzinfo=UTC))

    tries = len(rig.fake.calls("chat.postMessage"))
    assert 3 + 5 <= tries <= 3 + 10  # then backoff: 30 s, 1, 2, 4, 8 min, then every 10 minutes
    await _settle_every(rig, timedelta(seconds=30), rig.clock() + timedelta(seconds=30))  # a try settled
    assert len(rig.fake.calls("chat.postMessage")) == tries
    (row,) = await rig.services.ledger.recent(TEAM)
    assert row.state == "delayed" and "HTTP 500" in (row.error or "")
    (line,) = await rig.services.ledger.lines(TEAM)
    assert line.state == "delayed" and line.retry_at is not None and line.retry_at > rig.clock()

    rig.fake.clear_faults()  # Slack answers again
    await _settle_every(rig, timedelta(minutes=1), datetime(2026, 11, 20, 9, 12, tzinfo=UTC))
    (posted,) = rig.top_level("C1")
    (row,) = await rig.services.ledger.recent(TEAM)
    assert row.state == "sent" and row.message_ts == posted.ts
    await _settle_every(rig, timedelta(minutes=5), datetime(2026, 11, 20, 10, 0, tzinfo=UTC))
    assert len(rig.top_level("C1")) == 1


async def test_a_digest_slack_fails_all_day_ends_in_a_visible_failure_when_its_day_is_over(rig: Rig) -> None:
    await _daily_at_eight(rig)
    rig.fake.fail("chat.postMessage", status=500, times=1000)
    rig.clock.set(datetime(2026, 11, 20, 20, 1, tzinfo=UTC))
    await rig.services.publisher.run_due_digests()
    await _settle_every(rig, timedelta(minutes=5), datetime(2026, 11, 21, 0, 30, tzinfo=UTC))

    assert not rig.top_level("C1")
    (row,) = await rig.services.ledger.recent(TEAM)
    assert row.state == "failed"
    assert "HTTP 500" in (row.error or "") and (row.error or "").endswith("; no longer due")
    tries = len(rig.fake.calls("chat.postMessage"))
    assert tries <= 30  # four hours, after the backoff about one try every ten minutes


async def test_a_post_left_posting_whose_channel_is_then_gone_is_failed_and_paused_not_kept_for_ever(
    rig: Rig,
) -> None:
    """A 500 leaves the post's outcome unknown (``posting``); the channel is deleted before the settle,
    whose history read answers ``channel_not_found``: the row fails with that reason and the
    subscription is paused, as for any channel error, instead of staying ``posting`` for ever."""
    rig.clock.set(datetime(2026, 11, 20, 7, 0, tzinfo=UTC))
    subscription = await rig.services.subscriptions.subscribe(
        TEAM, "C1", ADMIN, SubscribeDigest(at=time(8, 0), tz="UTC", weekdays=EVERY_DAY)
    )
    rig.fake.fail("chat.postMessage", status=500, times=1)
    rig.clock.set(datetime(2026, 11, 20, 8, 1, tzinfo=UTC))
    await rig.services.publisher.run_due_digests()
    assert (await rig.services.ledger.recent(TEAM))[0].state == "posting"
    rig.fake.delete_channel("C1")
    rig.clock.advance(timedelta(minutes=3))
    assert await rig.services.ledger.settle() == 1
    (row,) = await rig.services.ledger.recent(TEAM)
    assert (row.state, row.error) == ("failed", "channel_not_found")
    (paused,) = await rig.services.subscriptions.listing(TEAM, "C1")
    assert paused.id == subscription.id and paused.paused_reason == "the channel no longer exists"
    rig.clock.advance(timedelta(minutes=3))
    assert await rig.services.ledger.settle() == 0  # settled once, not looked at again
    assert len(rig.fake.calls("chat.postMessage")) == 1


async def test_a_post_that_met_a_500_is_looked_for_within_seconds_not_minutes(rig: Rig) -> None:
    """Its attempt ended without an answer, so nothing is in flight: the settle looks after 15 s (the
    next 30 s tick), where a row left by a crash waits the full 100 s."""
    await _daily_at_eight(rig)
    rig.fake.fail("chat.postMessage", status=500, times=1)  # Slack did not post it
    rig.clock.set(datetime(2026, 11, 20, 8, 1, tzinfo=UTC))
    await rig.services.publisher.run_due_digests()
    rig.clock.advance(timedelta(seconds=5))
    assert await rig.services.ledger.settle() == 0  # too soon even for that
    rig.clock.advance(timedelta(seconds=12))
    assert await rig.services.ledger.settle() == 1
    assert len(rig.top_level("C1")) == 1 and len(rig.fake.calls("conversations.history")) == 1
    (row,) = await rig.services.ledger.recent(TEAM)
    assert row.state == "sent"


async def test_a_channel_error_pauses_the_subscription_with_its_reason(rig: Rig) -> None:
    rig.clock.set(datetime(2026, 11, 20, 7, 0, tzinfo=UTC))
    subscription = await rig.services.subscriptions.subscribe(
        TEAM, "C1", ADMIN, SubscribeDigest(at=time(8, 0), tz="UTC", weekdays=EVERY_DAY)
    )
    rig.fake.remove_bot("C1")
    rig.clock.set(datetime(2026, 11, 20, 8, 1, tzinfo=UTC))
    await rig.services.publisher.run_due_digests()
    await rig.services.publisher.settle()
    rig.clock.advance(timedelta(days=1))
    await rig.services.publisher.run_due_digests()
    assert len(rig.fake.calls("chat.postMessage")) == 1  # tried once, not again and again
    (row,) = await rig.services.subscriptions.listing(TEAM, "C1")
    assert row.paused_reason == "the bot is not in the channel (invite it with /invite @spendbot)"
    (delivery,) = await rig.services.ledger.recent(TEAM)
    assert delivery.state == "failed" and delivery.error == "not_in_channel"
    # Invited back and subscribed again: resumed, with its next due time recomputed.
    rig.fake.add_channel("C1")
    resumed = await rig.services.subscriptions.subscribe(
        TEAM, "C1", ADMIN, SubscribeDigest(at=time(8, 0), tz="UTC", weekdays=EVERY_DAY)
    )
    assert resumed.id == subscription.id and resumed.paused_reason is None


async def test_the_daily_purge_drops_chart_files_older_than_two_days_and_keeps_the_rest(rig: Rig) -> None:
    rig.clock.set(datetime(2026, 11, 20, 3, 17, tzinfo=UTC))
    charts = rig.settings.data_dir / "charts"
    charts.mkdir(parents=True, exist_ok=True)
    old, fresh = charts / "T0001-old.png", charts / "T0001-fresh.png"
    for path, age in ((old, timedelta(days=3)), (fresh, timedelta(hours=5))):
        path.write_bytes(b"png")
        stamp = (rig.clock() - age).timestamp()
        os.utime(path, (stamp, stamp))
    await rig.services.publisher.purge()
    assert not old.exists() and fresh.exists()


async def test_a_long_retry_after_delays_the_digests_which_post_once_when_it_is_over(rig: Rig) -> None:
    rig.clock.set(datetime(2026, 11, 20, 7, 0, tzinfo=UTC))
    for channel in ("C1", "C2", "C3"):
        await rig.services.subscriptions.subscribe(
            TEAM, channel, ADMIN, SubscribeDigest(at=time(8, 0), tz="UTC", weekdays=EVERY_DAY)
        )
    rig.fake.rate_limit("chat.postMessage", retry_after=120, times=1)
    rig.clock.set(datetime(2026, 11, 20, 8, 1, tzinfo=UTC))
    await rig.services.publisher.run_due_digests()
    rows = {row.channel_id: row for row in await rig.services.ledger.recent(TEAM)}
    delayed = {channel for channel, row in rows.items() if row.state == "delayed"}
    assert delayed  # the one Slack held back, and those the hold reached before they were sent
    assert all(rows[channel].error == "ratelimited" for channel in delayed)
    # Slack said 120 s: once it had, no post to the workspace went to Slack before that.
    assert len(rig.fake.calls("chat.postMessage")) == 1 + (3 - len(delayed))
    shown = text_of_lines(await rig.services.ledger.lines(TEAM))
    assert "delayed, next try Nov 20 08:03 UTC — ratelimited" in shown

    rig.clock.set(datetime(2026, 11, 20, 8, 2, 30, tzinfo=UTC))
    await rig.services.publisher.settle()
    assert {row.state for row in await rig.services.ledger.recent(TEAM) if row.channel_id in delayed} == {
        "delayed"
    }
    rig.clock.set(datetime(2026, 11, 20, 8, 3, 5, tzinfo=UTC))
    await rig.services.publisher.settle()
    for channel in ("C1", "C2", "C3"):
        assert len(rig.top_level(channel)) == 1, channel
    assert {row.state for row in await rig.services.ledger.recent(TEAM)} == {"sent"}
    await rig.services.publisher.settle()
    assert sum(len(rig.top_level(channel)) for channel in ("C1", "C2", "C3")) == 3


async def test_a_digest_held_back_past_its_local_day_fails_saying_so_and_is_not_posted(rig: Rig) -> None:
    rig.clock.set(datetime(2026, 11, 20, 7, 0, tzinfo=UTC))
    await rig.services.subscriptions.subscribe(
        TEAM, "C1", ADMIN, SubscribeDigest(at=time(22, 0), tz="Europe/Paris", weekdays=EVERY_DAY)
    )
    rig.fake.rate_limit("chat.postMessage", retry_after=7200, times=1)
    rig.clock.set(datetime(2026, 11, 20, 21, 1, tzinfo=UTC))  # 22:01 in Paris
    await rig.services.publisher.run_due_digests()
    (row,) = await rig.services.ledger.recent(TEAM)
    assert row.state == "delayed" and row.due_until == datetime(2026, 11, 20, 23, 0, tzinfo=UTC)
    rig.clock.set(datetime(2026, 11, 20, 23, 5, tzinfo=UTC))  # the hold is over, and so is the day
    await rig.services.publisher.settle()
    (row,) = await rig.services.ledger.recent(TEAM)
    assert row.state == "failed" and row.error == "ratelimited; no longer due"
    assert not rig.top_level("C1")
    assert len(rig.fake.calls("chat.postMessage")) == 1


async def test_a_passing_slack_error_is_tried_again_after_its_backoff_and_posts_once(rig: Rig) -> None:
    await _daily_at_eight(rig)
    rig.fake.fail("chat.postMessage", error="internal_error", times=2)
    rig.clock.set(datetime(2026, 11, 20, 8, 1, tzinfo=UTC))
    await rig.services.publisher.run_due_digests()
    (row,) = await rig.services.ledger.recent(TEAM)
    assert row.state == "delayed" and row.retry_at == datetime(2026, 11, 20, 8, 1, 30, tzinfo=UTC)
    rig.clock.advance(timedelta(seconds=31))
    await rig.services.publisher.settle()
    (row,) = await rig.services.ledger.recent(TEAM)
    assert row.state == "delayed" and row.retry_at == rig.clock() + timedelta(seconds=60)  # doubled
    rig.clock.advance(timedelta(seconds=61))
    await rig.services.publisher.settle()
    assert len(rig.top_level("C1")) == 1
    assert len(rig.fake.calls("chat.postMessage")) == 3
