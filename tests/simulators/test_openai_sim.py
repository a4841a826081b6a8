"""The OpenAI simulator answers like the documented Admin API (docs/vendors/openai.md), over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bot.simulators.openai import EMBEDDING_MODELS, OpenAISimulator
from bot.simulators.serving import served

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
TODAY = NOW.date()


def unix(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


@pytest.fixture(scope="module")
def sim() -> OpenAISimulator:
    return OpenAISimulator(team_size=6, days=60, now=NOW, rate_limits_enabled=False)


@pytest.fixture(scope="module")
def client(sim: OpenAISimulator) -> Iterator[httpx.Client]:
    with (
        served(sim.app) as server,
        httpx.Client(base_url=server.url + "/v1", headers={"Authorization": f"Bearer {sim.admin_key}"}) as c,
    ):
        yield c


def exact(response: httpx.Response) -> Any:
    return json.loads(response.content, parse_float=Decimal)


def test_missing_or_wrong_key_is_401(sim: OpenAISimulator, client: httpx.Client) -> None:
    params = {"start_time": unix(TODAY)}
    assert client.get("/organization/costs", params=params, headers={"Authorization": ""}).status_code == 401
    wrong = client.get("/organization/costs", params=params, headers={"Authorization": "Bearer sk-nope"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_api_key"


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"start_time": "yesterday"},
        {"start_time": 1, "limit": 181},
        {"start_time": 1, "limit": 0},
        {"start_time": 1, "bucket_width": "2d"},
        {"start_time": 1, "group_by": "user_id"},
        {"start_time": 10, "end_time": 5},
        {"start_time": 1, "page": "garbage"},
    ],
)
def test_costs_rejects_what_the_real_one_rejects(client: httpx.Client, params: dict[str, Any]) -> None:
    response = client.get("/organization/costs", params=params)
    assert response.status_code == 400
    assert response.json()["error"]["message"]


def test_usage_limit_is_31_daily_buckets(client: httpx.Client) -> None:
    params = {"start_time": unix(TODAY - timedelta(days=40)), "limit": 32}
    assert client.get("/organization/usage/completions", params=params).status_code == 400
    params["limit"] = 31
    assert client.get("/organization/usage/completions", params=params).status_code == 200


def test_costs_paginate_by_buckets_and_add_up_to_the_dataset(
    sim: OpenAISimulator, client: httpx.Client
) -> None:
    first = TODAY - timedelta(days=20)
    params: dict[str, Any] = {
        "start_time": unix(first),
        "end_time": unix(TODAY + timedelta(days=1)),
        "group_by": ["line_item", "project_id"],
        "limit": 7,
    }
    days: list[int] = []
    total = Decimal(0)
    pages = 0
    while True:
        body = exact(client.get("/organization/costs", params=params))
        pages += 1
        assert body["object"] == "page"
        for bucket in body["data"]:
            assert bucket["end_time"] - bucket["start_time"] == 86_400
            days.append(bucket["start_time"])
            for result in bucket["results"]:
                assert result["object"] == "organization.costs.result"
                assert result["amount"]["currency"] == "usd"
                embedding_models = tuple(model for model, _ in EMBEDDING_MODELS)
                assert result["line_item"].endswith((", input", ", output")) or (
                    result["line_item"] in embedding_models
                )
                total += result["amount"]["value"]
        if not body["has_more"]:
            assert body["next_page"] is None
            break
        params["page"] = body["next_page"]
    assert pages == 3  # 21 days at 7 a page
    assert days == [unix(first + timedelta(days=n)) for n in range(21)]
    assert total * 100 == sim.dataset.total_cents(first, TODAY)


def test_completions_by_user_add_up_to_the_dataset(sim: OpenAISimulator, client: httpx.Client) -> None:
    first = TODAY - timedelta(days=9)
    params = {
        "start_time": unix(first),
        "end_time": unix(TODAY + timedelta(days=1)),
        "group_by": ["user_id", "model"],
        "limit": 31,
    }
    body = client.get("/organization/usage/completions", params=params).json()
    assert body["has_more"] is False
    emails = {user.id: user.email for user in sim.dataset.users}
    totals: dict[str | None, int] = {}
    for bucket in body["data"]:
        for result in bucket["results"]:
            assert result["object"] == "organization.usage.completions.result"
            assert result["project_id"] is None  # not grouped by it
            email = None if result["user_id"] is None else emails[result["user_id"]]
            totals[email] = totals.get(email, 0) + result["num_model_requests"]
    assert totals == sim.dataset.requests_by_email(first, TODAY, "completions")


def test_embeddings_carry_input_tokens_only_and_add_up_to_the_dataset(
    sim: OpenAISimulator, client: httpx.Client
) -> None:
    first = TODAY - timedelta(days=9)
    params = {
        "start_time": unix(first),
        "end_time": unix(TODAY + timedelta(days=1)),
        "group_by": ["user_id", "model"],
        "limit": 31,
    }
    body = client.get("/organization/usage/embeddings", params=params).json()
    emails = {user.id: user.email for user in sim.dataset.users}
    requests: dict[str | None, int] = {}
    tokens: dict[str | None, int] = {}
    for bucket in body["data"]:
        for result in bucket["results"]:
            assert result["object"] == "organization.usage.embeddings.result"
            assert "output_tokens" not in result
            email = None if result["user_id"] is None else emails[result["user_id"]]
            requests[email] = requests.get(email, 0) + result["num_model_requests"]
            tokens[email] = tokens.get(email, 0) + result["input_tokens"]
    assert requests and requests == sim.dataset.requests_by_email(first, TODAY, "embeddings")
    assert tokens == sim.dataset.tokens_by_email(first, TODAY, "embeddings")
    refused = client.get("/organization/usage/embeddings", params={**params, "group_by": ["batch"]})
    assert refused.status_code == 400


def test_users_paginate_by_after(sim: OpenAISimulator, client: httpx.Client) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 4}
    while True:
        body = client.get("/organization/users", params=params).json()
        seen += [user["email"] for user in body["data"]]
        if not body["has_more"]:
            break
        params["after"] = body["last_id"]
    assert seen == [user.email for user in sim.dataset.users]
    assert client.get("/organization/users", params={"limit": 101}).status_code == 400


def test_spend_limit_is_integer_cents(sim: OpenAISimulator, client: httpx.Client) -> None:
    body = client.get("/organization/spend_limit").json()
    assert body["object"] == "organization.spend_limit"
    assert body["threshold_amount"] == 50_000
    assert body["currency"] == "USD"
    assert body["enforcement"]["status"] in ("inactive", "enforcing")


def test_rate_limit_answers_429_with_retry_after() -> None:
    sim = OpenAISimulator(team_size=2, days=3, now=NOW, requests_per_minute=2, time_scale=60.0)
    with served(sim.app) as server:
        headers = {"Authorization": f"Bearer {sim.admin_key}"}
        with httpx.Client(base_url=server.url + "/v1", headers=headers) as c:
            statuses = [c.get("/organization/spend_limit").status_code for _ in range(3)]
            assert statuses == [200, 200, 429]
            refused = c.get("/organization/spend_limit")
            assert refused.status_code == 429
            assert int(refused.headers["Retry-After"]) >= 1
            assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert sim.stats.rate_limited == 2
