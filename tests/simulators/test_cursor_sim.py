"""The Cursor simulator behaves like the documented Admin and Analytics APIs, over real HTTP."""

from __future__ import annotations

import base64
import json
import re
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import httpx
import pytest

from bot.simulators._common import epoch_ms
from bot.simulators.cursor import KIND_USAGE, MODELS, CursorSimulator
from bot.simulators.serving import served

NOW = datetime(2026, 6, 18, 14, 30, tzinfo=UTC)  # a Thursday; cycle started on 2026-05-24
DAY = 86_400_000


def auth(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def parse(response: httpx.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


@pytest.fixture(scope="module")
def sim() -> CursorSimulator:
    return CursorSimulator(team_size=30, days=40, now=NOW, rate_limits_enabled=False)


@pytest.fixture(scope="module")
def client(sim: CursorSimulator) -> Iterator[httpx.Client]:
    with served(sim.app) as server, httpx.Client(base_url=server.url, headers=auth(sim.api_key)) as c:
        yield c


def all_events(client: httpx.Client, start: int, end: int, page_size: int = 1000, **extra: Any) -> list[Any]:
    events: list[Any] = []
    page = 1
    while True:
        body = {"startDate": start, "endDate": end, "page": page, "pageSize": page_size, **extra}
        data = parse(client.post("/teams/filtered-usage-events", json=body))
        events.extend(data["usageEvents"])
        if not data["pagination"]["hasNextPage"]:
            return events
        page += 1


# ----------------------------------------------------------------------------------------------- auth


def test_auth_failures_use_the_documented_401_body(sim: CursorSimulator, client: httpx.Client) -> None:
    expected = {"error": "Unauthorized", "message": "Invalid API key"}
    for headers in (
        {"Authorization": ""},
        auth("key_wrong"),
        {"Authorization": f"Bearer {sim.api_key}"},
        {"Authorization": "Basic " + base64.b64encode(f"{sim.api_key}:secret".encode()).decode()},
    ):
        response = client.get("/teams/members", headers=headers)
        assert response.status_code == 401
        assert response.json() == expected
    assert client.get("/teams/members").status_code == 200


def test_default_key_has_the_documented_format() -> None:
    key = CursorSimulator(team_size=2, days=1, now=NOW).api_key
    assert re.fullmatch(r"key_[0-9a-f]{64}", key)


def test_revoked_key_answers_401_until_restored() -> None:
    sim = CursorSimulator(team_size=3, days=2, now=NOW)
    with served(sim.app) as server, httpx.Client(base_url=server.url, headers=auth(sim.api_key)) as c:
        sim.revoke_key()
        assert c.get("/teams/members").json() == {"error": "Unauthorized", "message": "Invalid API key"}
        sim.restore_key()
        assert c.get("/teams/members").status_code == 200


# -------------------------------------------------------------------------------------------- members


def test_members_newest_shape(sim: CursorSimulator, client: httpx.Client) -> None:
    members = client.get("/teams/members").json()["teamMembers"]
    assert len(members) == 30
    assert all(set(m) == {"id", "name", "email", "role", "isRemoved"} for m in members)
    assert all(m["id"].startswith("user_") for m in members)
    assert len({m["email"] for m in members}) == 30
    assert all(re.fullmatch(r"[a-z]+\.[a-z]+\d*@example\.com", m["email"]) for m in members)
    assert [m["role"] for m in members].count("owner") == 2
    assert sum(m["isRemoved"] for m in members) == 1
    truth = {m.email: m for m in sim.dataset.members}
    assert all(
        truth[m["email"]].removed == m["isRemoved"] and truth[m["email"]].name == m["name"] for m in members
    )


@pytest.mark.parametrize("schema", ["old", "middle"])
def test_members_older_shapes(schema: str) -> None:
    sim = CursorSimulator(team_size=12, days=3, now=NOW, schema=schema)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=sim.app)

    async def fetch() -> Any:
        async with httpx.AsyncClient(transport=transport, base_url="http://cursor") as c:
            return (await c.get("/teams/members", headers=auth(sim.api_key))).json()["teamMembers"]

    import asyncio

    members = asyncio.run(fetch())
    if schema == "old":
        assert all(set(m) == {"name", "email", "role"} for m in members)
    else:
        assert all(isinstance(m["id"], int) and isinstance(m["isRemoved"], bool) for m in members)


# ---------------------------------------------------------------------------------------------- spend


def test_spend_newest_matches_ground_truth_and_the_events(sim: CursorSimulator, client: httpx.Client) -> None:
    body = parse(client.post("/teams/spend", json={"page": 1, "pageSize": 100}))
    assert set(body) == {"teamMemberSpend", "subscriptionCycleStart", "totalMembers", "totalPages"}
    assert body["subscriptionCycleStart"] == epoch_ms(datetime(2026, 5, 24, tzinfo=UTC))
    assert sim.dataset.cycle_start == datetime(2026, 5, 24, tzinfo=UTC)
    assert sim.dataset.cycle_end == datetime(2026, 6, 24, tzinfo=UTC)
    assert body["totalMembers"] == 30
    assert body["totalPages"] == 1
    rows = {row["email"]: row for row in body["teamMemberSpend"]}
    # Recompute from the events endpoint: chargedCents over the cycle, all and chargeable only.
    events = all_events(client, epoch_ms(sim.dataset.cycle_start), epoch_ms(NOW))
    overall: dict[str, Decimal] = defaultdict(Decimal)
    on_demand: dict[str, Decimal] = defaultdict(Decimal)
    for event in events:
        overall[event["userEmail"]] += event["chargedCents"]
        if event["isChargeable"]:
            on_demand[event["userEmail"]] += event["chargedCents"]
    assert sum(1 for r in rows.values() if r["overallSpendCents"] > 2000) >= 3
    for email, row in rows.items():
        assert Decimal(row["overallSpendCents"]) == overall[email] == sim.dataset.cycle_spend(email)
        assert Decimal(row["spendCents"]) == on_demand[email] == sim.dataset.on_demand_spend(email)
        assert row["effectivePerUserLimitDollars"] == sim.dataset.limit_dollars(email)
        assert row["userId"].startswith("user_")


def test_spend_old_schema_reports_integer_total_cents() -> None:
    sim = CursorSimulator(team_size=10, days=30, now=NOW, schema="old")
    with served(sim.app) as server, httpx.Client(base_url=server.url, headers=auth(sim.api_key)) as c:
        rows = c.post("/teams/spend", json={}).json()["teamMemberSpend"]
    assert rows
    assert all(
        set(r) == {"email", "name", "role", "spendCents", "fastPremiumRequests", "hardLimitOverrideDollars"}
        for r in rows
    )
    for row in rows:
        assert isinstance(row["spendCents"], int)
        expected = sim.dataset.cycle_spend(row["email"]).quantize(Decimal(1), ROUND_HALF_EVEN)
        assert row["spendCents"] == expected == sim.dataset.spend_cents_reported(row["email"])


def test_spend_pagination_sorting_and_search(sim: CursorSimulator, client: httpx.Client) -> None:
    pages = [parse(client.post("/teams/spend", json={"page": p, "pageSize": 7})) for p in (1, 2, 3, 4, 5, 6)]
    assert [p["totalPages"] for p in pages] == [5] * 6
    assert [len(p["teamMemberSpend"]) for p in pages] == [7, 7, 7, 7, 2, 0]
    emails = [r["email"] for p in pages for r in p["teamMemberSpend"]]
    assert len(set(emails)) == 30
    ranked = parse(
        client.post("/teams/spend", json={"sortBy": "amount", "sortDirection": "desc", "pageSize": 30})
    )
    amounts = [r["overallSpendCents"] for r in ranked["teamMemberSpend"]]
    assert amounts == sorted(amounts, reverse=True)
    who = sim.dataset.members[5]
    found = parse(client.post("/teams/spend", json={"searchTerm": who.email.split("@")[0].upper()}))
    assert [r["email"] for r in found["teamMemberSpend"]] == [who.email]
    assert found["totalMembers"] == 1


# --------------------------------------------------------------------------------------------- events


def test_events_match_ground_truth_newest_first(sim: CursorSimulator, client: httpx.Client) -> None:
    start, end = datetime(2026, 6, 15, tzinfo=UTC), datetime(2026, 6, 17, tzinfo=UTC)
    events = all_events(client, epoch_ms(start), epoch_ms(end) - 1, page_size=250)
    truth = sim.dataset.events(start, end)
    assert len(events) == len(truth) > 200
    assert [int(e["timestamp"]) for e in events] == [t.timestamp_ms for t in reversed(truth)]
    assert all(isinstance(e["timestamp"], str) for e in events)
    for event, record in zip(events, reversed(truth), strict=True):
        assert event["userEmail"] == record.email
        assert event["model"] == record.model
        assert event["chargedCents"] == record.cost_cents
        assert event["isChargeable"] == record.chargeable == (record.kind == KIND_USAGE)
        if record.token_based:
            usage = event["tokenUsage"]
            price = next(m for m in MODELS if m.name == record.model)
            micros = (
                usage["inputTokens"] * price.input
                + usage["outputTokens"] * price.output
                + usage["cacheWriteTokens"] * price.cache_write
                + usage["cacheReadTokens"] * price.cache_read
            )
            if record.kind != "Errored, Not Charged":
                assert usage["totalCents"] == Decimal(micros) / 1_000_000
                assert usage["totalCents"] + event.get("cursorTokenFee", 0) == event["chargedCents"]
        else:
            assert "tokenUsage" not in event
            assert event["chargedCents"] == 0
    kinds = {e["kind"] for e in events}
    assert {"Included in Business", "Usage-based", "Errored, Not Charged"} <= kinds
    assert {e["model"] for e in events} == {m.name for m in MODELS}


def test_event_windows_are_inclusive_at_ms_precision(sim: CursorSimulator, client: httpx.Client) -> None:
    record = sim.dataset.events(datetime(2026, 6, 16, 9, tzinfo=UTC), datetime(2026, 6, 16, 18, tzinfo=UTC))[
        3
    ]
    at = record.timestamp_ms
    body = {"startDate": at, "endDate": at}
    data = parse(client.post("/teams/filtered-usage-events", json=body))
    assert [e["timestamp"] for e in data["usageEvents"]] == [str(at)] * data["totalUsageEventsCount"]
    assert data["totalUsageEventsCount"] >= 1
    assert data["period"] == {"startDate": at, "endDate": at}
    shifted = parse(
        client.post("/teams/filtered-usage-events", json={"startDate": at + 1, "endDate": at + 1})
    )
    assert str(at) not in {e["timestamp"] for e in shifted["usageEvents"]}


def test_event_pagination_edges(sim: CursorSimulator, client: httpx.Client) -> None:
    email = sim.dataset.members[3].email
    start, end = epoch_ms(datetime(2026, 6, 10, tzinfo=UTC)), epoch_ms(datetime(2026, 6, 13, tzinfo=UTC)) - 1
    total = parse(
        client.post("/teams/filtered-usage-events", json={"startDate": start, "endDate": end, "email": email})
    )["totalUsageEventsCount"]
    assert total == sim.dataset.count_events(
        datetime(2026, 6, 10, tzinfo=UTC), datetime(2026, 6, 13, tzinfo=UTC), email
    )
    assert total >= 4

    def page(n: int, size: int) -> Any:
        body = {"startDate": start, "endDate": end, "email": email, "page": n, "pageSize": size}
        return parse(client.post("/teams/filtered-usage-events", json=body))

    exact = page(1, total)  # exact multiple: one full page, nothing after it
    assert exact["pagination"] == {
        "numPages": 1,
        "currentPage": 1,
        "pageSize": total,
        "hasNextPage": False,
        "hasPreviousPage": False,
    }
    assert len(exact["usageEvents"]) == total
    assert page(2, total)["usageEvents"] == []
    short = page(2, total - 1)  # last short page
    assert short["pagination"]["numPages"] == 2
    assert len(short["usageEvents"]) == 1
    assert short["pagination"]["hasPreviousPage"]
    assert not short["pagination"]["hasNextPage"]
    assert short["usageEvents"][0] == exact["usageEvents"][-1]
    empty = parse(
        client.post(
            "/teams/filtered-usage-events", json={"startDate": start, "endDate": end, "email": "nobody@x.io"}
        )
    )
    assert empty["totalUsageEventsCount"] == 0
    assert empty["usageEvents"] == []
    assert empty["pagination"]["numPages"] == 0
    assert not empty["pagination"]["hasNextPage"]
    before = parse(client.post("/teams/filtered-usage-events", json={"startDate": 0, "endDate": 1000}))
    assert before["totalUsageEventsCount"] == 0


def test_event_validation_and_default_page_sizes(client: httpx.Client) -> None:
    end = epoch_ms(NOW)
    too_long = client.post("/teams/filtered-usage-events", json={"startDate": end - 31 * DAY, "endDate": end})
    assert too_long.status_code == 400
    assert too_long.json() == {"error": "Bad Request", "message": "Date range cannot exceed 30 days"}
    big = client.post(
        "/teams/filtered-usage-events", json={"startDate": end - DAY, "endDate": end, "pageSize": 1001}
    )
    assert big.status_code == 400
    assert big.json()["error"] == "Bad Request"
    assert (
        client.post(
            "/teams/filtered-usage-events", json={"startDate": end - 30 * DAY, "endDate": end}
        ).status_code
        == 200
    )
    default = client.post(
        "/teams/filtered-usage-events", json={"startDate": end - 5 * DAY, "endDate": end}
    ).json()
    assert default["pagination"]["pageSize"] == 100
    assert len(default["usageEvents"]) == 100


def test_old_schema_events_are_priced_by_total_cents_plus_fee() -> None:
    sim = CursorSimulator(team_size=6, days=5, now=NOW, schema="old")
    with served(sim.app) as server, httpx.Client(base_url=server.url, headers=auth(sim.api_key)) as c:
        end = epoch_ms(NOW)
        data = parse(
            c.post("/teams/filtered-usage-events", json={"startDate": end - 3 * DAY, "endDate": end})
        )
    assert data["pagination"]["pageSize"] == 10
    assert len(data["usageEvents"]) == 10
    truth = {
        t.timestamp_ms: t for t in sim.dataset.events(NOW - timedelta(days=3), NOW + timedelta(seconds=1))
    }
    for event in data["usageEvents"]:
        assert "chargedCents" not in event
        assert "isChargeable" not in event
        assert "isFreeBugbot" in event
        cost = event.get("tokenUsage", {}).get("totalCents", 0) + event.get("cursorTokenFee", 0)
        assert cost == truth[int(event["timestamp"])].cost_cents


def test_money_is_emitted_as_exact_decimal_literals(sim: CursorSimulator, client: httpx.Client) -> None:
    raw = client.post("/teams/spend", json={"pageSize": 100}).text
    for email in (m.email for m in sim.dataset.members[:10]):
        expected = sim.dataset.cycle_spend(email)
        assert f'"overallSpendCents":{expected}' in raw  # str(Decimal) is the exact digits, no exponent
    assert any(len(frac) == 6 for frac in re.findall(r'"overallSpendCents":\d+\.(\d+)', raw))
    events = client.post(
        "/teams/filtered-usage-events",
        json={"startDate": epoch_ms(NOW) - DAY, "endDate": epoch_ms(NOW), "pageSize": 1000},
    ).text
    assert not re.search(r"\d\.\d{7,}", raw + events)  # no binary-float artefacts
    assert not re.search(r"[eE][+-]?\d", re.sub(r'"[^"]*"', "", raw + events))  # no exponents


def test_late_data_is_hidden_until_the_delay_passed() -> None:
    sim = CursorSimulator(team_size=40, days=2, now=NOW, late_minutes=90)
    recent = sim.dataset.events(NOW - timedelta(minutes=90), NOW + timedelta(minutes=1))
    assert recent == []
    eager = CursorSimulator(team_size=40, days=2, now=NOW)
    hidden = eager.dataset.events(NOW - timedelta(minutes=89), NOW + timedelta(minutes=1))
    assert hidden, "the team should have worked in the last 90 minutes"
    sim.advance(timedelta(minutes=90))
    assert sim.dataset.events(NOW - timedelta(minutes=89), NOW + timedelta(minutes=1)) == hidden


# ------------------------------------------------------------------------------------ time and determinism


def test_same_arguments_give_identical_bodies_and_other_seeds_do_not() -> None:
    bodies = []
    for seed in (7, 7, 8):
        sim = CursorSimulator(team_size=15, days=10, seed=seed, now=NOW)
        with served(sim.app) as server, httpx.Client(base_url=server.url, headers=auth(sim.api_key)) as c:
            end = epoch_ms(NOW)
            bodies.append(
                (
                    c.get("/teams/members").content,
                    c.post("/teams/spend", json={}).content,
                    c.post(
                        "/teams/filtered-usage-events",
                        json={"startDate": end - 9 * DAY, "endDate": end, "pageSize": 1000},
                    ).content,
                )
            )
    assert bodies[0] == bodies[1]
    assert bodies[0][0] != bodies[2][0]
    assert bodies[0][2] != bodies[2][2]


def test_days_are_generated_independently_of_order() -> None:
    a = CursorSimulator(team_size=20, days=10, now=NOW)
    b = CursorSimulator(team_size=20, days=10, now=NOW)
    day = datetime(2026, 6, 12, tzinfo=UTC)
    first = a.dataset.events(day, day + timedelta(days=1))  # a generates only what this needs
    b.dataset.events(day - timedelta(days=5), NOW)  # b generates everything first
    assert first == b.dataset.events(day, day + timedelta(days=1))


def test_advance_reveals_the_next_day_and_keeps_history() -> None:
    sim = CursorSimulator(team_size=20, days=5, now=datetime(2026, 6, 18, 23, 59, tzinfo=UTC))
    tomorrow = datetime(2026, 6, 19, tzinfo=UTC)
    with served(sim.app) as server, httpx.Client(base_url=server.url, headers=auth(sim.api_key)) as c:
        window = {"startDate": epoch_ms(tomorrow), "endDate": epoch_ms(tomorrow) + DAY - 1, "pageSize": 1000}
        history = {
            "startDate": epoch_ms(tomorrow) - 3 * DAY,
            "endDate": epoch_ms(tomorrow) - 1,
            "pageSize": 1000,
        }
        assert c.post("/teams/filtered-usage-events", json=window).json()["totalUsageEventsCount"] == 0
        before = c.post("/teams/filtered-usage-events", json=history).content
        sim.advance(timedelta(days=1))
        assert sim.now == datetime(2026, 6, 19, 23, 59, tzinfo=UTC)
        revealed = c.post("/teams/filtered-usage-events", json=window).json()["totalUsageEventsCount"]
        assert revealed == sim.dataset.count_events(tomorrow, tomorrow + timedelta(days=1)) > 0
        assert c.post("/teams/filtered-usage-events", json=history).content == before


def test_activity_follows_local_office_hours(sim: CursorSimulator) -> None:
    by_local_hour: dict[int, int] = defaultdict(int)
    for event in sim.dataset.events(datetime(2026, 6, 8, tzinfo=UTC), datetime(2026, 6, 13, tzinfo=UTC)):
        by_local_hour[event.timestamp.astimezone(sim.dataset.user_tz(event.email)).hour] += 1
    office = sum(by_local_hour[h] for h in range(9, 18))
    night = sum(by_local_hour[h] for h in (0, 1, 2, 3, 4))
    assert office > 20 * max(1, night)
    # Per local day and per UTC day disagree for someone far from UTC.
    far = next(
        m
        for m in sim.dataset.members
        if abs(m.tz.utcoffset(None).total_seconds()) >= 5 * 3600 and not m.removed
    )
    events = sim.dataset.events(
        datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 18, tzinfo=UTC), far.email
    )
    utc_days: dict[date, Decimal] = defaultdict(Decimal)
    local_days: dict[date, Decimal] = defaultdict(Decimal)
    for event in events:
        utc_days[event.timestamp.date()] += event.cost_cents
        local_days[event.timestamp.astimezone(far.tz).date()] += event.cost_cents
    assert utc_days != local_days


# ------------------------------------------------------------------------------------------ daily usage


def test_daily_usage_unpaged_active_rows_only(sim: CursorSimulator, client: httpx.Client) -> None:
    start = epoch_ms(datetime(2026, 6, 14, tzinfo=UTC))  # a Sunday and a Monday
    body = client.post(
        "/teams/daily-usage-data", json={"startDate": start, "endDate": start + 2 * DAY - 1}
    ).json()
    assert set(body) == {"data", "period"}
    assert body["period"] == {"startDate": start, "endDate": start + 2 * DAY - 1}
    rows = body["data"]
    assert rows
    assert all("isActive" not in r for r in rows)
    monday = [r for r in rows if r["day"] == "2026-06-15"]
    sunday = [r for r in rows if r["day"] == "2026-06-14"]
    assert len(monday) > len(sunday)
    for row in rows:
        day = date.fromisoformat(row["day"])
        assert row["date"] == epoch_ms(datetime(day.year, day.month, day.day, tzinfo=UTC))
        counters = sim.dataset.daily_counters(day, row["email"])
        assert {k: row[k] for k in counters} == counters
        begin = datetime(day.year, day.month, day.day, tzinfo=UTC)
        events = sim.dataset.events(begin, begin + timedelta(days=1), row["email"])
        requests = sum(
            row[k]
            for k in ("composerRequests", "chatRequests", "agentRequests", "cmdkUsages", "bugbotUsages")
        )
        assert requests == len(events)
        assert row["usageBasedReqs"] == sum(e.chargeable for e in events)


def test_daily_usage_paged_lists_every_member_and_day(sim: CursorSimulator, client: httpx.Client) -> None:
    start = epoch_ms(datetime(2026, 6, 14, tzinfo=UTC))
    window = {"startDate": start, "endDate": start + 3 * DAY - 1}
    first = client.post("/teams/daily-usage-data", json={**window, "page": 1, "pageSize": 8}).json()
    eligible = len([m for m in sim.dataset.members if not m.removed])
    assert first["pagination"] == {
        "page": 1,
        "pageSize": 8,
        "totalUsers": eligible,
        "totalPages": -(-eligible // 8),
        "hasNextPage": True,
        "hasPreviousPage": False,
    }
    assert len(first["data"]) == 8 * 3
    assert all(isinstance(r["isActive"], bool) for r in first["data"])
    rows = []
    for page in range(1, first["pagination"]["totalPages"] + 1):
        rows += client.post("/teams/daily-usage-data", json={**window, "page": page, "pageSize": 8}).json()[
            "data"
        ]
    assert len(rows) == eligible * 3
    idle = [r for r in rows if not r["isActive"]]
    assert idle
    assert all(r["agentRequests"] == 0 and r["mostUsedModel"] is None for r in idle)


# ----------------------------------------------------------------------------------- user spend limit


def test_user_spend_limit_round_trip_and_errors() -> None:
    sim = CursorSimulator(team_size=8, days=3, now=NOW)
    who = sim.dataset.members[2].email
    with served(sim.app) as server, httpx.Client(base_url=server.url, headers=auth(sim.api_key)) as c:
        ok = c.post("/teams/user-spend-limit", json={"userEmail": who, "spendLimitDollars": 100})
        assert ok.status_code == 200
        assert ok.json() == {"outcome": "success", "message": f"Spend limit set to $100 for user {who}"}
        row = next(r for r in c.post("/teams/spend", json={}).json()["teamMemberSpend"] if r["email"] == who)
        assert row["monthlyLimitDollars"] == 100
        assert row["effectivePerUserLimitDollars"] == 100
        assert sim.dataset.limit_dollars(who) == 100
        removed = c.post("/teams/user-spend-limit", json={"userEmail": who, "spendLimitDollars": None}).json()
        assert removed["outcome"] == "success"
        assert sim.dataset.limit_dollars(who) is None
        for body, message in (
            ({"userEmail": "not-an-email", "spendLimitDollars": 5}, "Invalid email format"),
            (
                {"userEmail": "ghost@example.com", "spendLimitDollars": 5},
                "User ghost@example.com is not a member of this team",
            ),
            ({"userEmail": who, "spendLimitDollars": 10.5}, None),
            ({"userEmail": who, "spendLimitDollars": "10"}, None),
        ):
            response = c.post("/teams/user-spend-limit", json=body)
            assert response.status_code == 400
            assert response.json()["outcome"] == "error"
            if message:
                assert response.json()["message"] == message


def test_team_plan_gets_403_on_enterprise_endpoints() -> None:
    sim = CursorSimulator(team_size=4, days=2, now=NOW, plan="team")
    forbidden = {"error": "Forbidden", "message": "Enterprise access required"}
    with served(sim.app) as server, httpx.Client(base_url=server.url, headers=auth(sim.api_key)) as c:
        assert c.get("/analytics/team/dau").json() == forbidden
        assert c.get("/analytics/team/models").status_code == 403
        limit = c.post(
            "/teams/user-spend-limit",
            json={"userEmail": sim.dataset.members[0].email, "spendLimitDollars": 1},
        )
        assert limit.status_code == 403
        assert limit.json() == forbidden
        assert c.get("/teams/members").status_code == 200


# ------------------------------------------------------------------------------------------- analytics


def test_analytics_dau_and_models_match_ground_truth(sim: CursorSimulator, client: httpx.Client) -> None:
    dau = client.get("/analytics/team/dau", params={"startDate": "2026-06-10", "endDate": "2026-06-16"})
    assert dau.headers["cache-control"] == "public, max-age=900"
    assert dau.headers["etag"]
    body = dau.json()
    assert body["params"]["metric"] == "dau"
    assert body["params"]["startDate"] == "2026-06-10"
    assert [r["date"] for r in body["data"]] == [f"2026-06-{d}" for d in range(10, 17)]
    for row in body["data"]:
        assert row["dau"] == sim.dataset.active_users(date.fromisoformat(row["date"]))
        assert row["dau"] >= max(row["cli_dau"], row["cloud_agent_dau"], row["bugbot_dau"])
    models = client.get("/analytics/team/models", params={"startDate": "7d", "endDate": "yesterday"}).json()
    assert models["params"]["endDate"] == "2026-06-17"
    assert models["params"]["startDate"] == "2026-06-11"
    for row in models["data"]:
        truth = sim.dataset.model_messages(date.fromisoformat(row["date"]))
        assert {k: (v["messages"], v["users"]) for k, v in row["model_breakdown"].items()} == truth
    too_long = client.get("/analytics/team/dau", params={"startDate": "2026-04-01", "endDate": "2026-06-01"})
    assert too_long.status_code == 400
    assert too_long.json()["error"] == "Bad Request"


def test_analytics_by_user_models_pages_users(sim: CursorSimulator, client: httpx.Client) -> None:
    body = client.get(
        "/analytics/by-user/models", params={"startDate": "3d", "pageSize": 10, "page": 3}
    ).json()
    assert body["pagination"]["totalUsers"] == 29
    assert body["pagination"]["totalPages"] == 3
    assert len(body["data"]) == 9
    assert not body["pagination"]["hasNextPage"]
    assert [m["email"] for m in body["params"]["userMappings"]] == list(body["data"])


def test_etag_304_does_not_count_toward_the_rate_limit() -> None:
    sim = CursorSimulator(team_size=5, days=3, now=NOW)
    params = {"startDate": "7d", "endDate": "today"}
    with served(sim.app) as server, httpx.Client(base_url=server.url, headers=auth(sim.api_key)) as c:
        first = c.get("/analytics/team/dau", params=params)
        etag = first.headers["etag"]
        for _ in range(150):
            cached = c.get("/analytics/team/dau", params=params, headers={"If-None-Match": etag})
            assert cached.status_code == 304
            assert cached.content == b""
            assert cached.headers["etag"] == etag
        statuses = [c.get("/analytics/team/dau", params=params).status_code for _ in range(100)]
        assert statuses == [200] * 99 + [429]
        # A changed dataset has a new ETag, so the old one no longer matches.
        sim.advance(timedelta(days=1))
        changed = c.get("/analytics/team/dau", params=params, headers={"If-None-Match": etag})
        assert changed.status_code == 429  # not a 304: the data changed, and the window is spent
    assert sim.stats.not_modified == 150
    assert sim.stats.rate_limited == 2


# ------------------------------------------------------------------------------------------- rate limits


def test_rate_limits_per_endpoint_class_with_documented_body() -> None:
    sim = CursorSimulator(team_size=5, days=3, now=NOW, time_scale=60)  # a "minute" lasts one second
    assert sim.limits["members"] == 20
    assert sim.limits["events"] == 60
    assert sim.limits["spend_limit"] == 250
    window = {"startDate": epoch_ms(NOW) - DAY, "endDate": epoch_ms(NOW)}
    with served(sim.app) as server, httpx.Client(base_url=server.url, headers=auth(sim.api_key)) as c:
        started = time.monotonic()
        statuses = [c.get("/teams/members").status_code for _ in range(21)]
        assert statuses == [200] * 20 + [429]
        limited = c.get("/teams/members")
        assert limited.status_code == 429
        assert limited.json() == {
            "error": "Too Many Requests",
            "message": "Rate limit exceeded. Please try again later.",
        }
        assert "retry-after" not in limited.headers
        assert not any(h.lower().startswith("x-ratelimit") for h in limited.headers)
        assert c.post("/teams/filtered-usage-events", json=window).status_code == 200  # its own bucket
        assert time.monotonic() - started < 1.0
        time.sleep(max(0.0, 1.05 - (time.monotonic() - started)))
        assert c.get("/teams/members").status_code == 200
    assert sim.stats.rate_limited == 2
    assert sim.stats.count(path="/teams/members", status=429) == 2
    assert sim.stats.count(path="/teams/members") == 23


def test_old_schema_limits() -> None:
    sim = CursorSimulator(team_size=3, days=2, now=NOW, schema="old")
    assert sim.limits["events"] == 20
    assert sim.limits["spend_limit"] == 60


# ------------------------------------------------------------------------------------------------ faults


def test_faults_fail_slow_malformed_rename_and_clear() -> None:
    sim = CursorSimulator(team_size=5, days=3, now=NOW)
    with served(sim.app) as server, httpx.Client(base_url=server.url, headers=auth(sim.api_key)) as c:
        sim.faults.fail(503, times=2, path="/teams/spend")
        assert c.get("/teams/members").status_code == 200  # other paths are untouched
        for _ in range(2):
            failed = c.post("/teams/spend", json={})
            assert failed.status_code == 503
            assert failed.json() == {
                "error": "Service Unavailable",
                "message": "Service temporarily unavailable",
            }
        assert c.post("/teams/spend", json={}).status_code == 200

        sim.faults.fail(500)
        assert c.get("/teams/members").json() == {
            "error": "Internal Server Error",
            "message": "An unexpected error occurred",
        }

        sim.faults.slow(0.3, path="/teams/members")
        started = time.monotonic()
        assert c.get("/teams/members").status_code == 200
        assert time.monotonic() - started >= 0.3

        sim.faults.malformed()
        broken = c.get("/teams/members")
        assert broken.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(broken.text)

        sim.faults.rename_field("overallSpendCents", "totalSpendCents", times=1)
        drifted = parse(c.post("/teams/spend", json={}))["teamMemberSpend"]
        assert all("totalSpendCents" in r and "overallSpendCents" not in r for r in drifted)
        assert drifted[0]["totalSpendCents"] == sim.dataset.cycle_spend(drifted[0]["email"])  # digits survive
        assert "overallSpendCents" in c.post("/teams/spend", json={}).json()["teamMemberSpend"][0]

        sim.faults.fail(502, times=None)
        assert c.get("/teams/members").status_code == 502
        sim.faults.clear()
        assert c.get("/teams/members").status_code == 200
    assert sim.stats.count(status=502) == 1
    assert sim.stats.count(status=503) == 2


def test_stats_reset() -> None:
    sim = CursorSimulator(team_size=2, days=1, now=NOW)
    with served(sim.app) as server, httpx.Client(base_url=server.url) as c:
        c.get("/teams/members")
        c.get("/nowhere", headers=auth(sim.api_key))
    assert sim.stats.requests_total == 2
    assert sim.stats.count(status=401) == 1
    assert sim.stats.count(status=404) == 1
    sim.stats.reset()
    assert sim.stats.requests_total == 0


# ------------------------------------------------------------------------------------------------- scale


def test_large_team_page_of_1000_events_is_fast() -> None:
    sim = CursorSimulator(team_size=2000, days=31, now=NOW)
    end = epoch_ms(NOW)
    body = {"startDate": end - 30 * DAY, "endDate": end, "page": 5, "pageSize": 1000}
    with (
        served(sim.app) as server,
        httpx.Client(base_url=server.url, headers=auth(sim.api_key), timeout=60) as c,
    ):
        warm = c.post("/teams/filtered-usage-events", json=body)  # generates 31 days × 2,000 users
        assert warm.json()["totalUsageEventsCount"] > 300_000
        started = time.perf_counter()
        page = c.post("/teams/filtered-usage-events", json={**body, "page": 77})
        elapsed = time.perf_counter() - started
    assert len(page.json()["usageEvents"]) == 1000
    assert elapsed < 0.25
