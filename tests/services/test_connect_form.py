"""The connect form's pure checks: what is wrong with a pasted key or a tracked figure, and the new row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from bot.domain.usage import Vendor
from bot.services.connect import MAX_KEY_CHARS, ConnectForm, key_problem, new_connection, track_problem

BASE = "https://api.example.com/v1"


@pytest.mark.parametrize("key", ["sk-abc123", "x" * MAX_KEY_CHARS])
def test_a_printable_word_is_a_key_worth_trying(key: str) -> None:
    assert key_problem(key) is None


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("", "Paste the key."),
        ("x" * (MAX_KEY_CHARS + 1), "longer than any key"),
        ("sk abc", "one word without spaces"),
        ("sk-\x07abc", "one word without spaces"),
    ],
)
def test_a_key_that_cannot_be_one_says_why(key: str, says: str) -> None:
    problem = key_problem(key)
    assert problem is not None
    assert says in problem


def test_a_tracked_figure_under_the_base_url_is_accepted() -> None:
    assert track_problem("/v1/usage#data.credits_remaining", BASE) is None


def test_a_tracked_figure_needs_a_field() -> None:
    problem = track_problem("/v1/usage", BASE)
    assert problem is not None
    assert "PATH#json.field" in problem


def test_a_tracked_figure_on_another_host_is_refused() -> None:
    problem = track_problem("https://elsewhere.example.org/usage#credits", BASE)
    assert problem is not None
    assert "under the base URL" in problem


def test_a_tracked_path_is_not_checked_against_a_wrong_base_url() -> None:
    assert track_problem("https://elsewhere.example.org/usage#credits", None) is None


def test_a_new_connection_keeps_the_form_but_only_a_hint_of_the_key() -> None:
    now = datetime(2026, 11, 20, 15, 37, tzinfo=UTC)
    form = ConnectForm(
        vendor=Vendor.REST,
        name="billing",
        base_url=BASE,
        key=SecretStr("sk-live-0123456789abcd"),
        probe_path="/v1/account",
        per_minute=30,
        track="/v1/usage#data.credits",
    )
    row = new_connection("T0001", "U0001", form, ciphertext="sealed", now=now)
    assert (row.team_id, row.name, row.vendor, row.base_url, row.origin) == (
        "T0001",
        "billing",
        "rest",
        BASE,
        "slack",
    )
    assert row.secret_ciphertext == "sealed"
    assert row.key_hint == "abcd"
    assert row.options == form.options()
    assert (row.created_by, row.created_at, row.status_at) == ("U0001", now, now)
