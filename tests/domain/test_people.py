"""SPENDBOT_PERSON_ALIASES: parsing, refusal of ambiguous maps, lookup."""

from __future__ import annotations

import pytest

from bot.domain.people import PersonAliases


def test_aliases_map_logins_and_second_emails_to_one_email_case_insensitively() -> None:
    aliases = PersonAliases.parse(
        " Alice-Smith=alice@example.com, a.smith@Contractor.io = ALICE@example.com ,"
    )
    assert aliases.canonical("alice-smith") == "alice@example.com"
    assert aliases.canonical("A.Smith@contractor.io") == "alice@example.com"
    assert aliases.canonical("Bob@Example.com") == "bob@example.com"  # no alias: itself, lowercased
    assert aliases.aliases_of("Alice@example.com") == {"alice-smith", "a.smith@contractor.io"}
    assert aliases and not PersonAliases.parse("")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("alice-smith", "should be alias=email"),
        ("alice-smith=alice", "should be alias=email"),
        ("a=b@x.io, a=c@x.io", "mapped to both"),
        ("a=b@x.io, b@x.io=c@x.io", "both an alias and the email"),
    ],
)
def test_a_wrong_or_ambiguous_map_is_refused_naming_the_pair(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        PersonAliases.parse(text)


def test_the_setting_is_checked_at_startup() -> None:
    from pydantic import ValidationError

    from bot.settings import Settings

    with pytest.raises(ValidationError, match="mapped to both"):
        Settings(_env_file=None, person_aliases="a=b@x.io, a=c@x.io")  # type: ignore[call-arg]
    assert Settings(_env_file=None, person_aliases="a=b@x.io").aliases.canonical("A") == "b@x.io"  # type: ignore[call-arg]
