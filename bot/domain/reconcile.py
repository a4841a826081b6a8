"""Which credit figures to believe when two sources of the same spend disagree.

Windsurf reports a team's credits twice: per person (Custom Analytics over the undocumented
CASCADE_DATA source) and for the whole team (Cascade runs, which the balance's figures agree with).
The per-person breakdown is only worth showing when it adds up to the team's total; a breakdown that
is empty (individual-level analytics off) or partial must not turn the team's spend into a silent
zero. So the rule, day by day: use the per-person figures of a UTC day only when they add up to the
team's total of that day within rounding; otherwise the team's total is that day's figure, and views
by person say that per-person figures are unavailable.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

ROUNDING = Decimal(1)
"""Per-person and team figures are sums of hundredths of a credit, and the balance speaks in whole
credits: a day's difference below one credit is rounding, anything more is a disagreement."""

_ZERO = Decimal(0)


def per_person_days(
    person: Mapping[date, Decimal], team: Mapping[date, Decimal], *, tolerance: Decimal = ROUNDING
) -> frozenset[date]:
    """The days whose per-person figures agree with the team's total, so may be used as they are.

    ``person`` and ``team`` are each source's total per UTC day (a day without rows is absent). A day
    only one of them reports is a disagreement: team spend with no per-person rows would otherwise vanish,
    and per-person spend the team total does not know of would be counted twice over the balance.
    """
    days = set(person) | set(team)
    return frozenset(
        day
        for day in days
        if (day in person) == (day in team) and abs(person.get(day, _ZERO) - team.get(day, _ZERO)) < tolerance
    )
