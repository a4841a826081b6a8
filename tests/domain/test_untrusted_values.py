"""Slack ids by shape and bounded JSON: the two checks that untrusted values from Slack pass."""

from __future__ import annotations

import json

import pytest

from bot.domain.bounded_json import UnreadableValue, loads_bounded
from bot.domain.slack_ids import InvalidSlackId, SlackIdKind, is_slack_id, require_slack_id


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (SlackIdKind.TEAM, "T024BE7LD"),
        (SlackIdKind.TEAM, "T1"),
        (SlackIdKind.ENTERPRISE, "E0AB12CD3"),
        (SlackIdKind.USER, "U0G9QF9C6"),
        (SlackIdKind.USER, "W012A3CDE"),
        (SlackIdKind.USER, "USLACKBOT"),
        (SlackIdKind.CHANNEL, "C2147483705"),
        (SlackIdKind.CHANNEL, "G0123ABCD"),
        (SlackIdKind.CHANNEL, "D0UMEMBER1"),
    ],
)
def test_real_ids_pass(kind: SlackIdKind, value: str) -> None:
    assert is_slack_id(kind, value)
    assert require_slack_id(kind, value) == value


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (SlackIdKind.TEAM, "../../x"),
        (SlackIdKind.TEAM, "T0001/.."),
        (SlackIdKind.TEAM, "t0001"),
        (SlackIdKind.TEAM, "U0001"),  # a user id where a team id belongs
        (SlackIdKind.TEAM, "T"),
        (SlackIdKind.TEAM, "T" + "A" * 40),
        (SlackIdKind.USER, "U0001\n"),
        (SlackIdKind.USER, "U0001 "),
        (SlackIdKind.CHANNEL, "C0001<!channel>"),
        (SlackIdKind.CHANNEL, 12345),
        (SlackIdKind.CHANNEL, None),
    ],
)
def test_anything_else_is_refused(kind: SlackIdKind, value: object) -> None:
    assert not is_slack_id(kind, value)
    with pytest.raises(InvalidSlackId):
        require_slack_id(kind, value)


def test_bounded_json_reads_small_values() -> None:
    value = {"op": "set-cap", "scope": "team", "note": 'a [bracket], a " quote and a \\ {'}
    assert loads_bounded(json.dumps(value)) == value


@pytest.mark.parametrize(
    "text",
    ["[" * 200_000, "x" * 3001, "[" * 9 + "]" * 9, '{"a": ' * 9 + "1" + "}" * 9, "{nonsense", ""],
)
def test_bounded_json_refuses_long_deep_or_broken_values_without_recursing(text: str) -> None:
    with pytest.raises(UnreadableValue):
        loads_bounded(text)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    assert loads_bounded(json.dumps({"a": "[" * 100}), max_depth=1) == {"a": "[" * 100}
