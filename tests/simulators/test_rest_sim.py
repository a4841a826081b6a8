"""The generic REST simulator follows seed 001: envelopes, scopes, pagination, quotas and headers."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bot.simulators.rest import RestSimulator
from bot.simulators.serving import served

NOW = datetime(2026, 6, 18, 14, 30, tzinfo=UTC)
HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def parse(response: httpx.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


@pytest.fixture
def sim() -> RestSimulator:
    return RestSimulator(now=NOW)


@pytest.fixture
def client(sim: RestSimulator) -> Iterator[httpx.Client]:
    with (
        served(sim.app) as server,
        httpx.Client(base_url=server.url + "/v1", headers=bearer(sim.api_key)) as c,
    ):
        yield c


def assert_rate_headers(response: httpx.Response, limit: int) -> None:
    assert all(h in response.headers for h in HEADERS), response.headers
    assert int(response.headers["x-ratelimit-limit"]) == limit
    assert 0 <= int(response.headers["x-ratelimit-remaining"]) <= limit


# ----------------------------------------------------------------------------------------------- auth


def test_auth_failures_and_scopes(sim: RestSimulator, client: httpx.Client) -> None:
    unauthorized = {"success": False, "error": {"code": "UNAUTHORIZED", "message": "Invalid API key"}}
    for headers in ({"Authorization": ""}, bearer("sk_wrong"), {"Authorization": f"Basic {sim.api_key}"}):
        response = client.get("/projects", headers=headers)
        assert response.status_code == 401
        assert response.json() == unauthorized
        assert_rate_headers(response, 300)
    read_only = bearer(sim.read_only_key)
    assert client.get("/projects", headers=read_only).status_code == 200
    denied = client.post("/tasks", json={"name": "x"}, headers=read_only)
    assert denied.status_code == 403
    assert denied.json()["success"] is False
    assert denied.json()["error"]["code"] == "FORBIDDEN"
    assert_rate_headers(denied, 300)
    assert client.get("/account", headers=read_only).json()["data"]["scopes"] == ["read"]
    sim.revoke_key()
    assert client.get("/projects").json() == unauthorized
    sim.restore_key()
    assert client.get("/projects").status_code == 200


# ------------------------------------------------------------------------------------------ pagination


def test_project_pagination_edges(sim: RestSimulator, client: httpx.Client) -> None:
    first = client.get("/projects").json()
    assert first["success"] is True
    assert first["pagination"] == {"total": 57, "limit": 20, "offset": 0, "has_more": True}
    assert [p["id"] for p in first["data"]] == [p.id for p in sim.dataset.projects[:20]]
    last = client.get("/projects", params={"limit": 20, "offset": 40}).json()
    assert len(last["data"]) == 17
    assert last["pagination"]["has_more"] is False
    exact = client.get("/projects", params={"limit": 19, "offset": 38}).json()
    assert len(exact["data"]) == 19
    assert exact["pagination"]["has_more"] is False
    beyond = client.get("/projects", params={"offset": 57}).json()
    assert beyond["data"] == []
    assert beyond["pagination"]["has_more"] is False
    everything = []
    offset = 0
    while True:
        page = client.get("/projects", params={"limit": 100, "offset": offset}).json()
        everything += page["data"]
        if not page["pagination"]["has_more"]:
            break
        offset += len(page["data"])
    assert len({p["id"] for p in everything}) == 57
    too_big = client.get("/projects", params={"limit": 101})
    assert too_big.status_code == 400
    assert too_big.json()["error"] == {
        "code": "VALIDATION_ERROR",
        "message": "limit must be between 1 and 100",
        "details": {"field": "limit"},
    }
    one = sim.dataset.projects[5]
    assert client.get(f"/projects/{one.id}").json() == {"success": True, "data": one.as_json()}
    missing = client.get("/projects/proj_nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NOT_FOUND"
    assert_rate_headers(missing, 300)


def test_tasks_create_validate_update(sim: RestSimulator, client: httpx.Client) -> None:
    invalid = client.post("/tasks", json={"project_id": sim.dataset.projects[0].id})
    assert invalid.status_code == 400
    assert invalid.json() == {
        "success": False,
        "error": {"code": "VALIDATION_ERROR", "message": "Name is required", "details": {"field": "name"}},
    }
    assert_rate_headers(invalid, 300)
    created = client.post("/tasks", json={"title": "My Task", "project_id": sim.dataset.projects[0].id})
    assert created.status_code == 201
    task = created.json()["data"]
    assert task["name"] == "My Task"
    assert task["status"] == "todo"
    assert task["id"].startswith("task_")
    assert task["created_at"] == "2026-06-18T14:30:00Z"
    sim.advance(timedelta(minutes=5))
    updated = client.put(f"/tasks/{task['id']}", json={"status": "completed"})
    assert updated.status_code == 200
    assert updated.json()["data"]["status"] == "completed"
    assert updated.json()["data"]["updated_at"] == "2026-06-18T14:35:00Z"
    assert sim.dataset.tasks[task["id"]].status == "completed"
    assert client.put("/tasks/task_missing", json={"status": "completed"}).status_code == 404
    assert client.put(f"/tasks/{task['id']}", json={"status": "done"}).status_code == 400


# ------------------------------------------------------------------------------------------- headers


def test_rate_limit_headers_on_every_response(sim: RestSimulator, client: httpx.Client) -> None:
    responses = [
        client.get("/projects"),
        client.get("/nowhere"),
        client.delete("/projects"),
        client.get("/projects", headers=bearer("bad")),
    ]
    sim.faults.fail(500)
    responses.append(client.get("/projects"))
    sim.faults.malformed()
    responses.append(client.get("/usage"))
    assert [r.status_code for r in responses] == [200, 404, 405, 401, 500, 200]
    for response in responses:
        assert_rate_headers(response, 300)
    assert responses[4].json() == {
        "success": False,
        "error": {"code": "INTERNAL_ERROR", "message": "Internal server error"},
    }
    with pytest.raises(json.JSONDecodeError):
        json.loads(responses[5].text)
    # Reset is the window's end in simulated epoch seconds: now + (wall seconds left) × time_scale.
    reset = int(responses[0].headers["x-ratelimit-reset"])
    assert NOW.timestamp() < reset <= NOW.timestamp() + 60


def test_per_minute_limit_and_reset_over_loopback() -> None:
    sim = RestSimulator(plan="free", now=NOW, time_scale=60)  # 60/min → 60 per wall-clock second
    with (
        served(sim.app) as server,
        httpx.Client(base_url=server.url + "/v1", headers=bearer(sim.api_key)) as c,
    ):
        started = time.monotonic()
        responses = [c.get("/account") for _ in range(61)]
        elapsed = time.monotonic() - started
        assert elapsed < 1.0
        assert [r.status_code for r in responses] == [200] * 60 + [429]
        remaining = [int(r.headers["x-ratelimit-remaining"]) for r in responses]
        assert remaining == [*range(59, -1, -1), 0]
        limited = responses[-1]
        assert limited.json() == {
            "success": False,
            "error": {"code": "RATE_LIMITED", "message": "Rate limit exceeded"},
        }
        assert limited.headers["retry-after"] == "1"
        reset = int(limited.headers["x-ratelimit-reset"])
        assert NOW.timestamp() < reset <= math.ceil(NOW.timestamp() + (1.0 - elapsed) * 60) + 1
        assert sim.requests_in_current_minute() == 60
        time.sleep(max(0.0, 1.05 - (time.monotonic() - started)))
        again = c.get("/account")
        assert again.status_code == 200
        assert again.headers["x-ratelimit-remaining"] == "59"
    assert sim.stats.rate_limited == 1
    assert sim.requests_today() == 61  # the refused request never reached the daily quota


def test_daily_quota_exhaustion_and_renewal() -> None:
    sim = RestSimulator(plan="free", now=datetime(2026, 6, 18, 23, 0, tzinfo=UTC), time_scale=600)
    with (
        served(sim.app) as server,
        httpx.Client(base_url=server.url + "/v1", headers=bearer(sim.api_key)) as c,
    ):
        statuses = []
        for _ in range(1001):
            response = c.get("/account")
            if response.status_code == 429 and response.json()["error"]["code"] == "RATE_LIMITED":
                time.sleep(float(response.headers["retry-after"]) / 10)
                response = c.get("/account")
            statuses.append(response.status_code)
        assert statuses.count(200) == 1000
        quota = response
        assert quota.status_code == 429
        assert quota.json()["error"]["code"] == "DAILY_QUOTA_EXCEEDED"
        assert quota.headers["retry-after"] == "6"  # one simulated hour to midnight ÷ 600
        assert_rate_headers(quota, 60)
        assert sim.requests_today() == 1000
        sim.advance(timedelta(hours=1))
        assert c.get("/account").status_code == 200
        assert sim.requests_today() == 1


def test_enterprise_has_no_daily_quota(client: httpx.Client) -> None:
    sim = RestSimulator(plan="enterprise", now=NOW)
    assert sim.per_day is None
    assert sim.per_minute == 1000
    with (
        served(sim.app) as server,
        httpx.Client(base_url=server.url + "/v1", headers=bearer(sim.api_key)) as c,
    ):
        account = c.get("/account").json()["data"]
    assert account["plan"] == "enterprise"
    assert account["rate_limits"] == {"requests_per_minute": 1000, "requests_per_day": None}


# --------------------------------------------------------------------------------------------- usage


def test_usage_falls_with_simulated_time_and_is_settable(sim: RestSimulator, client: httpx.Client) -> None:
    first = parse(client.get("/usage"))["data"]
    assert first["credits_remaining"] == Decimal("25000")
    assert first["requests_today"] == 1
    assert isinstance(first["spend_this_month"], Decimal | int)
    assert Decimal(first["spend_this_month"]) == sim.dataset.spend_this_month()
    sim.advance(timedelta(hours=3))
    later = parse(client.get("/usage"))["data"]
    assert later["credits_remaining"] < first["credits_remaining"]
    assert later["spend_this_month"] > first["spend_this_month"]
    assert later["requests_today"] == 2
    truth = sim.usage()
    assert (truth.credits_remaining, truth.spend_this_month, truth.requests_today) == (
        later["credits_remaining"],
        later["spend_this_month"],
        2,
    )
    # Credits burn 0.125 per cent spent: the two figures move together exactly.
    spent = (Decimal(later["spend_this_month"]) - Decimal(first["spend_this_month"])) * 100
    assert Decimal(first["credits_remaining"]) - Decimal(later["credits_remaining"]) == spent * Decimal(
        "0.125"
    )
    sim.set_credits(Decimal("12.5"))
    raw = client.get("/usage").text
    assert '"credits_remaining":12.5' in raw
    sim.advance(timedelta(days=2))
    assert parse(client.get("/usage"))["data"]["credits_remaining"] == 0


def test_determinism() -> None:
    bodies = []
    for seed in (3, 3, 4):
        sim = RestSimulator(now=NOW, seed=seed)
        with (
            served(sim.app) as server,
            httpx.Client(base_url=server.url + "/v1", headers=bearer(sim.api_key)) as c,
        ):
            bodies.append((c.get("/projects", params={"limit": 100}).content, c.get("/usage").content))
    assert bodies[0] == bodies[1]
    assert bodies[0][0] != bodies[2][0]
    assert RestSimulator(seed=3).api_key == RestSimulator(seed=3).api_key


def test_faults_slow_and_rename(sim: RestSimulator, client: httpx.Client) -> None:
    sim.faults.slow(0.2, path="/v1/usage")
    started = time.monotonic()
    assert client.get("/usage").status_code == 200
    assert time.monotonic() - started >= 0.2
    sim.faults.rename_field("credits_remaining", "creditsRemaining", times=1)
    renamed = client.get("/usage")
    assert "creditsRemaining" in renamed.json()["data"]
    assert_rate_headers(renamed, 300)
    assert "credits_remaining" in client.get("/usage").json()["data"]
    sim.faults.fail(503, times=None, path="/v1/projects")
    for _ in range(3):
        unavailable = client.get("/projects")
        assert unavailable.status_code == 503
        assert unavailable.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert_rate_headers(unavailable, 300)
    sim.faults.clear()
    assert client.get("/projects").status_code == 200
    assert sim.stats.count(path="/v1/projects", status=503) == 3
