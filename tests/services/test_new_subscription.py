"""A new subscription's row: a digest is due at its first scheduled time, other kinds are never "due"."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.services.subscriptions import new_subscription

NOW = datetime(2026, 11, 20, 15, 37, tzinfo=UTC)  # a Friday


def test_a_daily_digest_is_first_due_at_its_next_local_time() -> None:
    params = {"weekdays": [0, 1, 2, 3, 4, 5, 6], "at": "09:00", "tz": "Europe/Paris"}
    row = new_subscription("T1", "C1", "U1", "digest", params, now=NOW, default_tz="UTC")
    assert row.next_due_at == datetime(2026, 11, 21, 8, 0, tzinfo=UTC)  # 09:00 in Paris, tomorrow
    assert (row.team_id, row.channel_id, row.kind, row.params) == ("T1", "C1", "digest", params)
    assert (row.created_by, row.created_at) == ("U1", NOW)


def test_a_weekday_digest_skips_the_weekend() -> None:
    params = {"weekdays": [0, 1, 2, 3, 4], "at": "09:00"}
    row = new_subscription("T1", "C1", "U1", "digest", params, now=NOW, default_tz="UTC")
    assert row.next_due_at == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday, in the default zone


def test_an_alert_subscription_has_no_due_time() -> None:
    row = new_subscription("T1", "C1", "U1", "budget", {"amount": "500"}, now=NOW, default_tz="UTC")
    assert row.next_due_at is None
