"""Anthropic through the slash commands: its synced figures answer ``spend``, ``status`` and ``user``."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.money import format_usd
from tests.commands.conftest import World, text_of

pytestmark = pytest.mark.parametrize("anthropic_declared", [True])


def test_spend_and_status_include_anthropic(synced: World) -> None:
    first, last = date(2026, 11, 2), date(2026, 11, 8)
    text = text_of(synced.ask("spend 2026-11-02..2026-11-08 anthropic"))
    assert format_usd(synced.anthropic.dataset.total_cents(first, last)) in text, text
    assert "Windsurf" not in text
    status = text_of(synced.ask("status"))
    assert "*Anthropic* _(environment)_" in status, status


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
