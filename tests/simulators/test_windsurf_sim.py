"""The Windsurf simulator behaves like the documented Enterprise API v1, over real HTTP."""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bot.simulators.serving import served
from bot.simulators.windsurf import MODES, WindsurfSimulator

NOW = datetime(2026, 6, 18, 14, 30, tzinfo=UTC)  # cycle 2026-06-15 .. 2026-07-15 (cycle_day=15)
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$")


@pytest.fixture(scope="module")
def sim() -> WindsurfSimulator:
    return WindsurfSimulator(team_size=30, days=40, now=NOW, rate_limits_enabled=False)


@pytest.fixture(scope="module")
def client(sim: WindsurfSimulator) -> Iterator[httpx.Client]:
    with served(sim.app) as server, httpx.Client(base_url=server.url + "/api/v1") as c:
        yield c


def call(client: httpx.Client, sim: WindsurfSimulator, endpoint: str, **body: Any) -> httpx.Response:
    return client.post(f"/{endpoint}", json={"service_key": sim.service_key, **body})


def runs(
    client: httpx.Client, sim: WindsurfSimulator, start: str, end: str, **extra: Any
) -> list[dict[str, str]]:
    body = call(
        client,
        sim,
        "CascadeAnalytics",
        start_timestamp=start,
        end_timestamp=end,
        query_requests=[{"cascade_runs": {}}],
        **extra,
    ).json()
    result: list[dict[str, str]] = body["queryResults"][0].get("cascadeRuns", {}).get("cascadeRuns", [])
    return result


def query(
    client: httpx.Client, sim: WindsurfSimulator, *queries: dict[str, Any], **extra: Any
) -> httpx.Response:
    return call(client, sim, "Analytics", query_requests=list(queries), **extra)


# ----------------------------------------------------------------------------------------------- auth


def test_service_key_in_the_body_is_required(sim: WindsurfSimulator, client: httpx.Client) -> None:
    for body in ({}, {"service_key": "nope"}, {"service_key": 42}):
        response = client.post("/GetTeamCreditBalance", json=body)
        assert response.status_code == 401
        assert response.json() == {"error": "Invalid service key"}
    header_only = client.post(
        "/GetTeamCreditBalance", json={}, headers={"Authorization": f"Bearer {sim.service_key}"}
    )
    assert header_only.status_code == 401
    assert call(client, sim, "GetTeamCreditBalance").status_code == 200


def test_auth_error_status_and_revocation() -> None:
    sim = WindsurfSimulator(team_size=3, days=2, now=NOW, auth_error_status=403)
    with served(sim.app) as server, httpx.Client(base_url=server.url + "/api/v1") as c:
        assert c.post("/UserPageAnalytics", json={"service_key": "x"}).status_code == 403
        sim.revoke_key()
        revoked = call(c, sim, "UserPageAnalytics")
        assert revoked.status_code == 403
        assert revoked.json() == {"error": "Invalid service key"}
        sim.restore_key()
        assert call(c, sim, "UserPageAnalytics").status_code == 200


def test_permissions_per_endpoint_and_schema() -> None:
    read_only = frozenset({"Teams Read-Only", "Billing Read"})
    analytics_only = frozenset({"Analytics Read"})
    q = {"data_source": "QUERY_DATA_SOURCE_USER_DATA", "selections": [{"field": "date"}]}
    for schema, permissions, endpoint, body, status in (
        ("new", read_only, "UsageConfig", {"team_level": True, "set_add_on_credit_cap": 5}, 403),
        ("new", read_only, "Analytics", {"query_requests": [q]}, 403),
        ("new", analytics_only, "Analytics", {"query_requests": [q]}, 200),
        ("old", analytics_only, "Analytics", {"query_requests": [q]}, 403),  # older docs: Teams Read-Only
        ("old", read_only, "Analytics", {"query_requests": [q]}, 200),
        ("new", analytics_only, "GetTeamCreditBalance", {}, 403),
    ):
        sim = WindsurfSimulator(team_size=4, days=2, now=NOW, schema=schema, permissions=permissions)  # type: ignore[arg-type]
        with served(sim.app) as server, httpx.Client(base_url=server.url + "/api/v1") as c:
            response = call(c, sim, endpoint, **body)
        assert response.status_code == status, (schema, endpoint)
        if status == 403:
            assert response.json() == {"error": "Insufficient permissions"}


# ----------------------------------------------------------------------------------- cascade analytics


def test_cascade_runs_follow_protobuf_json_and_sum_to_ground_truth(
    sim: WindsurfSimulator, client: httpx.Client
) -> None:
    rows = runs(client, sim, "2026-06-10T00:00:00Z", "2026-06-17T00:00:00Z")
    assert rows
    totals: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    for row in rows:
        assert RFC3339.match(row["day"])
        assert row["day"].endswith("T00:00:00Z")
        assert isinstance(row["messagesSent"], str)
        assert int(row["messagesSent"]) >= 1
        assert row["mode"] in MODES
        if "promptsUsed" in row:
            assert isinstance(row["promptsUsed"], str)
            assert int(row["promptsUsed"]) > 0
            totals[(date.fromisoformat(row["day"][:10]), row["model"])] += Decimal(row["promptsUsed"]) / 100
    assert any("promptsUsed" not in row for row in rows)  # free model rows omit the zero
    assert dict(totals) == sim.dataset.credits_by_day(date(2026, 6, 10), date(2026, 6, 16))
    # Conversations split across several rows: clients must sum them.
    per_conversation: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        per_conversation[(row["day"], row["cascadeId"])] += 1
    assert max(per_conversation.values()) >= 2
    assert len({row["day"] for row in rows}) == 7


def test_cascade_queries_answer_in_request_order(sim: WindsurfSimulator, client: httpx.Client) -> None:
    body = call(
        client,
        sim,
        "CascadeAnalytics",
        start_timestamp="2026-06-15T00:00:00Z",
        end_timestamp="2026-06-17T00:00:00Z",
        query_requests=[{"cascade_tool_usage": {}}, {"cascade_lines": {}}, {"cascade_runs": {}}],
    ).json()
    tools, lines, run_rows = body["queryResults"]
    assert list(tools) == ["cascadeToolUsage"]
    assert list(lines) == ["cascadeLines"]
    assert list(run_rows) == ["cascadeRuns"]
    assert all(
        isinstance(t["count"], str) and int(t["count"]) > 0
        for t in tools["cascadeToolUsage"]["cascadeToolUsage"]
    )
    line_rows = lines["cascadeLines"]["cascadeLines"]
    assert [r["day"] for r in line_rows] == ["2026-06-15T00:00:00Z", "2026-06-16T00:00:00Z"]
    truth = [r for r in sim.dataset.runs(date(2026, 6, 15), date(2026, 6, 16)) if r.ide != "cli"]
    assert sum(int(r["linesSuggested"]) for r in line_rows) == sum(r.lines_suggested for r in truth)
    assert sum(int(r.get("linesAccepted", "0")) for r in line_rows) == sum(r.lines_accepted for r in truth)


def test_cascade_filters(sim: WindsurfSimulator, client: httpx.Client) -> None:
    who = sim.dataset.members[1].email
    mine = runs(client, sim, "2026-06-01T00:00:00Z", "2026-06-18T00:00:00Z", emails=[who])
    credits: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    for row in mine:
        credits[(date.fromisoformat(row["day"][:10]), row["model"])] += (
            Decimal(row.get("promptsUsed", "0")) / 100
        )
    assert {k: v for k, v in credits.items() if v} == sim.dataset.credits_by_day(
        date(2026, 6, 1), date(2026, 6, 17), who
    )
    both = call(
        client,
        sim,
        "CascadeAnalytics",
        group_name="Engineering",
        emails=[who],
        query_requests=[{"cascade_runs": {}}],
    )
    assert both.status_code == 400
    assert both.json() == {"error": "Cannot use both group_name and emails parameters"}
    cli = runs(client, sim, "2026-05-20T00:00:00Z", "2026-06-18T00:00:00Z", ide_types=["cli"])
    assert cli
    assert len(
        {r.cascade_id for r in sim.dataset.runs(date(2026, 5, 20), date(2026, 6, 17)) if r.ide == "cli"}
    ) == len({r["cascadeId"] for r in cli})
    bad = call(
        client, sim, "CascadeAnalytics", start_timestamp="yesterday", query_requests=[{"cascade_runs": {}}]
    )
    assert bad.status_code == 400
    assert bad.json() == {"error": "invalid timestamp format"}
    group = call(client, sim, "CascadeAnalytics", group_name="Nope", query_requests=[{"cascade_runs": {}}])
    assert group.json() == {"error": "invalid group name: Nope"}


# ---------------------------------------------------------------------------------- user page analytics


def test_user_page_analytics_new_schema(sim: WindsurfSimulator, client: httpx.Client) -> None:
    start, end = sim.dataset.cycle_start, sim.dataset.cycle_end
    body = call(
        client,
        sim,
        "UserPageAnalytics",
        start_timestamp=start.isoformat().replace("+00:00", "Z"),
        end_timestamp=end.isoformat().replace("+00:00", "Z"),
    ).json()
    assert body["billingCycleStart"] == "2026-06-15T00:00:00Z"
    assert body["billingCycleEnd"] == "2026-07-15T00:00:00Z"
    stats = body["userTableStats"]
    assert len(stats) == 30
    expected = sim.dataset.credits_by_user(date(2026, 6, 15), date(2026, 7, 14))
    for row in stats:
        member = sim.dataset.member(row["email"])
        assert row["apiKey"] == member.api_key
        assert row["name"] == member.name
        assert row["teamStatus"] == member.status
        assert RFC3339.match(row["signupTime"])
        assert Decimal(row.get("promptCreditsUsed", 0)) / 100 == expected.get(row["email"], 0)
        assert row.get("activeDays", 0) == sim.dataset.active_days(
            row["email"], date(2026, 6, 15), date(2026, 7, 14)
        )
        if "lastUpdateTime" in row:
            assert RFC3339.match(row["lastUpdateTime"])
    assert any(r["teamStatus"] == "USER_TEAM_STATUS_PENDING" and "activeDays" not in r for r in stats)
    assert sum(1 for r in stats if r.get("disableCodeium")) == 1


def test_user_page_analytics_old_schema_lacks_newer_fields() -> None:
    sim = WindsurfSimulator(team_size=5, days=5, now=NOW, schema="old")
    with served(sim.app) as server, httpx.Client(base_url=server.url + "/api/v1") as c:
        body = call(c, sim, "UserPageAnalytics").json()
        config = call(c, sim, "UsageConfig", team_level=True, set_add_on_credit_cap=300)
        assert config.status_code == 200
        assert config.json() == {}
        assert call(c, sim, "GetUsageConfig", team_level=True).json() == {"add_on_credit_cap": 300}
    assert set(body) == {"userTableStats"}
    for row in body["userTableStats"]:
        assert not {"promptCreditsUsed", "role", "signupTime", "teamStatus"} & set(row)


# ------------------------------------------------------------------------------------- custom analytics


def test_query_validation_errors(sim: WindsurfSimulator, client: httpx.Client) -> None:
    user_data = "QUERY_DATA_SOURCE_USER_DATA"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"data_source": user_data, "selections": []}, "at least one field or aggregation is required"),
        (
            {"data_source": "QUERY_DATA_SOURCE_UNSPECIFIED", "selections": [{"field": "date"}]},
            "invalid query table: QUERY_DATA_SOURCE_UNSPECIFIED",
        ),
        (
            {
                "data_source": user_data,
                "selections": [
                    {"field": "num_acceptances", "aggregation_function": "QUERY_AGGREGATION_SUM"},
                    {"field": "num_lines_accepted"},
                ],
            },
            "all selection fields should have an aggregation function, or none of them should",
        ),
        (
            {
                "data_source": user_data,
                "selections": [{"field": "ide", "aggregation_function": "QUERY_AGGREGATION_SUM"}],
            },
            "invalid aggregation function for string type field ide",
        ),
        (
            {
                "data_source": user_data,
                "selections": [{"field": "num_acceptances", "aggregation_function": "QUERY_AGGREGATION_SUM"}],
                "aggregations": [{"field": "distinct_users", "name": "u"}],
            },
            "tried to aggregate on a distinct field: distinct_users",
        ),
        (
            {
                "data_source": user_data,
                "selections": [
                    {"field": "num_acceptances", "name": "x", "aggregation_function": "QUERY_AGGREGATION_SUM"}
                ],
                "aggregations": [{"field": "date", "name": "x"}],
            },
            "duplicate field alias for selection/aggregation: x",
        ),
    ]
    for q, message in cases:
        response = query(client, sim, q)
        assert response.status_code == 400
        assert response.json() == {"error": message}


def test_query_engine_aggregates_correctly(sim: WindsurfSimulator, client: httpx.Client) -> None:
    window = [
        {"name": "date", "filter": "QUERY_FILTER_GE", "value": "2026-06-08"},
        {"name": "date", "filter": "QUERY_FILTER_LESS_THAN", "value": "2026-06-15"},
    ]
    raw = query(
        client,
        sim,
        {
            "data_source": "QUERY_DATA_SOURCE_USER_DATA",
            "selections": [
                {"field": f} for f in ("api_key", "date", "language", "num_acceptances", "num_lines_accepted")
            ],
            "filters": window,
        },
    ).json()["queryResults"][0]["responseItems"]
    assert raw
    assert all(isinstance(v, str) for r in raw for v in r["item"].values())
    assert {r["item"]["date"] for r in raw} == {f"2026-06-{d:02d}" for d in range(8, 15)}
    grouped = query(
        client,
        sim,
        {
            "data_source": "QUERY_DATA_SOURCE_USER_DATA",
            "selections": [
                {"field": "num_acceptances", "name": "acc", "aggregation_function": "QUERY_AGGREGATION_SUM"},
                {
                    "field": "num_lines_accepted",
                    "name": "most",
                    "aggregation_function": "QUERY_AGGREGATION_MAX",
                },
                {
                    "field": "num_acceptances",
                    "name": "rows",
                    "aggregation_function": "QUERY_AGGREGATION_COUNT",
                },
                {"field": "num_acceptances", "aggregation_function": "QUERY_AGGREGATION_AVG"},
                {"field": "distinct_users", "name": "users"},
            ],
            "filters": window,
            "aggregations": [{"field": "date", "name": "day"}],
        },
    ).json()["queryResults"][0]["responseItems"]
    assert [g["item"]["day"] for g in grouped] == sorted({r["item"]["date"] for r in raw})
    for group in grouped:
        item = group["item"]
        mine = [r["item"] for r in raw if r["item"]["date"] == item["day"]]
        assert item["acc"] == str(sum(int(r["num_acceptances"]) for r in mine))
        assert item["most"] == str(max(int(r["num_lines_accepted"]) for r in mine))
        assert item["rows"] == str(len(mine))
        assert item["users"] == str(len({r["api_key"] for r in mine}))
        avg = Decimal(item["avg_num_acceptances"])
        assert abs(avg - Decimal(item["acc"]) / len(mine)) < Decimal("0.000001")
    filtered = query(
        client,
        sim,
        {
            "data_source": "QUERY_DATA_SOURCE_USER_DATA",
            "selections": [
                {"field": "num_acceptances", "name": "n", "aggregation_function": "QUERY_AGGREGATION_SUM"}
            ],
            "filters": [*window, {"name": "language", "filter": "QUERY_FILTER_NOT_EQUAL", "value": "python"}],
        },
    ).json()["queryResults"][0]["responseItems"]
    assert filtered == [
        {
            "item": {
                "n": str(
                    sum(int(r["item"]["num_acceptances"]) for r in raw if r["item"]["language"] != "python")
                )
            }
        }
    ]


def test_cascade_data_prompts_plus_flex_equals_credits() -> None:
    sim = WindsurfSimulator(
        team_size=12, days=35, now=datetime(2026, 7, 12, 12, tzinfo=UTC), burn_multiplier=4.0
    )
    with served(sim.app) as server, httpx.Client(base_url=server.url + "/api/v1") as c:
        items = query(
            c,
            sim,
            {
                "data_source": "QUERY_DATA_SOURCE_CASCADE_DATA",
                "selections": [
                    {
                        "field": "prompts_used",
                        "name": "prompts",
                        "aggregation_function": "QUERY_AGGREGATION_SUM",
                    },
                    {
                        "field": "flex_credits_used",
                        "name": "flex",
                        "aggregation_function": "QUERY_AGGREGATION_SUM",
                    },
                ],
                "filters": [{"name": "date", "filter": "QUERY_FILTER_GE", "value": "2026-06-15"}],
                "aggregations": [
                    {"field": "api_key", "name": "key"},
                    {"field": "date", "name": "date"},
                    {"field": "model", "name": "model"},
                ],
            },
        ).json()["queryResults"][0]["responseItems"]
        balance = call(c, sim, "GetTeamCreditBalance").json()
    by_key = {m.api_key: m.email for m in sim.dataset.members}
    total = Decimal(0)
    flex = 0
    for entry in items:
        item = entry["item"]
        credits = (int(item["prompts"]) + int(item["flex"])) / Decimal(100)
        day = date.fromisoformat(item["date"])
        expected = sim.dataset.credits_by_day(day, day, by_key[item["key"]]).get(
            (day, item["model"]), Decimal(0)
        )
        assert credits == expected
        total += credits
        flex += int(item["flex"])
    assert total == sim.dataset.credits_used_in_cycle()
    # Heavy burn: the prompt pool is gone and add-on credits are being used up.
    assert sim.dataset.prompt_credits_used_in_cycle() == sim.dataset.prompt_credit_pool
    assert balance["addOnCreditsUsed"] == flex // 100 == sim.dataset.balance()["addOnCreditsUsed"] > 0
    assert balance["addOnCreditsUsed"] <= balance["addOnCreditsAvailable"]


# --------------------------------------------------------------------------------------------- billing


def test_credit_balance_matches_ground_truth(sim: WindsurfSimulator, client: httpx.Client) -> None:
    body = call(client, sim, "GetTeamCreditBalance").json()
    truth = sim.dataset.balance()
    assert body == {k: v for k, v in truth.items() if v != 0}
    assert "addOnCreditsUsed" not in body  # zero is omitted early in the cycle
    assert body["numSeats"] == sum(1 for m in sim.dataset.members if m.status == "USER_TEAM_STATUS_APPROVED")
    assert body["billingCycleStart"] == "2026-06-15T00:00:00Z"


def test_realistic_team_uses_a_meaningful_share_of_the_pool_late_in_the_cycle() -> None:
    sim = WindsurfSimulator(team_size=40, days=40, now=datetime(2026, 7, 13, 18, tzinfo=UTC))
    share = sim.dataset.credits_used_in_cycle() / sim.dataset.prompt_credit_pool
    assert Decimal("0.4") < share < Decimal("1.2")


def test_usage_config_round_trip_and_validation() -> None:
    sim = WindsurfSimulator(team_size=10, days=2, now=NOW)
    who = sim.dataset.members[3].email
    group = sim.dataset.groups[0]
    with served(sim.app) as server, httpx.Client(base_url=server.url + "/api/v1") as c:
        assert call(c, sim, "GetUsageConfig", team_level=True).json() == {}
        for scope in ({"team_level": True}, {"user_email": who}, {"group_id": group.group_id}):
            done = call(c, sim, "UsageConfig", set_add_on_credit_cap=750, **scope)
            assert done.status_code == 200
            assert done.json() == {}
            assert call(c, sim, "GetUsageConfig", **scope).json() == {"addOnCreditCap": 750}
        assert sim.dataset.usage_cap(team_level=True) == 750
        assert sim.dataset.usage_cap(user_email=who) == 750
        assert sim.dataset.usage_cap(group_id=group.group_id) == 750
        assert call(c, sim, "UsageConfig", clear_add_on_credit_cap=True, user_email=who).json() == {}
        assert call(c, sim, "GetUsageConfig", user_email=who).json() == {}
        assert sim.dataset.usage_cap(user_email=who) is None
        for body, message in (
            (
                {"team_level": True},
                "exactly one of set_add_on_credit_cap or clear_add_on_credit_cap must be set",
            ),
            (
                {"team_level": True, "set_add_on_credit_cap": 1, "clear_add_on_credit_cap": True},
                "exactly one of set_add_on_credit_cap or clear_add_on_credit_cap must be set",
            ),
            ({"set_add_on_credit_cap": 1}, "exactly one of team_level, group_id or user_email must be set"),
            (
                {"set_add_on_credit_cap": 1, "team_level": True, "user_email": who},
                "exactly one of team_level, group_id or user_email must be set",
            ),
            (
                {"set_add_on_credit_cap": 1, "user_email": "ghost@example.org"},
                "user not found: ghost@example.org",
            ),
            (
                {"set_add_on_credit_cap": 2.5, "team_level": True},
                "set_add_on_credit_cap must be a non-negative integer",
            ),
        ):
            response = call(c, sim, "UsageConfig", **body)
            assert response.status_code == 400
            assert response.json() == {"error": message}
        missing_scope = call(c, sim, "GetUsageConfig")
        assert missing_scope.status_code == 400
        assert "exactly one of" in missing_scope.json()["error"]


# ---------------------------------------------------------------------------------- time, determinism


def test_determinism_and_advance() -> None:
    def snapshot(sim: WindsurfSimulator, c: httpx.Client) -> tuple[bytes, ...]:
        return (
            call(c, sim, "UserPageAnalytics").content,
            call(
                c, sim, "CascadeAnalytics", query_requests=[{"cascade_runs": {}}, {"cascade_lines": {}}]
            ).content,
        )

    shots = []
    for _ in range(2):
        sim = WindsurfSimulator(team_size=8, days=6, now=datetime(2026, 6, 18, 23, 30, tzinfo=UTC))
        with served(sim.app) as server, httpx.Client(base_url=server.url + "/api/v1") as c:
            shots.append(snapshot(sim, c))
            history = runs(c, sim, "2026-06-13T00:00:00Z", "2026-06-19T00:00:00Z")
            assert runs(c, sim, "2026-06-19T00:00:00Z", "2026-06-20T00:00:00Z") == []
            sim.advance(timedelta(days=1))
            assert runs(c, sim, "2026-06-19T00:00:00Z", "2026-06-20T00:00:00Z")
            assert runs(c, sim, "2026-06-13T00:00:00Z", "2026-06-19T00:00:00Z") == history
    assert shots[0] == shots[1]


# --------------------------------------------------------------------------------- rate limits, faults


def test_rate_limit_per_key_and_reset() -> None:
    sim = WindsurfSimulator(team_size=3, days=2, now=NOW, requests_per_minute=5, time_scale=60)
    with served(sim.app) as server, httpx.Client(base_url=server.url + "/api/v1") as c:
        started = time.monotonic()
        statuses = [call(c, sim, "GetTeamCreditBalance").status_code for _ in range(6)]
        assert statuses == [200] * 5 + [429]
        limited = call(c, sim, "GetUsageConfig", team_level=True)
        assert limited.status_code == 429
        assert limited.json() == {"error": "Rate limit exceeded"}
        assert c.post("/GetTeamCreditBalance", json={"service_key": "other"}).status_code == 401
        time.sleep(max(0.0, 1.05 - (time.monotonic() - started)))
        assert call(c, sim, "GetTeamCreditBalance").status_code == 200
    assert sim.stats.rate_limited == 2


def test_faults() -> None:
    sim = WindsurfSimulator(team_size=6, days=3, now=NOW)
    with served(sim.app) as server, httpx.Client(base_url=server.url + "/api/v1") as c:
        sim.faults.fail(502, path="GetTeamCreditBalance")
        assert call(c, sim, "UserPageAnalytics").status_code == 200
        failed = call(c, sim, "GetTeamCreditBalance")
        assert failed.status_code == 502
        assert failed.json() == {"error": "bad gateway"}
        sim.faults.fail(500, path="UsageConfig")
        assert call(c, sim, "GetUsageConfig", team_level=True).status_code == 200  # not "GetUsageConfig"
        assert call(c, sim, "UsageConfig", team_level=True, set_add_on_credit_cap=1).status_code == 500
        sim.faults.malformed(path="CascadeAnalytics")
        with pytest.raises(json.JSONDecodeError):
            json.loads(call(c, sim, "CascadeAnalytics", query_requests=[{"cascade_runs": {}}]).text)
        sim.faults.rename_field("promptsUsed", "creditsUsed", times=1)
        renamed = call(c, sim, "CascadeAnalytics", query_requests=[{"cascade_runs": {}}]).json()
        rows = renamed["queryResults"][0]["cascadeRuns"]["cascadeRuns"]
        assert any("creditsUsed" in r for r in rows)
        assert not any("promptsUsed" in r for r in rows)
        sim.faults.slow(0.25)
        started = time.monotonic()
        call(c, sim, "GetTeamCreditBalance")
        assert time.monotonic() - started >= 0.25
        assert "promptsUsed" in json.dumps(
            call(c, sim, "CascadeAnalytics", query_requests=[{"cascade_runs": {}}]).json()
        )
