"""The Anthropic simulator answers like the documented Admin API (docs/vendors/anthropic.md), over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bot.simulators.anthropic import AnthropicSimulator
from bot.simulators.serving import served

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
TODAY = NOW.date()


def rfc3339(day: Any) -> str:
    return f"{day.isoformat()}T00:00:00Z"


@pytest.fixture(scope="module")
def sim() -> AnthropicSimulator:
    return AnthropicSimulator(team_size=6, days=60, now=NOW, rate_limits_enabled=False)


@pytest.fixture(scope="module")
def client(sim: AnthropicSimulator) -> Iterator[httpx.Client]:
    headers = {"x-api-key": sim.admin_key, "anthropic-version": "2023-06-01"}
    with served(sim.app) as server, httpx.Client(base_url=server.url + "/v1", headers=headers) as c:
        yield c


def test_missing_or_wrong_key_is_401(client: httpx.Client) -> None:
    params = {"starting_at": rfc3339(TODAY)}
    missing = client.get("/organizations/cost_report", params=params, headers={"x-api-key": ""})
    assert missing.status_code == 401
    wrong = client.get("/organizations/cost_report", params=params, headers={"x-api-key": "sk-ant-nope"})
    assert wrong.status_code == 401
    assert wrong.json() == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid x-api-key"},
    }


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"starting_at": "yesterday"},
        {"starting_at": "2026-11-01T00:00:00Z", "limit": 32},
        {"starting_at": "2026-11-01T00:00:00Z", "limit": 0},
        {"starting_at": "2026-11-01T00:00:00Z", "bucket_width": "1h"},
        {"starting_at": "2026-11-01T00:00:00Z", "group_by[]": "model"},
        {"starting_at": "2026-11-10T00:00:00Z", "ending_at": "2026-11-05T00:00:00Z"},
        {"starting_at": "2026-11-01T00:00:00Z", "page": "garbage"},
    ],
)
def test_cost_report_rejects_what_the_real_one_rejects(client: httpx.Client, params: dict[str, Any]) -> None:
    response = client.get("/organizations/cost_report", params=params)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_cost_report_pages_by_buckets_in_cents_strings(sim: AnthropicSimulator, client: httpx.Client) -> None:
    first = TODAY - timedelta(days=20)
    params: dict[str, Any] = {
        "starting_at": rfc3339(first),
        "ending_at": rfc3339(TODAY + timedelta(days=1)),
        "group_by[]": ["description"],
        "limit": 7,
    }
    days: list[str] = []
    total = Decimal(0)
    pages = 0
    while True:
        body = client.get("/organizations/cost_report", params=params).json()
        pages += 1
        for bucket in body["data"]:
            days.append(bucket["starting_at"])
            for result in bucket["results"]:
                assert isinstance(result["amount"], str) and result["currency"] == "USD"
                assert result["model"] and result["cost_type"] == "tokens"
                total += Decimal(result["amount"])
        if not body["has_more"]:
            assert body["next_page"] is None
            break
        params["page"] = body["next_page"]
    assert pages == 3  # 21 days at 7 a page
    assert days == [rfc3339(first + timedelta(days=n)) for n in range(21)]
    assert total == sim.dataset.total_cents(first, TODAY)


def test_ungrouped_costs_have_no_model(client: httpx.Client) -> None:
    body = client.get("/organizations/cost_report", params={"starting_at": rfc3339(TODAY), "limit": 1}).json()
    assert all(result["model"] is None for bucket in body["data"] for result in bucket["results"])


def test_claude_code_is_one_day_of_actors_paged(sim: AnthropicSimulator, client: httpx.Client) -> None:
    day = TODAY - timedelta(days=3)
    params: dict[str, Any] = {"starting_at": day.isoformat(), "limit": 2}
    totals: dict[str | None, int] = {}
    while True:
        body = client.get("/organizations/usage_report/claude_code", params=params).json()
        for record in body["data"]:
            actor = record["actor"]
            email = actor["email_address"] if actor["type"] == "user_actor" else None
            totals[email] = totals.get(email, 0) + record["core_metrics"]["num_sessions"]
        if not body["has_more"]:
            break
        params["page"] = body["next_page"]
    assert totals == sim.dataset.sessions_by_email(day, day)
    bad = client.get(
        "/organizations/usage_report/claude_code", params={"starting_at": "2026-11-01T00:00:00Z"}
    )
    assert bad.status_code == 400


def test_users_paginate_by_after_id(sim: AnthropicSimulator, client: httpx.Client) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 4}
    while True:
        body = client.get("/organizations/users", params=params).json()
        seen += [user["email"] for user in body["data"]]
        if not body["has_more"]:
            break
        params["after_id"] = body["last_id"]
    assert seen == [user.email for user in sim.dataset.users]


def test_rate_limit_answers_429_with_retry_after() -> None:
    sim = AnthropicSimulator(team_size=2, days=3, now=NOW, requests_per_minute=2, time_scale=60.0)
    with served(sim.app) as server:
        headers = {"x-api-key": sim.admin_key, "anthropic-version": "2023-06-01"}
        with httpx.Client(base_url=server.url + "/v1", headers=headers) as c:
            statuses = [c.get("/organizations/users").status_code for _ in range(3)]
            assert statuses == [200, 200, 429]
            refused = c.get("/organizations/users")
            assert int(refused.headers["retry-after"]) >= 1
            assert refused.json()["error"]["type"] == "rate_limit_error"
    assert sim.stats.rate_limited == 2
