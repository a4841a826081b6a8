"""GitHub Copilot through the slash commands: its synced dollars answer every command and the digest."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from bot.domain.money import format_usd
from tests.commands.conftest import World, text_of

pytestmark = pytest.mark.parametrize("copilot_declared", [True])
WEEK = (date(2026, 11, 2), date(2026, 11, 8))
PERIOD = "2026-11-02..2026-11-08"


def _person(world: World, login: str) -> str:
    """The key a seat's figures are stored under: its public email, else its login."""
    return world.copilot.dataset.public_emails().get(login, login).lower()


def test_spend_and_status_include_copilot_in_dollars(synced: World) -> None:
    text = text_of(synced.ask(f"spend {PERIOD} copilot"))
    assert format_usd(Decimal(synced.copilot.dataset.net_cents(*WEEK))) in text, text
    status = text_of(synced.ask("status"))
    assert "*Copilot* _(environment)_" in status, status
    card = status.split("*Copilot* _(environment)_")[1].split(":large_")[0]
    assert "Per-person figures are unavailable" not in card  # a former seat's spend is a normal remainder
    assert "Copilot budget" in card and "$500.00" in card, card


def test_spend_by_user_gives_each_seat_its_net_dollars(synced: World) -> None:
    data = synced.copilot.dataset
    text = text_of(synced.ask(f"spend {PERIOD} copilot by user"))
    for login in data.seat_logins():
        cents = data.net_cents(*WEEK, user=login)
        if cents:
            assert f"{_person(synced, login)}" in text and format_usd(Decimal(cents)) in text, (login, text)
    if data.net_cents(*WEEK, user=data.former_login):
        assert "no longer hold a Copilot seat" in text, text


def test_user_joins_copilot_with_cursor_by_public_email(synced: World) -> None:
    data = synced.copilot.dataset
    public = data.public_emails()
    login = next(login for login in public if data.net_cents(*WEEK, user=login))  # seed 45 has one
    email = public[login].lower()
    week = text_of(synced.ask(f"user {email} {PERIOD}"))
    assert "Copilot" in week and "Cursor" in week, week
    assert format_usd(Decimal(data.net_cents(*WEEK, user=login))) in week, week


def test_top_ranks_copilot_people_by_dollars(synced: World) -> None:
    top = text_of(synced.ask("top 3 7d copilot"))
    assert "went wrong" not in top.lower() and "$" in top, top


def test_credits_shows_the_budget_and_limits_the_hourly_headroom(synced: World) -> None:
    credits = text_of(synced.ask("credits"))
    assert "Copilot budget (usage stops at it)" in credits, credits
    limits = text_of(synced.ask("limits"))
    assert "of 5,000 left" in limits, limits


def test_export_of_copilot_adds_up_to_its_net_amounts(synced: World) -> None:
    answer = text_of(synced.ask(f"export {PERIOD} copilot"))
    assert "Sent you `spend-" in answer, answer
    upload = next(value for value in synced.fake.uploads.values() if value.get("completed"))
    rows = list(csv.DictReader(io.StringIO(upload["content"].decode())))
    assert sum(
        (Decimal(row["amount"]) for row in rows), Decimal(0)
    ) * 100 == synced.copilot.dataset.net_cents(*WEEK)
    assert {row["unit"] for row in rows} == {"USD"}


def test_the_digest_reports_copilot_yesterday(synced: World) -> None:
    from zoneinfo import ZoneInfo

    from bot.services.digest import DigestOptions

    services = synced.bot.services
    assert services is not None
    built = synced.bot.call(
        services.digests.build(
            "T0001", date(2026, 11, 20), DigestOptions(tz=ZoneInfo("UTC")), with_chart=False
        )
    )
    text = text_of(built.message.payload())
    yesterday = date(2026, 11, 19)
    assert "Copilot" in text, text
    assert format_usd(Decimal(synced.copilot.dataset.net_cents(yesterday, yesterday))) in text, text


def _login_without_public_email(world: World) -> str:
    data = world.copilot.dataset
    return next(
        login
        for login in data.seat_logins()
        if login not in data.public_emails() and data.net_cents(*WEEK, user=login)
    )


# Every seat's login mapped to its owner's email, as an operator would (GitHub shows few public emails).
_ALL_SEATS = (
    "chen-kowalski=chen.kowalski@example.com, teo-ionescu=teo.ionescu@example.com, "
    "alex-costa=alex.costa@example.com, ivan-bernard=ivan.bernard@example.com, "
    "valentina-becker=valentina.becker@example.com"
)

# Seed 45's first seat without a public email that spent in the week, mapped to its owner's Cursor email.
ALIASED = {
    "person_aliases": "teo-ionescu=teo.ionescu@example.com, teo@old.example.org=teo.ionescu@example.com"
}


@pytest.mark.parametrize("settings_overrides", [ALIASED])
def test_an_alias_joins_a_github_login_with_the_persons_email_everywhere(synced: World) -> None:
    login = _login_without_public_email(synced)
    email = next(seat.email for seat in synced.copilot.dataset.seats if seat.login == login).lower()
    assert ALIASED["person_aliases"].startswith(f"{login}={email},"), "the seed changed: update ALIASED"
    assert email in {member.email.lower() for member in synced.cursor.dataset.members}
    cents = format_usd(Decimal(synced.copilot.dataset.net_cents(*WEEK, user=login)))
    week = text_of(synced.ask(f"user {email} {PERIOD}"))
    assert "Copilot" in week and "Cursor" in week and cents in week, week
    # Asking by a second email of theirs answers for the same person.
    assert text_of(synced.ask(f"user teo@old.example.org {PERIOD}")) == week
    by_user = text_of(synced.ask(f"spend {PERIOD} copilot by user"))
    assert email in by_user and login not in by_user, by_user


@pytest.mark.parametrize("settings_overrides", [{"person_aliases": _ALL_SEATS}])
def test_people_lists_who_pays_for_cursor_and_copilot_with_the_dollars_at_stake(synced: World) -> None:
    from tests.commands.conftest import local_bounds

    cursor, copilot = synced.cursor.dataset, synced.copilot.dataset
    assert ", ".join(f"{seat.login}={seat.email}" for seat in copilot.seats) == _ALL_SEATS, "seed changed"
    start, end = local_bounds(*WEEK, "America/Los_Angeles")  # the admin's zone; Copilot counts UTC days
    expected: dict[str, Decimal] = {}
    for seat in copilot.seats:
        on_copilot = Decimal(copilot.net_cents(*WEEK, user=seat.login))
        on_cursor = cursor.total_cost(start, end, seat.email)
        if on_copilot and on_cursor:
            expected[seat.email.lower()] = min(on_copilot, on_cursor)  # all but the main dollar tool
    assert expected, "the seed gives nobody both tools this week"
    text = text_of(synced.ask(f"people {PERIOD}"))
    lines = {
        line.split(" — ")[0].split("(")[-1].rstrip(")"): line
        for line in text.splitlines()
        if " at stake*" in line
    }
    for email, cents in expected.items():
        assert email in lines, (email, text)
        assert lines[email].endswith(f"*{format_usd(cents)} at stake*"), lines[email]
    assert f"*{format_usd(sum(expected.values(), Decimal(0)))}* at stake in all" in text, text


def test_people_is_refused_to_a_reader_who_may_not_see_people(synced: World) -> None:
    from tests.commands.conftest import MEMBER

    text = text_of(synced.ask(f"people {PERIOD}", user=MEMBER))
    assert "at stake" not in text and text == text_of(synced.ask("top", user=MEMBER)), text  # top's refusal


def test_people_with_a_wrong_word_gets_its_usage(synced: World) -> None:
    text = text_of(synced.ask("people by user"))
    assert "Usage: `/spend people [period] [source]`" in text, text
