"""The delivery ledger's rows: a key is claimed once, a settle takes rows over once, outcomes pause."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.store.db import Database
from bot.store.models import Subscription
from bot.store.repositories import Repositories
from tests.store.rows import NOW, delivery, subscription, workspace


async def test_a_key_is_claimed_once(database: Database, store: Repositories) -> None:
    assert await store.deliveries.claim(delivery("T1:C1:-:digest:d"))
    assert not await store.deliveries.claim(delivery("T1:C1:-:digest:d"))
    found = await store.deliveries.by_key("T1:C1:-:digest:d")
    assert found is not None and found.state == "posting"
    assert await store.deliveries.by_key("other") is None


async def test_concurrent_claims_of_one_key_let_exactly_one_through(store: Repositories) -> None:
    outcomes = await asyncio.gather(*(store.deliveries.claim(delivery("K")) for _ in range(6)))
    assert sorted(outcomes) == [False] * 5 + [True]


async def test_a_take_over_is_a_compare_and_set_on_updated_at(store: Repositories) -> None:
    row = delivery("K")
    await store.deliveries.claim(row)
    (read,) = await store.deliveries.in_state_untouched_since("posting", NOW)
    first = await store.deliveries.take_over([read], "posting", NOW + timedelta(minutes=5))
    second = await store.deliveries.take_over([read], "posting", NOW + timedelta(minutes=6))
    assert (first, second) == (True, False)
    assert await store.deliveries.in_state_untouched_since("posting", NOW) == []
    stored = await store.deliveries.by_key("K")
    assert stored is not None and stored.updated_at == NOW + timedelta(minutes=5)


async def test_an_attempt_is_recorded_on_each_row_and_pauses_its_subscription_once(
    database: Database, store: Repositories
) -> None:
    await workspace(database)
    watched = await subscription(database)
    paused = await subscription(database, paused_reason="earlier", paused_at=NOW)
    rows = [delivery("A", subscription_id=watched.id), delivery("B", subscription_id=paused.id)]
    for row in rows:
        await store.deliveries.claim(row)
    later = NOW + timedelta(minutes=1)
    written = await store.deliveries.record_attempt(
        rows, "failed", later, error="channel_not_found", pause="the channel no longer exists"
    )
    assert [row.idempotency_key for row in written] == ["A", "B"]
    for key in ("A", "B"):
        stored = await store.deliveries.by_key(key)
        assert stored is not None
        assert (stored.state, stored.attempts, stored.error, stored.updated_at) == (
            "failed",
            1,
            "channel_not_found",
            later,
        )
    async with database.session() as session:
        first = await session.get(Subscription, watched.id)
        second = await session.get(Subscription, paused.id)
    assert first is not None and (first.paused_reason, first.paused_at) == (
        "the channel no longer exists",
        later,
    )
    assert second is not None and (second.paused_reason, second.paused_at) == ("earlier", NOW)
    assert [
        row.idempotency_key for row in await store.deliveries.in_state_with_attempts_below("failed", 2)
    ] == [
        "A",
        "B",
    ]
    assert await store.deliveries.in_state_with_attempts_below("failed", 1) == []


async def test_a_sent_attempt_keeps_its_ts_and_a_retry_its_new_message(store: Repositories) -> None:
    row = delivery("K")
    await store.deliveries.claim(row)
    await store.deliveries.record_attempt([row], "sent", NOW, ts="1700000000.000100")
    await store.deliveries.mark_posting(
        row.id, "posting", NOW, message={"text": "again", "blocks": [{"x": 1}]}
    )
    stored = await store.deliveries.by_key("K")
    assert stored is not None and stored.message_ts == "1700000000.000100"
    assert stored.payload == {"text": "again", "blocks": [{"x": 1}], "keys": ["K"]}
    assert stored.state == "posting"
    await store.deliveries.mark_skipped(row.id, "skipped", "x" * 600)
    stored = await store.deliveries.by_key("K")
    assert stored is not None and stored.state == "skipped" and stored.error == "x" * 500


async def test_recent_rows_are_the_workspace_s_newest_first(store: Repositories) -> None:
    for index in range(3):
        await store.deliveries.claim(delivery(f"K{index}", created_at=NOW + timedelta(minutes=index)))
    await store.deliveries.claim(delivery("other", team_id="T2"))
    assert [row.idempotency_key for row in await store.deliveries.recent("T1", 2)] == ["K2", "K1"]
    outcomes = await store.deliveries.recent_outcomes("T1", 10)
    assert [(row.channel_id, row.state, row.updated_at) for row in outcomes] == [("C1", "posting", NOW)] * 3


async def test_the_rows_of_one_message_are_read_latest_first_and_rewritten_together(
    store: Repositories,
) -> None:
    for key, minutes in (("A", 0), ("B", 5), ("C", 1)):
        await store.deliveries.claim(
            delivery(
                key, message_ts="1.5" if key != "C" else "2.5", updated_at=NOW + timedelta(minutes=minutes)
            )
        )
    rows = await store.deliveries.of_message("C1", "1.5")
    assert [row.idempotency_key for row in rows] == ["B", "A"]
    await store.deliveries.set_payload(rows, {"text": "edited", "blocks": []})
    for key, text in (("A", "edited"), ("B", "edited"), ("C", "hello")):
        found = await store.deliveries.by_key(key)
        assert found is not None and (found.payload or {}).get("text") == text
