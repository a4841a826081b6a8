"""The Copilot simulator answers like GitHub's REST API as notes/copilot-spec.md describes it, over HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bot.simulators._common import make_people
from bot.simulators.copilot import IDLE_MIN_DAYS, CopilotSimulator
from bot.simulators.serving import served

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
VERSION = {"X-GitHub-Api-Version": "2026-03-10", "Accept": "application/vnd.github+json"}
USAGE = "/organizations/acme/settings/billing/ai_credit/usage"
SEATS = "/orgs/acme/copilot/billing/seats"


def exact(response: httpx.Response) -> Any:
    return json.loads(response.content, parse_float=Decimal)


def net_by_model(body: dict[str, Any]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for item in body["usageItems"]:
        totals[item["model"]] = totals.get(item["model"], Decimal(0)) + item["netAmount"]
    return totals


def client_for(sim: CopilotSimulator, url: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {sim.token}", **VERSION})


@pytest.fixture(scope="module")
def sim() -> CopilotSimulator:
    return CopilotSimulator(enterprise="acme-ent", now=NOW, rate_limits_enabled=False)


@pytest.fixture(scope="module")
def client(sim: CopilotSimulator) -> Iterator[httpx.Client]:
    with served(sim.app) as server, client_for(sim, server.url) as c:
        yield c


def test_seats_page_with_a_link_header_and_cap_per_page(sim: CopilotSimulator, client: httpx.Client) -> None:
    logins: list[str] = []
    url: str | None = SEATS + "?per_page=5"
    pages = 0
    while url is not None:
        response = client.get(url)
        body = response.json()
        assert body["total_seats"] == 12
        logins += [seat["assignee"]["login"] for seat in body["seats"]]
        pages += 1
        url = response.links.get("next", {}).get("url")
    assert pages == 3
    assert logins == sim.dataset.seat_logins()
    past = client.get(SEATS, params={"page": 4, "per_page": 5}).json()
    assert past == {"total_seats": 12, "seats": []}
    too_many = client.get(SEATS, params={"per_page": 101})
    assert too_many.status_code == 422
    assert too_many.json()["message"] == "per_page must be <= 100"
    assert client.get(SEATS, params={"per_page": 100}).json()["seats"][0]["plan_type"] == "enterprise"


def test_seats_show_logins_public_emails_and_idle_seats(sim: CopilotSimulator, client: httpx.Client) -> None:
    seats = client.get(SEATS, params={"per_page": 100}).json()["seats"]
    people = {email.partition("@")[0].replace(".", "-"): email for _, email in make_people(12, 7)}
    public = {seat["assignee"]["login"]: seat["assignee"]["email"] for seat in seats}
    assert set(public) == set(people)
    shown = {login: email for login, email in public.items() if email is not None}
    assert shown == sim.dataset.public_emails() and 1 <= len(shown) <= 4
    assert all(people[login] == email for login, email in shown.items())
    idle = sim.dataset.idle_logins()
    assert idle
    for seat in seats:
        login, activity = seat["assignee"]["login"], seat["last_activity_at"]
        if login in idle:
            assert activity is None or datetime.fromisoformat(activity) <= NOW - timedelta(days=IDLE_MIN_DAYS)
            assert sim.dataset.net_cents(TODAY - timedelta(days=IDLE_MIN_DAYS - 1), TODAY, login) == 0
        else:
            assert activity is not None and datetime.fromisoformat(activity) <= NOW
            assert datetime.fromisoformat(activity).date() == sim.dataset.active_days(login)[-1]
    assert any(seat["last_activity_at"] is None for seat in seats)


def test_org_total_is_the_sum_over_users_including_the_former_one(
    sim: CopilotSimulator, client: httpx.Client
) -> None:
    dataset = sim.dataset
    assert dataset.former_login not in dataset.seat_logins()
    for params in ({"year": 2026, "month": 10}, {"year": 2026, "month": 11, "day": 3}):
        org = exact(client.get(USAGE, params=params))
        assert org["organization"] == "acme" and "user" not in org
        summed: dict[str, Decimal] = {}
        for login in dataset.usage_logins():
            body = exact(client.get(USAGE, params={**params, "user": login}))
            assert body["user"] == login
            for model, amount in net_by_model(body).items():
                summed[model] = summed.get(model, Decimal(0)) + amount
        assert net_by_model(org) == summed
        first = date(2026, params["month"], params.get("day", 1))
        last = first if "day" in params else date(2026, 10, 31)
        assert sum(net_by_model(org).values()) * 100 == dataset.net_cents(first, last)
    october = (date(2026, 10, 1), date(2026, 10, 31))
    assert dataset.net_cents(*october, dataset.former_login) > 0


def test_usage_items_are_dollars_with_included_credits_as_discount(client: httpx.Client) -> None:
    raw = client.get(USAGE, params={"year": 2026, "month": 11, "day": 2})
    assert '"pricePerUnit":0.01' in raw.text
    zero_days = 0
    for day in range(1, 20):
        body = exact(client.get(USAGE, params={"year": 2026, "month": 11, "day": day}))
        assert body["timePeriod"] == {"year": 2026, "month": 11, "day": day}
        for item in body["usageItems"]:
            assert (item["product"], item["sku"], item["unitType"]) == (
                "copilot",
                "copilot_ai_credit",
                "ai-credits",
            )
            assert item["grossAmount"] == item["grossQuantity"] * item["pricePerUnit"]
            assert item["netAmount"] == item["grossAmount"] - item["discountAmount"]
            assert item["netQuantity"] == item["grossQuantity"] - item["discountQuantity"]
        if body["usageItems"] and sum(net_by_model(body).values()) == 0:
            zero_days += 1
    assert zero_days >= 1
    one_user = exact(client.get(USAGE, params={"user": "nobody-here", "model": "gpt-5"}))
    assert one_user["usageItems"] == []


def test_enterprise_routes(sim: CopilotSimulator, client: httpx.Client) -> None:
    seats = client.get("/enterprises/acme-ent/copilot/billing/seats").json()["seats"]
    assert all(seat["organization"] == {"login": "acme"} for seat in seats)
    path = "/enterprises/acme-ent/settings/billing/ai_credit/usage"
    body = exact(client.get(path, params={"year": 2026, "month": 11}))
    assert body["enterprise"] == "acme-ent" and "organization" not in body
    assert sum(net_by_model(body).values()) * 100 == sim.dataset.net_cents(date(2026, 11, 1), TODAY)
    for unmatched in ({"organization": "elsewhere"}, {"cost_center_id": "cc-1"}, {"product": "actions"}):
        assert client.get(path, params=unmatched).json()["usageItems"] == []
    assert client.get(path, params={"organization": "acme"}).json()["usageItems"]
    budgets = client.get("/enterprises/acme-ent/settings/billing/budgets").json()["budgets"]
    assert budgets[0]["budget_scope"] == "enterprise" and budgets[0]["budget_entity_name"] == "acme-ent"
    for unknown in ("/enterprises/other/copilot/billing/seats", "/orgs/other/copilot/billing/seats"):
        response = client.get(unknown)
        assert response.status_code == 404
        assert response.json() == {
            "message": "Not Found",
            "documentation_url": "https://docs.github.com/rest",
            "status": "404",
        }


def test_without_an_enterprise_the_enterprise_routes_are_404() -> None:
    sim = CopilotSimulator(team_size=2, days=5, now=NOW)
    with served(sim.app) as server, client_for(sim, server.url) as c:
        assert c.get("/enterprises/acme-ent/copilot/billing/seats").status_code == 404
        assert c.get(SEATS).json()["seats"][0]["plan_type"] == "business"


def test_legacy_plan_serves_premium_requests_only() -> None:
    sim = CopilotSimulator(mode="premium_request", team_size=4, days=40, now=NOW, rate_limits_enabled=False)
    with served(sim.app) as server, client_for(sim, server.url) as c:
        assert c.get(USAGE).status_code == 404
        legacy = c.get("/organizations/acme/settings/billing/premium_request/usage", params={"month": 11})
        assert legacy.status_code == 200
        items = exact(legacy)["usageItems"]
        assert items and all(
            (item["sku"], item["unitType"], item["pricePerUnit"])
            == ("copilot_premium_request", "requests", Decimal("0.04"))
            for item in items
        )
        assert sum(item["netAmount"] for item in items) * 100 == sim.dataset.net_cents(
            date(2026, 11, 1), TODAY
        )


def test_ai_credit_plan_has_no_premium_request_report(client: httpx.Client) -> None:
    assert client.get("/organizations/acme/settings/billing/premium_request/usage").status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"month": 13},
        {"month": 0},
        {"day": 32},
        {"month": 2, "day": 30},
        {"year": "soon"},
        {"year": 2026, "month": 11, "day": 22},
        {"year": 2027, "month": 1},
    ],
)
def test_invalid_dates_are_400(client: httpx.Client, params: dict[str, Any]) -> None:
    response = client.get(USAGE, params=params)
    assert response.status_code == 400
    assert response.json()["status"] == "400"


def test_more_than_24_months_back_is_400_and_tomorrow_is_allowed(client: httpx.Client) -> None:
    old = client.get(USAGE, params={"year": 2024, "month": 10})
    assert old.status_code == 400
    assert old.json()["message"] == "Only data from the past 24 months is accessible"
    assert client.get(USAGE, params={"year": 2024, "month": 11}).status_code == 200
    tomorrow = client.get(USAGE, params={"year": 2026, "month": 11, "day": 21}).json()
    assert tomorrow["usageItems"] == []


def test_api_version_header(client: httpx.Client) -> None:
    bad = client.get(SEATS, headers={"X-GitHub-Api-Version": "2021-01-01"})
    assert bad.status_code == 400
    assert bad.json() == {
        "message": "Unsupported 'X-GitHub-Api-Version' header value: 2021-01-01",
        "documentation_url": "https://docs.github.com/rest/about-the-rest-api/api-versions",
        "status": "400",
    }
    assert bad.headers["x-ratelimit-resource"] == "core"
    assert client.get(SEATS, headers={"X-GitHub-Api-Version": "2022-11-28"}).status_code == 200
    no_version = httpx.get(
        str(client.base_url) + SEATS, headers={"Authorization": client.headers["Authorization"]}
    )
    assert no_version.status_code == 200


def test_bad_credentials_and_missing_permission() -> None:
    sim = CopilotSimulator(team_size=2, days=5, now=NOW)
    with served(sim.app) as server, client_for(sim, server.url) as c:
        assert c.get(SEATS, headers={"Authorization": f"token {sim.token}"}).status_code == 200
        for header in ("", "Bearer ghp_wrong", f"Basic {sim.token}"):
            refused = c.get(SEATS, headers={"Authorization": header})
            assert refused.status_code == 401
            assert refused.json()["message"] == "Bad credentials"
            assert "x-ratelimit-limit" in refused.headers
        sim.missing_permission = True
        denied = c.get(USAGE)
        assert denied.status_code == 403
        assert denied.json()["message"] == "Resource not accessible by personal access token"
        assert int(denied.headers["x-ratelimit-remaining"]) > 0 and "retry-after" not in denied.headers
        sim.missing_permission = False
        sim.revoke_key()
        assert c.get(SEATS).status_code == 401
        sim.restore_key()
        assert c.get(SEATS).status_code == 200
    assert sim.stats.throttled == 0


@pytest.mark.parametrize("status", [403, 429])
def test_primary_limit_exhaustion(status: int) -> None:
    sim = CopilotSimulator(team_size=2, days=5, now=NOW, primary_per_hour=3, rate_limit_status=status)
    with served(sim.app) as server, client_for(sim, server.url) as c:
        answers = [c.get(SEATS) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, status]
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
    refused = answers[-1]
    assert refused.headers["x-ratelimit-limit"] == "3" and refused.headers["x-ratelimit-used"] == "3"
    # A real instant, whatever the simulated clock says: the client waits for it in real time.
    reset = int(refused.headers["x-ratelimit-reset"])
    assert time.time() < reset <= time.time() + 3601
    assert "retry-after" not in refused.headers
    assert refused.json()["message"] == "API rate limit exceeded for user ID 1."
    assert sim.stats.primary_throttled == 1 and sim.stats.count(status=status) == 1


def test_secondary_limit_answers_retry_after_while_primary_remains() -> None:
    sim = CopilotSimulator(team_size=2, days=5, now=NOW, secondary_per_minute=2, time_scale=60.0)
    with served(sim.app) as server, client_for(sim, server.url) as c:
        statuses = [c.get(SEATS).status_code for _ in range(3)]
        assert statuses == [200, 200, 403]
        refused = c.get(SEATS)
        assert refused.json()["message"].startswith("You have exceeded a secondary rate limit")
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert int(refused.headers["x-ratelimit-remaining"]) == 4998
        sim.secondary_without_retry_after = True
        assert "retry-after" not in c.get(SEATS).headers
        sim.reset_rate_limits()
        assert c.get(SEATS).status_code == 200
    assert sim.stats.secondary_throttled == 3 and sim.stats.throttled == 3


def test_faults_keep_the_error_shape_and_rate_limit_headers(
    sim: CopilotSimulator, client: httpx.Client
) -> None:
    sim.faults.fail(502, path="billing/seats")
    failed = client.get(SEATS)
    assert failed.status_code == 502
    assert failed.json()["status"] == "502" and "x-ratelimit-remaining" in failed.headers
    sim.faults.malformed(path="ai_credit/usage")
    garbage = client.get(USAGE)
    assert garbage.status_code == 200 and "x-ratelimit-limit" in garbage.headers
    with pytest.raises(json.JSONDecodeError):
        garbage.json()
    sim.faults.rename_field("netAmount", "net_amount", times=1, path="ai_credit/usage")
    drifted = client.get(USAGE, params={"month": 11}).json()
    assert all("net_amount" in item and "netAmount" not in item for item in drifted["usageItems"])
    assert "netAmount" in client.get(USAGE, params={"month": 11}).json()["usageItems"][0]
    sim.faults.clear()


def test_budgets_default_and_configured(client: httpx.Client) -> None:
    body = client.get("/organizations/acme/settings/billing/budgets").json()
    assert body["total_count"] == 2 and body["has_next_page"] is False
    copilot, actions = body["budgets"]
    assert (copilot["budget_product_sku"], copilot["budget_scope"], copilot["budget_entity_name"]) == (
        "copilot",
        "organization",
        "acme",
    )
    assert copilot["budget_amount"] == 500 and copilot["prevent_further_usage"] is True
    assert actions["budget_product_sku"] == "actions"
    paged = client.get("/organizations/acme/settings/billing/budgets", params={"per_page": 1}).json()
    assert paged["has_next_page"] is True and len(paged["budgets"]) == 1
    assert (
        client.get("/organizations/acme/settings/billing/budgets", params={"per_page": 101}).status_code
        == 422
    )
    custom = CopilotSimulator(team_size=2, days=5, now=NOW, budget_amount=None)
    assert [b["budget_product_sku"] for b in custom.budget_list()] == ["actions"]
    given = CopilotSimulator(team_size=2, days=5, now=NOW, budgets=[{"id": "b1", "budget_amount": 9}])
    assert given.budget_list(enterprise=True) == [{"id": "b1", "budget_amount": 9}]


def test_deterministic_by_seed_and_shares_people() -> None:
    people = make_people(5, 3)
    bodies = []
    for seed in (4, 4, 5):
        sim = CopilotSimulator(people=people, seed=seed, days=30, now=NOW, rate_limits_enabled=False)
        with served(sim.app) as server, client_for(sim, server.url) as c:
            bodies.append((c.get(SEATS).json(), c.get(USAGE).json()))
        assert sim.dataset.seat_logins() == [email.partition("@")[0].replace(".", "-") for _, email in people]
    assert bodies[0] == bodies[1]
    assert bodies[0][1] != bodies[2][1]


def test_advancing_the_clock_reveals_days_without_changing_published_ones() -> None:
    sim = CopilotSimulator(team_size=4, days=30, now=NOW)
    before = sim.dataset.net_cents(TODAY - timedelta(days=29), TODAY)
    sim.advance(timedelta(days=3))
    assert sim.dataset.net_cents(TODAY - timedelta(days=29), TODAY) == before
    assert sim.dataset.gross_units(TODAY + timedelta(days=1), TODAY + timedelta(days=3)) > 0
