"""Why spend changed: people, use per person, model mix and cost per request, adding up to the cent."""

from __future__ import annotations

from decimal import Decimal

from bot.domain.change import ToolChange, ToolPeriod, explain, round_parts

D = Decimal


def _period(people: int, **models: tuple[int, int]) -> ToolPeriod:
    return ToolPeriod(people, {name: (D(cents), D(requests)) for name, (cents, requests) in models.items()})


def test_each_factor_alone_is_its_own_part() -> None:
    base = _period(10, cheap=(1000, 100), dear=(1000, 25))  # 125 requests, $20
    more_people = explain([ToolChange("Cursor", base, _period(20, cheap=(2000, 200), dear=(2000, 50)))])
    assert more_people.parts == (("people", D(2000)),)
    more_use = explain([ToolChange("Cursor", base, _period(10, cheap=(2000, 200), dear=(2000, 50)))])
    assert more_use.parts == (("usage", D(2000)),)
    # The same 125 requests, moved to the dearer model at its old price of 40 cents a request.
    shifted = explain([ToolChange("Cursor", base, _period(10, cheap=(250, 25), dear=(4000, 100)))])
    assert shifted.parts == (("mix", D(2250)),)
    dearer = explain([ToolChange("Cursor", base, _period(10, cheap=(2000, 100), dear=(1000, 25)))])
    assert dearer.parts == (("rate", D(1000)),)


def test_the_parts_and_the_tools_add_up_to_the_rounded_change() -> None:
    before = _period(7, a=(1234, 77), b=(999, 3))
    after = _period(9, a=(1500, 80), c=(777, 11))  # b dropped, c new
    org = ToolChange("OpenAI", _period(0, x=(5000, 0)), _period(0, x=(4321, 0)), by_person=False)
    why = explain([ToolChange("Cursor", before, after), org])
    change = D(1500 + 777 - 1234 - 999 + 4321 - 5000)
    assert why.change_cents == change == sum(value for _, value in why.parts)
    assert dict(why.tools) == {"Cursor": D(44), "OpenAI": D(-679)}
    assert dict(why.parts)["organisation"] == D(-679)


def test_a_tool_new_in_the_period_is_all_new_people_and_one_without_requests_is_people_and_spend() -> None:
    new = explain([ToolChange("Copilot", _period(0), _period(3, m=(900, 9)))])
    assert new.parts == (("people", D(900)),)
    credits = explain([ToolChange("Windsurf", _period(4, m=(400, 0)), _period(5, m=(1000, 0)))])
    assert credits.parts == (("people", D(100)), ("spend", D(500)))


def test_rounding_by_largest_remainder_keeps_the_sum() -> None:
    assert round_parts([D("0.4"), D("0.4"), D("0.4"), D("-0.7")]) == [D(1), D(1), D(0), D(-1)]  # 0.5 → 1
    assert round_parts([D("10.333"), D("10.333"), D("10.334")]) == [D(10), D(10), D(11)]
    assert round_parts([D("-1.5"), D("0.25")]) == [D(-1), D(0)]
