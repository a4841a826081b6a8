"""Anthropic through the slash commands: its synced figures answer ``spend``, ``status`` and ``user``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.domain.money import format_tokens, format_usd
from tests.commands.conftest import World, text_of

pytestmark = pytest.mark.parametrize("anthropic_declared", [True])


def test_spend_and_status_include_anthropic(synced: World) -> None:
    first, last = date(2026, 11, 2), date(2026, 11, 8)
    text = text_of(synced.ask("spend 2026-11-02..2026-11-08 anthropic"))
    assert format_usd(synced.anthropic.dataset.total_cents(first, last)) in text, text
    assert "Windsurf" not in text
    status = text_of(synced.ask("status"))
    assert "*Anthropic* _(environment)_" in status, status
    assert "429" not in status  # the sync kept the simulator's pace
    card = status.split("*Anthropic* _(environment)_")[1].split(":large_")[0]
    assert "Per-person figures are unavailable" not in card  # its money is the organisation's by nature


def test_user_shows_claude_code_sessions_beside_cursor(synced: World) -> None:
    email = synced.anthropic.dataset.users[0].email
    assert email in {member.email for member in synced.cursor.dataset.members}
    week = text_of(synced.ask(f"user {email} 2026-11-02..2026-11-08"))
    assert "Anthropic" in week and "Cursor" in week, week
    sessions = synced.anthropic.dataset.sessions_by_email(date(2026, 11, 2), date(2026, 11, 8))[email]
    assert f"*{sessions:,} requests*" in week, week  # Claude Code sessions are its per-person count
    assert "— $0.00" not in week


def test_spend_by_user_says_anthropic_money_is_the_organisations(synced: World) -> None:
    text = text_of(synced.ask("spend 2026-11-02..2026-11-08 by user anthropic"))
    assert "reports its spend for the whole organisation only" in text, text
    assert "did not add up" not in text


def test_the_digest_reports_anthropic_yesterday(synced: World) -> None:
    from zoneinfo import ZoneInfo

    from bot.services.digest import DigestOptions

    services = synced.bot.services
    assert services is not None
    options = DigestOptions(tz=ZoneInfo("UTC"))
    built = synced.bot.call(services.digests.build("T0001", date(2026, 11, 20), options, with_chart=False))
    text = text_of(built.message.payload())
    yesterday = date(2026, 11, 19)
    assert "Anthropic" in text, text
    assert format_usd(synced.anthropic.dataset.total_cents(yesterday, yesterday)) in text, text


def test_export_of_anthropic_adds_up_to_its_costs(synced: World) -> None:
    import csv
    import io
    from decimal import Decimal

    answer = text_of(synced.ask("export 2026-11-02..2026-11-08 anthropic"))
    assert "Sent you `spend-" in answer, answer
    upload = next(value for value in synced.fake.uploads.values() if value.get("completed"))
    rows = list(csv.DictReader(io.StringIO(upload["content"].decode())))
    total = sum((Decimal(row["amount"]) for row in rows), Decimal(0))
    assert total * 100 == synced.anthropic.dataset.total_cents(date(2026, 11, 2), date(2026, 11, 8))
    assert {row["unit"] for row in rows} == {"USD"}
    records = synced.anthropic.dataset.all_records(date(2026, 11, 2), date(2026, 11, 8))
    assert sum(int(row["tokens"]) for row in rows) == sum(r.input_tokens + r.output_tokens for r in records)


def test_spend_by_model_shows_each_models_dollars_and_tokens(synced: World) -> None:
    first, last = date(2026, 11, 2), date(2026, 11, 8)
    tokens: dict[str, int] = {}
    cents: dict[str, Decimal] = {}
    for record in synced.anthropic.dataset.all_records(first, last):  # computed here, from the records
        tokens[record.model] = tokens.get(record.model, 0) + record.input_tokens + record.output_tokens
        cents[record.model] = cents.get(record.model, Decimal(0)) + sum(c for _, _, c in record.items())
    text = text_of(synced.ask("spend 2026-11-02..2026-11-08 by model anthropic"))
    lines = {line.split(" — ")[0].split(". ", 1)[1]: line for line in text.splitlines() if " — " in line}
    for model, count in tokens.items():
        assert format_usd(cents[model]) in lines[model], lines[model]
        assert lines[model].endswith(f"· {format_tokens(count)}"), lines[model]


def test_user_shows_a_members_claude_tokens(synced: World) -> None:
    email = synced.anthropic.dataset.users[0].email
    records = synced.anthropic.dataset.all_records(date(2026, 11, 2), date(2026, 11, 8))
    mine = sum(r.input_tokens + r.output_tokens for r in records if r.email == email)
    week = text_of(synced.ask(f"user {email} 2026-11-02..2026-11-08"))
    assert mine and f"· {format_tokens(mine)}" in week, week


def test_credits_top_and_limits_answer_with_anthropic_connected(synced: World) -> None:
    for question in ("credits", "top 5 7d anthropic", "limits"):
        text = text_of(synced.ask(question))
        assert text and "went wrong" not in text.lower(), (question, text)
    top = text_of(synced.ask("top 5 7d anthropic"))
    assert "*By requests* (`anthropic`)" in top and "$0.00" not in top, top


def test_credits_counts_members_near_their_anthropic_spend_limit_never_an_unknown_one(synced: World) -> None:
    users = synced.anthropic.dataset.users
    rows = synced.anthropic.effective_spend_limits()
    near = [
        users[index].email
        for index, row in enumerate(rows[: len(users)])
        if row["amount"] is not None
        and row["period_to_date_spend"] != "0"
        and Decimal(row["period_to_date_spend"]) * 100 >= 90 * Decimal(row["amount"])
    ]
    assert near, "the simulator puts some members near their cap"
    text = text_of(synced.ask("credits"))
    section = text.split("*Anthropic*")[1].split("*Cursor*")[0]
    assert f"*{len(near)}* people are at 90% or more of their limit" in section, text
    for email in near:
        assert email in text, (email, text)
    assert users[2].email not in text  # its spend reads "0" (unavailable): never counted, never alerted


def test_user_shows_an_anthropic_members_limit(synced: World) -> None:
    first = synced.anthropic.dataset.users[0]
    text = text_of(synced.ask(f"user {first.email} 2026-11-02..2026-11-08"))
    assert "of a $500.00 limit" in text, text
