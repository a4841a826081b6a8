"""The people report's arithmetic: two tools or more, and the dollars on all but the main one."""

from __future__ import annotations

from decimal import Decimal

from bot.domain.overlap import ToolUse, people_on_several_tools


def _usd(tool: str, cents: int) -> ToolUse:
    return ToolUse(tool, Decimal(cents), "usd_cents", Decimal(cents))


def test_money_at_stake_is_every_dollar_tool_but_the_largest() -> None:
    found = people_on_several_tools(
        {
            "ana@x.io": [
                _usd("Cursor", 5000),
                _usd("Copilot", 1200),
                ToolUse("Anthropic", Decimal(14), "requests", None),
            ],
            "bo@x.io": [_usd("Cursor", 900), ToolUse("Windsurf", Decimal(300), "credits", None)],
            "cy@x.io": [_usd("Cursor", 7000)],  # one tool
            "di@x.io": [_usd("Cursor", 100), _usd("Copilot", 0)],  # a zero figure is no use
            "ed@x.io": [_usd("Cursor", 300), _usd("Copilot", 2500)],
        }
    )
    assert [(p.email, p.at_stake_cents) for p in found] == [
        ("ana@x.io", Decimal(1200)),
        ("ed@x.io", Decimal(300)),
        ("bo@x.io", Decimal(0)),
    ]
    ana = next(p for p in found if p.email == "ana@x.io")
    assert [use.tool for use in ana.tools] == ["Cursor", "Copilot", "Anthropic"]  # main tool first


def test_sorted_by_money_then_by_number_of_tools() -> None:
    found = people_on_several_tools(
        {
            "a@x.io": [_usd("Cursor", 500), _usd("Copilot", 100)],
            "b@x.io": [
                _usd("Cursor", 500),
                _usd("Copilot", 100),
                ToolUse("OpenAI", Decimal(3), "requests", None),
            ],
            "c@x.io": [_usd("Cursor", 400), _usd("Copilot", 900)],
        }
    )
    assert [p.email for p in found] == ["c@x.io", "b@x.io", "a@x.io"]
