"""``idle``: unused seats of Cursor and Copilot, judged from the stored members and history, priced."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from bot.domain.money import format_usd
from tests.commands.conftest import MEMBER, NOW, World, text_of

pytestmark = [
    pytest.mark.parametrize("copilot_declared", [True]),
    # Seed 49 gives a seat used until Sep 27 and none pending cancellation (seed 45's idle seat is).
    pytest.mark.parametrize("copilot_options", [{"seed": 49}]),
    pytest.mark.parametrize("settings_overrides", [{"cursor_seat_price": 40, "copilot_seat_price": 19}]),
]
TODAY = date(2026, 11, 20)  # the admin's day in Los Angeles at NOW
CUTOFF = TODAY - timedelta(days=29)  # a seat used on this day or later is not idle for 30 days


def _table(answer: dict[str, object]) -> list[list[str]]:
    (block,) = [block for block in answer["blocks"] if block["type"] == "table"]  # type: ignore[index,union-attr]
    return [[cell["text"] for cell in row] for row in block["rows"]]


def test_idle_copilot_lists_the_seats_unused_for_30_days_with_their_price(synced: World) -> None:
    dataset = synced.copilot.dataset
    emails = dataset.public_emails()
    expected = set()
    for login in dataset.seat_logins():
        activity = dataset.last_activity(login)
        if activity is None or activity.date() < CUTOFF:
            expected.add(emails.get(login, login).lower())
    assert expected, "the simulator holds idle seats"
    answer = synced.ask("idle copilot")
    rows = _table(answer)
    assert rows[0] == ["Person", "Tool", "Last use", "Idle", "A month"]
    listed = {row[0].split(" (")[-1].rstrip(")") for row in rows[1:]}
    assert listed == expected, (listed, expected)
    assert all(row[4] == "$19.00" for row in rows[1:])
    (login,) = [login for login in dataset.seat_logins() if emails.get(login, login).lower() in expected]
    last = dataset.last_activity(login)
    assert last is not None
    assert (
        rows[1][2] == f"{last:%b} {last.day}, {last.year}"
        and rows[1][3] == f"{(TODAY - last.date()).days} days"
    )
    text = text_of(answer)
    assert f"{len(expected)} seat" in text and format_usd(Decimal(1900 * len(expected))) in text, text


def test_idle_cursor_counts_members_without_events_and_the_window_is_asked_for(synced: World) -> None:
    dataset = synced.cursor.dataset
    history_start = datetime(2026, 9, 1, tzinfo=UTC)

    def idle_for(days: int) -> set[str]:
        cutoff = TODAY - timedelta(days=days - 1)
        found = set()
        for member in dataset.members:
            if member.removed_on is not None:
                continue
            used = {event.timestamp.date() for event in dataset.events(history_start, NOW, member.email)}
            if not any(day >= cutoff for day in used):
                found.add(member.email.lower())
        return found

    for days in (30, 1):
        answer = synced.ask(f"idle cursor {days}d")
        rows = _table(answer) if idle_for(days) else [[]]
        assert {row[0].split(" (")[-1].rstrip(")") for row in rows[1:]} == idle_for(days), (days, rows)
        assert f"no use for {days} days" in text_of(answer)
    assert idle_for(1), "a one-day window finds someone idle"


def test_idle_is_for_admins_and_refuses_vendors_without_seats(synced: World) -> None:
    refused = text_of(synced.ask("idle", user=MEMBER))
    assert "admins" in refused and "@" not in refused.split("admins")[0]
    wrong = text_of(synced.ask("idle rest"))
    assert "Nothing here is sold by the seat: `idle` lists the seats of Cursor, Windsurf, Copilot." in wrong
    bad = text_of(synced.ask("idle 0"))
    assert "from 1 to 365" in bad and "Usage: `/spend idle [source] [days=30]`" in bad, bad


def test_the_weekly_digest_has_one_idle_line_whose_button_answers_the_clicker(synced: World) -> None:
    from zoneinfo import ZoneInfo

    from bot.services.digest import DigestOptions

    services = synced.bot.services
    assert services is not None
    weekly = DigestOptions(tz=ZoneInfo("America/Los_Angeles"), weekly=True)
    built = synced.bot.call(
        services.digests.build("T0001", TODAY + timedelta(days=1), weekly, with_chart=False)
    )
    payload = built.message.payload()
    (line,) = [
        block for block in payload["blocks"] if "*Idle seats*" in str(block.get("text", {}).get("text"))
    ]
    assert "1 seat unused for 30 days, *$19.00* a month" in line["text"]["text"], line
    assert line["accessory"]["action_id"] == "open_answer" and line["accessory"]["value"] == "idle"
    daily = DigestOptions(tz=ZoneInfo("America/Los_Angeles"))
    built = synced.bot.call(
        services.digests.build("T0001", TODAY + timedelta(days=1), daily, with_chart=False)
    )
    assert "Idle seats" not in text_of(built.message.payload())
    posts = synced.click("open_answer", "idle")
    (answer,) = posts
    assert answer["response_type"] == "ephemeral" and answer.get("replace_original") is False
    assert "Idle seats · no use for 30 days" in text_of(answer)
    refused = synced.click("open_answer", "idle", user=MEMBER)
    assert "admins" in text_of(refused[0]) and "table" not in str(refused[0].get("blocks"))
