"""The Copilot client's reading rules, on bodies shaped like GitHub's documented examples."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bot.vendors.copilot import one_seat_per_login, parse_budget, parse_seat, parse_usage_items, seat_member
from bot.vendors.errors import SchemaError
from bot.vendors.parsing import loads


def _seat(login: str, activity: str | None, authenticated: str | None = None) -> dict[str, object]:
    return {
        "created_at": "2026-08-01T09:00:00Z",
        "pending_cancellation_date": None,
        "last_activity_at": activity,
        "last_authenticated_at": authenticated,
        "plan_type": "business",
        "assignee": {"login": login, "id": 1, "type": "User", "email": None},
    }


def test_dollar_floats_become_exact_cents_per_model() -> None:
    body = loads(
        b'{"timePeriod": {"year": 2026, "month": 11, "day": 5}, "organization": "acme", "usageItems": ['
        b'{"product": "Copilot", "sku": "Copilot AI Credits", "model": "gpt-5", "unitType": "ai-credits",'
        b' "pricePerUnit": 0.01, "grossQuantity": 1234.0, "grossAmount": 12.34, "discountQuantity": 1000.0,'
        b' "discountAmount": 10.0, "netQuantity": 234.0, "netAmount": 2.34},'
        b'{"product": "Copilot", "sku": "Copilot AI Credits", "model": "gpt-5", "netAmount": 0.1},'
        b'{"product": "Copilot", "sku": "Copilot coding agent", "netAmount": 0.07}]}'
    )
    assert parse_usage_items(body) == {"gpt-5": Decimal("244.00"), "Copilot coding agent": Decimal("7.00")}


def test_an_item_without_its_net_amount_is_a_schema_error_naming_the_field() -> None:
    with pytest.raises(SchemaError, match="netAmount"):
        parse_usage_items({"usageItems": [{"model": "gpt-5", "grossAmount": 1.0}]})


def test_a_seat_is_kept_under_its_public_email_else_its_login() -> None:
    public = parse_seat(
        {**_seat("Octo-Cat", None), "assignee": {"login": "Octo-Cat", "email": "Octo@Example.com"}}
    )
    assert public.person == "octo@example.com"
    assert parse_seat(_seat("Octo-Cat", None)).person == "octo-cat"


def test_a_seat_may_hold_usage_up_to_the_day_it_was_last_seen() -> None:
    seat = parse_seat(_seat("a", "2026-11-20T23:59:00Z"))
    assert seat.may_have_used(date(2026, 11, 20)) and not seat.may_have_used(date(2026, 11, 21))
    # IDE use without telemetry leaves last_activity_at empty; authenticating still shows the seat in use.
    quiet = parse_seat(_seat("b", None, "2026-11-25T08:00:00Z"))
    assert quiet.may_have_used(date(2026, 11, 25))
    assert not parse_seat(_seat("c", None)).may_have_used(date(2020, 1, 1))


def test_an_enterprise_seat_per_organization_counts_the_person_once_by_their_latest() -> None:
    seats = [parse_seat(_seat("a", "2026-11-01T00:00:00Z")), parse_seat(_seat("A", "2026-11-09T00:00:00Z"))]
    seats.append(parse_seat(_seat("b", None)))
    kept = {seat.login.lower(): seat for seat in one_seat_per_login(seats)}
    assert set(kept) == {"a", "b"}
    assert kept["a"].last_activity_at == datetime(2026, 11, 9, tzinfo=UTC)


def test_only_a_copilot_budget_on_the_whole_account_is_the_pool() -> None:
    account = {
        "id": "b1",
        "budget_type": "BundlePricing",
        "budget_product_sku": "ai_credits",
        "budget_scope": "multi_user_customer",
        "budget_amount": 500,
        "prevent_further_usage": True,
        "consumed_amount": 123.45,
    }
    budget = parse_budget(loads(json.dumps(account)))
    assert budget is not None
    assert (budget.amount_cents, budget.consumed_cents, budget.prevent_further_usage) == (
        Decimal(50000),
        Decimal("12345.00"),
        True,
    )
    assert parse_budget({**account, "budget_scope": "user"}) is None
    assert parse_budget({**account, "budget_product_sku": "actions"}) is None
    legacy = parse_budget({**account, "budget_product_sku": "copilot", "budget_scope": "organization"})
    assert legacy is not None and legacy.consumed_cents == Decimal("12345.00")
    without = {key: value for key, value in account.items() if key != "consumed_amount"}
    alerts_only = parse_budget(without)
    assert alerts_only is not None and alerts_only.consumed_cents is None


def test_a_seats_last_use_is_its_activity_else_its_authentication_and_cancelling_seats_are_inactive() -> None:
    used = seat_member(parse_seat(_seat("a", "2026-11-20T10:00:00Z", "2026-11-29T08:00:00Z")))
    assert used.last_active_at == datetime(2026, 11, 20, 10, tzinfo=UTC)  # activity wins when GitHub has it
    quiet = seat_member(parse_seat(_seat("b", None, "2026-11-25T08:00:00Z")))
    assert quiet.last_active_at == datetime(2026, 11, 25, 8, tzinfo=UTC)
    never = seat_member(parse_seat({**_seat("c", None), "pending_cancellation_date": "2026-11-30"}))
    assert never.last_active_at is None and not never.active
