"""The subscription commands end to end: signed slash commands → the bot over HTTP → answers read where
Slack shows them (the fake Slack's response_url posts) and posts read in the fake Slack's channels.

Figures in posted digests and samples are computed here from the simulators' own data; ids, times and
descriptions are checked against what the bot stored.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import text as sql
from sqlmodel import SQLModel, col, select

from bot.domain.money import format_credits, format_usd
from bot.messages.blocks import utc_when
from bot.services.container import Services
from bot.store.models import AuditEntry, Delivery, Subscription
from bot.vendors import LimiterRegistry
from tests.commands.conftest import ADMIN, MEMBER, SCALE, World, local_bounds, text_of
from tests.support.bot import BotThread

TEAM = "T0001"
HERE = "C0001"
THERE = "C0002"
YESTERDAY = date(2026, 11, 19)  # the world's clock starts on Friday 2026-11-20 15:37 UTC
REFUSAL = ":lock: Sorry, only a workspace admin or owner can use `{name}`. Please ask one of them"
SUBSCRIBE_DIGEST_FORM = (
    "Usage: `/spend subscribe digest [daily|weekly|mon,wed,…] [at HH:MM=09:00] [tz Area/City] [no-names]`\n"
    "Example: `/spend subscribe digest weekly at 08:30 tz Europe/Paris`"
)
SUBSCRIBE_BUDGET_FORM = (
    "Usage: `/spend subscribe budget &lt;amount&gt; [source]`\n"
    "Example: `/spend subscribe budget $5,000 cursor`"
)
SNOOZE_FORM = (
    "Usage: `/spend snooze &lt;id&gt; &lt;30m|4h|2d|until-resolved&gt;`\nExample: `/spend snooze 12 4h`"
)
UNSUBSCRIBE_FORM = "Usage: `/spend unsubscribe &lt;id|kind&gt;`\nExample: `/spend unsubscribe 12`"

_TRIGGERS = itertools.count(1)


# ---------------------------------------------------------------------------------------------- helpers


def say(
    world: World, words: str, *, user: str = ADMIN, channel: str = HERE, channel_name: str | None = None
) -> dict[str, Any]:
    """Send ``/spend words`` signed, as Slack would (a fresh trigger id each time); return the answer:
    the acknowledgement's, or the one posted to the response URL."""
    response_url = world.fake.new_response_url()
    hook = response_url.rsplit("/", 1)[1]
    body, headers = world.signed.command(
        words,
        user_id=user,
        channel_id=channel,
        channel_name=channel_name,
        response_url=response_url,
        trigger_id=f"trigger.subscriptions.{next(_TRIGGERS)}",
    )
    response = httpx.post(f"{world.bot.url}/slack/events", content=body, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    if response.content and response.json().get("text"):
        answer = dict(response.json())  # text that does not parse is answered in the acknowledgement
    else:

        async def answered() -> list[dict[str, Any]]:
            return await world.fake.wait_for(
                lambda fake: [post for post in fake.responses if post["hook"] == hook], timeout=20
            )

        (answer,) = asyncio.run(answered())
    assert answer.get("response_type") == "ephemeral", answer
    return dict(answer)


def said(
    world: World, words: str, *, user: str = ADMIN, channel: str = HERE, channel_name: str | None = None
) -> str:
    """What a person reads in the answer: its text, then its blocks (once, when they repeat the text)."""
    answer = say(world, words, user=user, channel=channel, channel_name=channel_name)
    head = str(answer.get("text") or "")
    body = text_of({"blocks": answer.get("blocks") or []}).lstrip("\n")
    if not body:
        return head
    return body if body.startswith(head) else f"{head}\n{body}"


def services_of(world: World) -> Services:
    assert world.bot.services is not None
    return world.bot.services


def stored(world: World) -> dict[int, Subscription]:
    """Every subscription of the workspace as the bot stored it, by id."""
    rows = world.bot.call(services_of(world).subscriptions.listing(TEAM, None))
    return {row.id: row for row in rows if row.id is not None}


def audit_entries(world: World) -> list[AuditEntry]:
    async def read() -> list[AuditEntry]:
        async with services_of(world).db.session() as session:
            result = await session.exec(
                select(AuditEntry).where(AuditEntry.team_id == TEAM).order_by(col(AuditEntry.id))
            )
            return list(result.all())

    return world.bot.call(read())


def deliveries(world: World) -> list[Delivery]:
    return world.bot.call(services_of(world).ledger.recent(TEAM, limit=50))


def snapshot(world: World) -> dict[str, list[str]]:
    """Every row of every table but the audit log: what "nothing changed" is checked against."""

    async def read() -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        async with services_of(world).db.engine.connect() as connection:
            for table in SQLModel.metadata.sorted_tables:
                if table.name in {"audit_entries", "alembic_version"}:
                    continue
                result = await connection.execute(sql(f'SELECT * FROM "{table.name}"'))  # noqa: S608
                found[table.name] = sorted(repr(tuple(row)) for row in result.all())
        return found

    return world.bot.call(read())


def subscribed_id(answer: str) -> int:
    """The id a subscribe confirmation gives (``Subscribed this channel: *#12* …``)."""
    match = re.search(r"Subscribed this channel: \*#(\d+)\*", answer)
    assert match is not None, answer
    return int(match.group(1))


def line_of(listing: str, subscription_id: int) -> str:
    """The line of a ``subscriptions`` answer about one subscription."""
    found = [line for line in listing.splitlines() if line.startswith(f"*#{subscription_id}* ")]
    assert found, (subscription_id, listing)
    return found[0]


def cursor_day_total(world: World, day: date, tz: str, email: str | None = None) -> Decimal:
    start, end = local_bounds(day, day, tz)
    return world.cursor.dataset.total_cost(start, end, email)


def windsurf_total(world: World, first: date, last: date) -> Decimal:
    return sum(world.windsurf.dataset.credits_by_day(first, last).values(), Decimal(0))


def top_level(world: World, channel: str) -> list[Any]:
    return [message for message in world.fake.channel_messages(channel) if message.thread_ts is None]


def message_text(message: Any) -> str:
    return text_of({"text": message.text, "blocks": message.blocks})


# ---------------------------------------------------------------------------------------------- subscribe


def test_an_admin_subscribes_a_channel_to_each_kind_and_the_answers_say_what_was_set_up(
    world: World,
) -> None:
    world.fake.add_channel(HERE)
    world.fake.add_channel(THERE)
    cases = [
        # (command, what the confirmation and the listing say about it)
        (
            "subscribe digest weekly at 08:30 tz Europe/Paris no-names",
            "digest weekly at 08:30 Europe/Paris no-names",
        ),
        (
            "subscribe digest mon,wed,fri 7am tz America/New_York",
            "digest mon,wed,fri at 07:00 America/New_York",
        ),
        ("subscribe credit-low below 20%", "credit-low below 20%"),
        ("subscribe credit-low below 500", "credit-low below 500"),
        ("subscribe budget $5,000 cursor", "budget $5,000.00 cursor"),
        ("subscribe budget 20000 windsurf", "budget 20,000 credits windsurf"),
        ("subscribe rate-limit below 15%", "rate-limit below 15%"),
        ("subscribe rate-limit", "rate-limit below 10%"),
        ("subscribe health", "health"),
    ]
    ids: dict[str, int] = {}
    for command, described in cases:
        answer = said(world, command)
        subscription_id = subscribed_id(answer)
        assert f":white_check_mark: Subscribed this channel: *#{subscription_id}* {described}." in answer
        assert f"`/spend unsubscribe {subscription_id}` removes it." in answer
        ids[described] = subscription_id
    assert sorted(ids.values()) == list(range(1, len(cases) + 1))

    first_paris = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)  # Monday 08:30 in Paris (CET)
    first_new_york = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # Monday 07:00 in New York (EST)
    rows = stored(world)
    paris = rows[ids["digest weekly at 08:30 Europe/Paris no-names"]]
    new_york = rows[ids["digest mon,wed,fri at 07:00 America/New_York"]]
    assert (paris.next_due_at, new_york.next_due_at) == (first_paris, first_new_york)
    assert paris.params == {
        "weekdays": [0],
        "at": "08:30",
        "tz": "Europe/Paris",
        "no_names": True,
        "cadence": "weekly",
    }
    assert new_york.params["weekdays"] == [0, 2, 4]
    assert rows[ids["budget $5,000.00 cursor"]].params == {
        "source": {"vendor": "cursor", "connection": None},
        "amount": "500000",
        "unit": "usd_cents",
    }
    assert rows[ids["budget 20,000 credits windsurf"]].params["unit"] == "credits"
    assert rows[ids["rate-limit below 10%"]].params == {"below_percent": "10"}
    assert {row.channel_id for row in rows.values()} == {HERE}
    assert {row.created_by for row in rows.values()} == {ADMIN}

    # The confirmation of a digest says when the first one comes, as the channel reads its clock.
    third = said(world, "subscribe digest daily at 18:00 tz Asia/Tokyo")
    assert "*#10* digest daily at 18:00 Asia/Tokyo." in third
    assert "First digest: Sat Nov 21 18:00 Asia/Tokyo (Nov 21 09:00 UTC)." in third

    # The same subscription twice is refused, naming the one there is; nothing is added.
    again = said(world, "subscribe health")
    assert again == f"This channel already has that subscription (#{ids['health']}: health)."
    assert len(stored(world)) == 10

    elsewhere = said(world, "subscribe digest", channel=THERE)
    there_id = subscribed_id(elsewhere)
    assert f"*#{there_id}* digest daily at 09:00 UTC." in elsewhere
    assert "First digest: Sat Nov 21 09:00 UTC." in elsewhere  # UTC needs no second clock

    # Anyone may list: this channel's, then every channel's with the channel named.
    listing = said(world, "subscriptions", user=MEMBER)
    assert "Subscriptions in this channel: 10" in listing
    for described, subscription_id in ids.items():
        assert described in line_of(listing, subscription_id)
    assert "· next Nov 23 07:30 UTC" in line_of(listing, ids["digest weekly at 08:30 Europe/Paris no-names"])
    assert "· next Nov 23 12:00 UTC" in line_of(listing, ids["digest mon,wed,fri at 07:00 America/New_York"])
    assert f"*#{there_id}*" not in listing

    everywhere = said(world, "subscriptions all", user=MEMBER)
    assert "Subscriptions in every channel: 11" in everywhere
    for described, subscription_id in ids.items():
        line = line_of(everywhere, subscription_id)
        assert described in line and f"<#{HERE}>" in line
    assert f"<#{THERE}>" in line_of(everywhere, there_id)
    assert "digest daily at 09:00 UTC" in line_of(everywhere, there_id)
    assert said(world, "subscriptions", channel=THERE).count("*#") == 1


# ---------------------------------------------------------------------------------------------- rights


def test_a_member_is_refused_every_subscription_change_politely_and_nothing_changes(world: World) -> None:
    world.fake.add_channel(HERE)
    digest_id = subscribed_id(said(world, "subscribe digest at 08:00"))
    credit_id = subscribed_id(said(world, "subscribe credit-low below 20%"))
    before = snapshot(world)
    world.fake.reset_records()
    attempts = [
        ("subscribe digest weekly", "subscribe digest"),
        ("subscribe credit-low below 10%", "subscribe credit-low"),
        ("subscribe budget $500 cursor", "subscribe budget"),
        ("subscribe rate-limit below 5%", "subscribe rate-limit"),
        ("subscribe health", "subscribe health"),
        (f"unsubscribe {digest_id}", "unsubscribe"),
        ("unsubscribe credit-low", "unsubscribe"),
        (f"snooze {credit_id} 4h", "snooze"),
        (f"snooze {credit_id} until-resolved", "snooze"),
        ("digest now", "digest now"),
        ("test", "test"),
        ("deliveries", "deliveries"),
        ("audit", "audit"),
    ]
    for command, name in attempts:
        answer = said(world, command, user=MEMBER)
        assert answer.startswith(REFUSAL.format(name=name)), (command, answer)
        assert "Traceback" not in answer and "Usage:" not in answer
    assert snapshot(world) == before
    assert world.fake.calls("chat.postMessage") == []
    assert world.fake.calls("files.getUploadURLExternal") == []
    assert world.fake.all_messages() == []
    refused = [(entry.action, entry.user_id) for entry in audit_entries(world) if entry.outcome == "refused"]
    assert refused == [(name, MEMBER) for _, name in attempts]
    # Listing stays open to everyone, and shows the admin's subscriptions untouched.
    listing = said(world, "subscriptions", user=MEMBER)
    assert "digest daily at 08:00 UTC" in line_of(listing, digest_id)
    assert "credit-low below 20%" in line_of(listing, credit_id)
    assert "snoozed" not in listing


def test_a_direct_message_or_group_dm_cannot_be_subscribed_and_the_answer_says_where_to_go(
    world: World,
) -> None:
    """The bot cannot read a DM's history back (no im:history), so it would never settle a post there."""
    world.fake.add_channel("GMPIM0001", name="mpdm-admin--member-1", is_mpim=True)
    for channel, name in (
        ("D0ADMIN01", None),  # Slack names a DM "directmessage"
        ("GMPIM0001", "mpdm-admin--member-1"),
        ("GMPIM0001", "privategroup"),  # named like a private channel: conversations.info says is_mpim
    ):
        answer = said(world, "subscribe digest daily", channel=channel, channel_name=name)
        assert answer == (
            "Subscriptions live in channels, not in direct messages. Invite me to a channel "
            "(`/invite @spendbot`) and subscribe there, for example `/spend subscribe digest daily at 09:00`."
        ), (channel, name)
    assert stored(world) == {}


# ---------------------------------------------------------------------------------------------- wrong input


def test_wrong_input_says_what_was_wrong_and_the_right_form_never_a_trace(world: World) -> None:
    world.fake.add_channel(HERE)
    digest_id = subscribed_id(said(world, "subscribe digest"))
    credit_id = subscribed_id(said(world, "subscribe credit-low"))
    before = snapshot(world)
    cases = [
        ("subscribe digest at 25:00", "`25:00` is not a time of day", SUBSCRIBE_DIGEST_FORM),
        ("subscribe digest tz Mars/Base", "`Mars/Base` is not a time zone", SUBSCRIBE_DIGEST_FORM),
        ("subscribe budget", "`subscribe budget` needs the budget per billing cycle", SUBSCRIBE_BUDGET_FORM),
        ("subscribe budget -5", "`-5`: the budget must be more than zero.", SUBSCRIBE_BUDGET_FORM),
        (
            "subscribe budget 500 nosuch",
            "There is no connection named `nosuch` in this workspace.",
            SUBSCRIBE_BUDGET_FORM,
        ),
        ("subscribe budget 500 rest", "A REST connection reports a tracked figure", SUBSCRIBE_BUDGET_FORM),
        ("snooze 999 4h", "There is no subscription #999 in this workspace.", SNOOZE_FORM),
        (f"snooze {credit_id}", "needs how long", SNOOZE_FORM),
        (f"snooze {digest_id} 4h", f"#{digest_id} is a digest, and digests cannot be snoozed", SNOOZE_FORM),
        ("unsubscribe 999", "There is no subscription #999 in this workspace.", UNSUBSCRIBE_FORM),
        ("unsubscribe budget", "This channel has no `budget` subscription.", UNSUBSCRIBE_FORM),
        ("unsubscribe everything", "`everything` is neither a subscription id", UNSUBSCRIBE_FORM),
    ]
    for command, problem, form in cases:
        answer = said(world, command)
        first_line, *rest = answer.split("\n")
        assert problem in first_line, (command, answer)
        assert "\n".join(rest) == form, (command, answer)
        assert "Traceback" not in answer and "Something went wrong" not in answer
    assert snapshot(world) == before
    assert not [entry for entry in audit_entries(world) if entry.action in {"snooze", "unsubscribe"}]

    # A channel the bot is not in: said plainly, with how to fix it, and nothing stored.
    world.fake.add_channel("C0003", is_member=False)
    answer = said(world, "subscribe health", channel="C0003")
    assert answer == "I am not in this channel yet. Invite me (`/invite @spendbot`), then subscribe again."
    assert snapshot(world) == before


# ---------------------------------------------------------------------------------------------- posts


def test_digest_now_posts_one_digest_with_the_figures_and_deliveries_lists_it(synced: World) -> None:
    world = synced
    world.fake.add_channel(HERE)
    world.fake.add_channel(THERE)
    subscription_id = subscribed_id(said(world, "subscribe digest tz America/New_York"))
    subscribed_id(said(world, "subscribe budget $300 cursor"))

    answer = said(world, "digest now")
    assert answer == "Posted today's digest in this channel."
    (posted,) = top_level(world, HERE)
    assert top_level(world, THERE) == []
    # Today is Nov 20 in New York: the digest reports Thursday Nov 19, a New York day for Cursor,
    # a UTC day for Windsurf.
    cursor_total = cursor_day_total(world, YESTERDAY, "America/New_York")
    windsurf_credits = windsurf_total(world, YESTERDAY, YESTERDAY)
    assert cursor_total > 0 and windsurf_credits > 0
    assert posted.text == (
        f"Daily digest Thu Nov 19: cursor {format_usd(cursor_total)}, "
        f"windsurf {format_credits(windsurf_credits)}"
    )
    body = message_text(posted)
    assert "Daily digest · Thu Nov 19" in body and "[TEST]" not in body and "(late)" not in body
    assert f"*{format_usd(cursor_total)}* ·" in body
    people = {
        member.email: cursor_day_total(world, YESTERDAY, "America/New_York", member.email)
        for member in world.cursor.dataset.members
    }
    best_amount, best_email = sorted(((-amount, email) for email, amount in people.items()))[0]
    assert f"1. {best_email} — {format_usd(-best_amount)}" in body
    cycle = sum((world.cursor.dataset.cycle_spend(m.email) for m in world.cursor.dataset.members), Decimal(0))
    assert f"Cursor: {format_usd(cycle)} so far" in body
    assert "of the $300.00 budget" in body
    assert "times in America/New_York" in body
    assert posted.metadata is not None and posted.metadata["event_type"] == "spendbot_delivery"

    (delivery,) = deliveries(world)
    assert (delivery.kind, delivery.period, delivery.channel_id, delivery.state) == (
        "digest-now",
        "2026-11-20",
        HERE,
        "sent",
    )
    assert delivery.subscription_id == subscription_id and delivery.message_ts == posted.ts
    assert delivery.idempotency_key in posted.metadata["event_payload"]["keys"]
    listed = said(world, "deliveries")
    assert (
        f":white_check_mark: {utc_when(delivery.created_at)} · digest-now 2026-11-20 · <#{HERE}> · sent"
        in listed
    )
    assert "Last 1 deliveries" in listed

    # Asked again (a new command), it posts again: `digest now` is outside the schedule.
    said(world, "digest now")
    assert len(top_level(world, HERE)) == 2
    assert said(world, "deliveries").count("digest-now 2026-11-20") == 2


def test_test_posts_one_sample_per_subscribed_kind_each_marked_as_a_test(synced: World) -> None:
    world = synced
    world.fake.add_channel(HERE)
    for command in (
        "subscribe digest weekly tz Europe/Paris",
        "subscribe digest daily",  # a second digest: still one digest sample
        "subscribe credit-low below 20%",
        "subscribe budget $5,000 cursor",
        "subscribe budget 20000 windsurf",  # a second budget: still one budget sample
        "subscribe rate-limit",
        "subscribe health",
    ):
        subscribed_id(said(world, command))

    answer = said(world, "test")
    assert answer == (
        "Posted 5 test messages here, one per kind subscribed "
        "(digest, credit-low, budget, rate-limit, health), each marked [TEST]."
    )
    posts = top_level(world, HERE)
    assert len(posts) == 5
    assert all("[TEST]" in post.text for post in posts)
    digest, credit, budget, rate, health = (message_text(post) for post in posts)

    # The digest sample is the first digest subscription's: weekly, in Paris time.
    first, last = YESTERDAY - timedelta(days=6), YESTERDAY
    start, end = local_bounds(first, last, "Europe/Paris")
    week_total = world.cursor.dataset.total_cost(start, end)
    assert posts[0].text.startswith(
        f"Weekly digest 2026-11-13..2026-11-19 [TEST]: cursor {format_usd(week_total)}"
    )
    assert f"windsurf {format_credits(windsurf_total(world, first, last))}" in posts[0].text
    assert "times in Europe/Paris" in digest

    cycle = sum((world.cursor.dataset.cycle_spend(m.email) for m in world.cursor.dataset.members), Decimal(0))
    assert posts[2].text.startswith("[TEST] Budget $5,000.00 (cursor)")
    assert f"{format_usd(cycle)} of $5,000.00" in budget
    assert "20,000 credits" not in budget  # the second budget gets no sample of its own
    assert "Windsurf: credits running low" in credit
    assert "REST: rate-limit headroom low" in rate
    assert "cannot fetch data" in health
    for sample in (credit, budget, rate, health):
        assert sample.startswith("[TEST]") and "This is a test: nothing is wrong." in sample

    # The ledger keeps them as tests, one per kind, and `deliveries` names each.
    tests = [row for row in deliveries(world) if row.kind == "test"]
    assert sorted(row.period for row in tests) == sorted(
        ["digest", "credit-low", "budget", "rate-limit", "health"]
    )
    assert all(row.state == "sent" for row in tests)
    listed = said(world, "deliveries")
    for kind in ("digest", "credit-low", "budget", "rate-limit", "health"):
        assert f"test {kind} · <#{HERE}> · sent" in listed

    # A channel with nothing to test says so instead of posting.
    world.fake.add_channel(THERE)
    assert said(world, "test", channel=THERE).startswith("This channel has no subscription to test.")
    assert top_level(world, THERE) == []


# ---------------------------------------------------------------------------------------------- changes


def test_unsubscribe_by_id_and_by_kind_snooze_and_the_audit_trail(world: World) -> None:
    world.fake.add_channel(HERE)
    digest_id = subscribed_id(said(world, "subscribe digest at 07:45"))
    credit_id = subscribed_id(said(world, "subscribe credit-low below 25%"))
    low_id = subscribed_id(said(world, "subscribe rate-limit"))
    lower_id = subscribed_id(said(world, "subscribe rate-limit below 5%"))
    health_id = subscribed_id(said(world, "subscribe health"))

    asked_at = world.cursor.now
    snoozed = said(world, f"snooze {credit_id} 4h")
    answered_at = world.cursor.now
    until = stored(world)[credit_id].snoozed_until
    assert until is not None and asked_at + timedelta(hours=4) <= until <= answered_at + timedelta(hours=4)
    assert snoozed == f"Subscription #{credit_id} snoozed until {utc_when(until)} (recoveries still post)."
    # Nothing fires: nothing is muted, and the answer says so (a later alert is a new one, and posts).
    muted = said(world, f"snooze {health_id} until-resolved")
    assert muted == (
        f"Subscription #{health_id} has no alert firing, so nothing was muted: `until-resolved` mutes "
        "the alerts firing now until each resolves, and a new alert posts. To hold back the next ones "
        f"too, snooze it for a while: `/spend snooze {health_id} 4h`."
    )
    assert not stored(world)[health_id].muted_until_resolved
    listing = said(world, "subscriptions")
    assert f"· snoozed until {utc_when(until)}" in line_of(listing, credit_id)

    assert said(world, f"unsubscribe {digest_id}") == f"Removed #{digest_id} digest daily at 07:45 UTC."
    assert said(world, "unsubscribe rate-limit") == (
        f"Removed #{low_id} rate-limit below 10%, #{lower_id} rate-limit below 5%."
    )
    assert set(stored(world)) == {credit_id, health_id}
    listing = said(world, "subscriptions")
    assert "Subscriptions in this channel: 2" in listing
    for gone in (digest_id, low_id, lower_id):
        assert f"*#{gone}*" not in listing
    assert "credit-low below 25%" in line_of(listing, credit_id)
    assert said(world, f"unsubscribe {digest_id}").startswith(f"There is no subscription #{digest_id}")

    log = said(world, "audit")
    expected = [  # newest first
        f"`unsubscribe` `#{lower_id} rate-limit in {HERE}` — :white_check_mark: ok (rate-limit below 5%)",
        f"`unsubscribe` `#{low_id} rate-limit in {HERE}` — :white_check_mark: ok (rate-limit below 10%)",
        f"`unsubscribe` `#{digest_id} digest in {HERE}` — :white_check_mark: ok (digest daily at 07:45 UTC)",
        f"`snooze` `#{health_id} until resolved (0 firing)` — :white_check_mark: ok",
        f"`snooze` `#{credit_id} until {until:%Y-%m-%d %H:%M} UTC` — :white_check_mark: ok",
        f"`subscribe` `#{health_id} health in {HERE}` — :white_check_mark: ok (health)",
        f"`subscribe` `#{lower_id} rate-limit in {HERE}` — :white_check_mark: ok (rate-limit below 5%)",
        f"`subscribe` `#{credit_id} credit-low in {HERE}` — :white_check_mark: ok (credit-low below 25%)",
        f"`subscribe` `#{digest_id} digest in {HERE}` — :white_check_mark: ok (digest daily at 07:45 UTC)",
    ]
    positions = [log.find(f"<@{ADMIN}> {line}") for line in expected]
    assert -1 not in positions, [line for line, at in zip(expected, positions, strict=True) if at < 0]
    assert positions == sorted(positions)


# ---------------------------------------------------------------------------------------------- restart


def test_subscriptions_survive_a_restart_on_the_same_database(world: World) -> None:
    world.fake.add_channel(HERE)
    world.fake.add_channel(THERE)
    digest_id = subscribed_id(said(world, "subscribe digest weekly at 08:30 tz Europe/Paris"))
    budget_id = subscribed_id(said(world, "subscribe budget $5,000 cursor"))
    health_id = subscribed_id(said(world, "subscribe health", channel=THERE))
    said(world, f"snooze {budget_id} 2d")
    before = said(world, "subscriptions all")
    rows_before = stored(world)

    world.bot.stop()

    def services(settings: Any) -> Services:
        return Services.create(
            settings, clock=lambda: world.cursor.now, limiters=LimiterRegistry(time_scale=SCALE)
        )

    with BotThread(world.bot.settings, services_factory=services) as restarted:
        world.bot = restarted
        after = said(world, "subscriptions all")
        assert after == before
        assert "digest weekly at 08:30 Europe/Paris" in line_of(after, digest_id)
        assert "· next Nov 23 07:30 UTC" in line_of(after, digest_id)
        assert "budget $5,000.00 cursor" in line_of(after, budget_id)
        assert "snoozed until" in line_of(after, budget_id)
        assert f"<#{THERE}>" in line_of(after, health_id)
        assert {
            key: (row.kind, row.channel_id, row.params, row.next_due_at, row.snoozed_until)
            for key, row in stored(world).items()
        } == {
            key: (row.kind, row.channel_id, row.params, row.next_due_at, row.snoozed_until)
            for key, row in rows_before.items()
        }
        # The restarted bot goes on from there: a new id, and the old ones can be removed.
        assert subscribed_id(said(world, "subscribe rate-limit")) == health_id + 1
        assert said(world, f"unsubscribe {budget_id}") == f"Removed #{budget_id} budget $5,000.00 cursor."
        assert set(stored(world)) == {digest_id, health_id, health_id + 1}
