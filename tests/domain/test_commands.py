from __future__ import annotations

import dataclasses

import pytest

from bot.domain.commands import Connect, Disconnect, SourceFilter, Spend, UserRef
from bot.domain.grammar import COMMANDS


def test_source_filter_is_a_vendor_or_a_connection() -> None:
    assert SourceFilter(vendor="cursor").token == "cursor"
    assert SourceFilter(connection="prod").token == "prod"
    with pytest.raises(ValueError, match="either"):
        SourceFilter()
    with pytest.raises(ValueError, match="either"):
        SourceFilter(vendor="cursor", connection="prod")


def test_user_ref_is_a_slack_id_or_an_email() -> None:
    assert UserRef(slack_id="U1").email is None
    with pytest.raises(ValueError, match="either"):
        UserRef()
    with pytest.raises(ValueError, match="either"):
        UserRef(slack_id="U1", email="a@b.co")


def test_spend_by_user_names_people() -> None:
    assert Spend(by="user").names_people
    assert not Spend(by="model").names_people
    assert not Spend().names_people


def test_commands_are_frozen_and_name_their_registry_entry() -> None:
    names = {spec.name for spec in COMMANDS}
    spend = Spend()
    with pytest.raises(dataclasses.FrozenInstanceError):
        spend.by = "user"  # type: ignore[misc]
    assert Spend.spec_name in names
    assert Connect(vendor="rest", name="billing").name == "billing"
    assert Disconnect(name="billing").spec_name == "disconnect"
