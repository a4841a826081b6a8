"""The pure sums behind the read answers: breakdowns, dollar totals, rankings, limit watches, pools."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from bot.domain.commands import SourceFilter
from bot.messages.answers import USD, BreakdownRow, NearLimit, Pool, SourceTotal
from bot.services.credit_figures import near_limit, pools_of, window_view
from bot.services.sources import chosen_sources, connection_label
from bot.services.spend_answers import breakdowns, dollar_totals, merge_row, ranked, ranking
from bot.services.usage_figures import calendar_month, has_unattributed, last_whole_days
from bot.store.models import Connection, CycleSpendRow, RateLimitReading
from bot.store.usage import UsageTotal

D = Decimal
NOW = datetime(2026, 11, 20, 15, 37, tzinfo=UTC)


def source_total(name: str, usd: Decimal | None, previous: Decimal | None) -> SourceTotal:
    return SourceTotal(name, "cursor", USD, D(1), D(1), D(0), usd_cents=usd, previous_usd_cents=previous)


def cycle_row(email: str, total: str, limit: str | None) -> CycleSpendRow:
    return CycleSpendRow(
        connection_id=1,
        cycle_start=NOW,
        user_email=email,
        total=D(total),
        limit_cents=None if limit is None else D(limit),
        observed_at=NOW,
    )


def test_merge_row_adds_amounts_and_requests_to_an_existing_row() -> None:
    part: dict[str, BreakdownRow] = {}
    merge_row(part, "a@x.com", D(300), USD, D(2))
    merge_row(part, "a@x.com", D(200), USD, D(5))
    merge_row(part, "b@x.com", D(1), USD, D(1))
    assert part == {
        "a@x.com": BreakdownRow("a@x.com", D(500), USD, D(7)),
        "b@x.com": BreakdownRow("b@x.com", D(1), USD, D(1)),
    }


def test_breakdowns_sort_rows_largest_first_and_days_in_order() -> None:
    parts = {
        "credits": {"m": BreakdownRow("m", D(1), "credits")},
        USD: {"a": BreakdownRow("a", D(1), USD), "b": BreakdownRow("b", D(9), USD)},
    }
    by_user = breakdowns("user", parts, {})
    assert [[row.label for row in item.rows] for item in by_user] == [["m"], ["b", "a"]]
    days = {USD: {date(2026, 11, 2): D(5), date(2026, 11, 1): D(3)}}
    (by_day,) = breakdowns("day", {}, days)
    assert by_day.by == "day"
    assert [(row.label, row.amount, row.unit) for row in by_day.rows] == [
        ("2026-11-01", D(3), USD),
        ("2026-11-02", D(5), USD),
    ]
    assert breakdowns(None, parts, days) == ()


def test_dollar_totals_sum_only_the_sources_counted_in_dollars() -> None:
    totals = [
        source_total("cursor", D(500), D(100)),
        source_total("windsurf", None, None),
        source_total("b", D(1), None),
    ]
    assert dollar_totals(totals) == (D(501), D(100), ("windsurf",))
    assert dollar_totals([source_total("windsurf", None, None)]) == (None, None, ("windsurf",))
    assert dollar_totals([]) == (None, None, ())


def test_ranking_keeps_the_first_n_and_counts_everyone_who_spent() -> None:
    ordered = ranked({"c@x.com": D(5), "a@x.com": D(5), "b@x.com": D(9), "z@x.com": D(0)})
    assert [email for email, _ in ordered] == ["b@x.com", "a@x.com", "c@x.com", "z@x.com"]
    result = ranking(USD, ["cursor"], ordered, 2, {"b@x.com": "Bea"})
    assert [(person.email, person.name) for person in result.people] == [
        ("b@x.com", "Bea"),
        ("a@x.com", None),
    ]
    assert result.total_people == 3
    assert result.sources == ("cursor",)


def test_near_limit_takes_people_at_the_threshold_or_with_a_zero_limit() -> None:
    rows = [
        cycle_row("under@x.com", "8999", "10000"),
        cycle_row("at@x.com", "9000", "10000"),
        cycle_row("over@x.com", "12000", "10000"),
        cycle_row("zero@x.com", "0", "0"),
        cycle_row("none@x.com", "50000", None),
    ]
    near = near_limit(rows, D(90))
    assert [item.email for item in near] == ["over@x.com", "zero@x.com", "at@x.com"]
    assert near[-1] == NearLimit("at@x.com", None, D(9000), D(10000))


def test_pools_of_reads_stored_strings_as_decimals() -> None:
    assert pools_of([{"name": "prompt", "size": "500", "used": "120.5"}, {"name": "add-on"}]) == (
        Pool("prompt", D(500), D("120.5")),
        Pool("add-on", D(0), D(0)),
    )


def test_window_view_copies_a_reading() -> None:
    reading = RateLimitReading(
        connection_id=1, scope="admin", limit=20, remaining=3, observed_at=NOW, rate_limited_total=2
    )
    view = window_view(reading)
    assert (view.scope, view.limit, view.remaining, view.rate_limited_total, view.observed_at) == (
        "admin",
        20,
        3,
        2,
        NOW,
    )


def test_calendar_month_and_last_whole_days() -> None:
    assert calendar_month(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    series = {date(2026, 11, 19): D(7), date(2026, 11, 13): D(1), date(2026, 11, 20): D(99)}
    assert last_whole_days(series, date(2026, 11, 20)) == [D(1), D(0), D(0), D(0), D(0), D(0), D(7)]


def test_has_unattributed_only_for_spend_under_no_one() -> None:
    assert has_unattributed([UsageTotal("a@x.com", D(1), D(1)), UsageTotal(None, D(2), D(0))])
    assert not has_unattributed([UsageTotal("a@x.com", D(1), D(1)), UsageTotal("", D(0), D(3))])


def test_sources_are_chosen_by_vendor_or_name_and_labelled() -> None:
    cursor = Connection(id=1, team_id="T1", vendor="cursor", name="cursor")
    team_b = Connection(id=2, team_id="T1", vendor="cursor", name="team-b")
    windsurf = Connection(id=3, team_id="T1", vendor="windsurf", name="windsurf")
    every = [cursor, team_b, windsurf]
    assert chosen_sources(every, None) == every
    assert chosen_sources(every, SourceFilter(vendor="cursor")) == [cursor, team_b]
    assert chosen_sources(every, SourceFilter(connection="team-b")) == [team_b]
    assert chosen_sources(every, SourceFilter(connection="nope")) == []
    assert connection_label(cursor) == "Cursor"
    assert connection_label(team_b) == "Cursor `team-b`"
