"""The rule that decides between Windsurf's per-person figures and its team totals, day by day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.domain.reconcile import ROUNDING, per_person_days

D1, D2, D3 = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)


def test_days_that_add_up_within_rounding_keep_their_per_person_figures() -> None:
    team = {D1: Decimal("120.50"), D2: Decimal("7")}
    person = {D1: Decimal("120.50"), D2: Decimal("6.25")}
    assert per_person_days(person, team) == {D1, D2}


def test_no_per_person_rows_means_team_totals_never_zero() -> None:
    assert per_person_days({}, {D1: Decimal("300"), D2: Decimal("0.40")}) == frozenset()


def test_a_partial_breakdown_loses_to_the_team_total() -> None:
    team = {D1: Decimal("300"), D2: Decimal("80"), D3: Decimal("5")}
    person = {D1: Decimal("150"), D2: Decimal("80"), D3: Decimal("5") + ROUNDING}
    assert per_person_days(person, team) == {D2}


def test_per_person_spend_the_team_total_does_not_know_is_not_trusted() -> None:
    assert per_person_days({D1: Decimal("0.5")}, {}) == frozenset()
    assert per_person_days({}, {}) == frozenset()
