"""``spendbot sync``'s choices: which connections a name picks, and the line before the progress bars."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.console.operations import OperationError, choose_connections, sync_heading
from bot.store.models import Connection


def _rows(*names: str) -> list[Connection]:
    return [
        Connection(team_id="T0001", name=name, vendor="cursor", base_url="https://x.test", origin="env")
        for name in names
    ]


def test_without_a_name_every_connection_is_synced() -> None:
    every = _rows("cursor", "windsurf")
    assert choose_connections(every, None) == every


def test_a_name_is_matched_as_typed_in_any_case() -> None:
    every = _rows("cursor", "windsurf")
    assert [row.name for row in choose_connections(every, " Windsurf ")] == ["windsurf"]


def test_an_unknown_name_lists_the_known_ones_and_exits_2() -> None:
    with pytest.raises(OperationError, match="known connections: cursor, windsurf") as raised:
        choose_connections(_rows("windsurf", "cursor"), "rest")
    assert raised.value.code == 2


def test_a_name_with_no_connections_at_all_says_none_yet() -> None:
    with pytest.raises(OperationError, match="known connections: none yet"):
        choose_connections([], "cursor")


def test_no_connections_and_no_name_is_not_an_error() -> None:
    assert choose_connections([], None) == []


def test_the_heading_counts_connections_and_names_a_backfill() -> None:
    assert sync_heading(1, None) == "Syncing 1 connection:"
    assert sync_heading(3, timedelta(days=90)) == "Syncing 3 connections, re-fetching 90 days of usage:"
