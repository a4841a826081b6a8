"""OpenAI through the slash commands: its synced figures answer ``spend``, ``status`` and ``user``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.domain.money import format_tokens, format_usd
from tests.commands.conftest import World, text_of

pytestmark = pytest.mark.parametrize("openai_declared", [True])


def test_spend_and_status_include_openai(synced: World) -> None:
    first, last = date(2026, 11, 2), date(2026, 11, 8)
    text = text_of(synced.ask("spend 2026-11-02..2026-11-08 openai"))
    assert format_usd(synced.openai.dataset.total_cents(first, last)) in text, text
    assert "OpenAI reports whole UTC days, so its figures are by UTC day." in text, text
    assert "Windsurf" not in text
    status = text_of(synced.ask("status"))
    assert "*OpenAI* _(environment)_" in status
    assert f"left of {format_usd(Decimal(50_000))}" in status  # the hard spend limit, in cents


def test_user_shows_openai_requests_beside_cursor(synced: World) -> None:
    email = synced.openai.dataset.users[0].email
    assert email in {member.email for member in synced.cursor.dataset.members}
    text = text_of(synced.ask(f"user {email} 30d"))
    assert "OpenAI" in text and "Cursor" in text, text
    # OpenAI keeps money for the organisation only: the person's own figure there is their requests.
    week = text_of(synced.ask(f"user {email} 2026-11-02..2026-11-08"))
    requests = synced.openai.dataset.requests_by_email(date(2026, 11, 2), date(2026, 11, 8))[email]
    assert f"*{requests:,} requests*" in week, week
    assert "its spend is reported for the whole team only" in week
    assert "— $0.00" not in week  # its models are counted in requests, not shown as free
    assert " requests" in week.split("By model")[1]


def test_spend_by_user_says_openai_money_is_the_organisations(synced: World) -> None:
    text = text_of(synced.ask("spend 2026-11-02..2026-11-08 by user openai"))
    assert "reports its spend for the whole organisation only (per person it reports requests)" in text, text
    assert "did not add up" not in text


def test_the_digest_reports_openai_yesterday(synced: World) -> None:
    from zoneinfo import ZoneInfo

    from bot.services.digest import DigestOptions

    services = synced.bot.services
    assert services is not None
    options = DigestOptions(tz=ZoneInfo("UTC"))
    built = synced.bot.call(services.digests.build("T0001", date(2026, 11, 20), options, with_chart=False))
    text = text_of(built.message.payload())
    yesterday = date(2026, 11, 19)
    assert "OpenAI" in text, text
    assert format_usd(synced.openai.dataset.total_cents(yesterday, yesterday)) in text, text


def test_export_of_openai_adds_up_to_its_costs(synced: World) -> None:
    import csv
    import io

    answer = text_of(synced.ask("export 2026-11-02..2026-11-08 openai"))
    assert "Sent you `spend-" in answer, answer
    upload = next(value for value in synced.fake.uploads.values() if value.get("completed"))
    rows = list(csv.DictReader(io.StringIO(upload["content"].decode())))
    total = sum((Decimal(row["amount"]) for row in rows), Decimal(0))
    assert total * 100 == synced.openai.dataset.total_cents(date(2026, 11, 2), date(2026, 11, 8))
    assert {row["unit"] for row in rows} == {"USD"}
    # Tokens, counted here from the dataset's records: completions input and output, embeddings input.
    records = synced.openai.dataset.all_records(date(2026, 11, 2), date(2026, 11, 8))
    assert sum(int(row["tokens"]) for row in rows) == sum(r.input_tokens + r.output_tokens for r in records)


def test_spend_and_user_show_openai_tokens_in_their_own_unit(synced: World) -> None:
    first, last = date(2026, 11, 2), date(2026, 11, 8)
    email = synced.openai.dataset.users[0].email
    user_id = synced.openai.dataset.users[0].id
    records = list(synced.openai.dataset.all_records(first, last))
    mine = sum(r.input_tokens + r.output_tokens for r in records if r.user_id == user_id)
    week = text_of(synced.ask(f"user {email} 2026-11-02..2026-11-08"))
    assert f"· {format_tokens(mine)}" in week, week
    spend = text_of(synced.ask("spend 2026-11-02..2026-11-08 openai"))
    everyone = sum(r.input_tokens + r.output_tokens for r in records)
    assert f"· {format_tokens(everyone)}" in spend, spend
    assert format_usd(synced.openai.dataset.total_cents(first, last)) in spend  # tokens are never dollars


def test_top_ranks_openai_people_by_their_requests(synced: World) -> None:
    text = text_of(synced.ask("top 3 2026-11-02..2026-11-08 openai"))
    counts = synced.openai.dataset.requests_by_email(date(2026, 11, 2), date(2026, 11, 8))
    most = max(count for email, count in counts.items() if email)
    assert "*By requests* (`openai`)" in text, text
    first = next(line for line in text.splitlines() if line.startswith("1. "))
    assert first.endswith(f"*{most:,} requests*"), first
    assert "$0.00" not in text
