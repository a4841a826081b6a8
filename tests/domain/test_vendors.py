"""The vendor traits table: complete, consistent, and the only place services learn what a vendor is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.domain.usage import Unit, Vendor
from bot.domain.vendors import TRAITS, CreditsLeft, LimitKind, display_name, traits, usage_vendors


def test_every_vendor_has_an_entry_keyed_by_itself() -> None:
    assert set(TRAITS) == set(Vendor)
    assert all(entry.vendor is vendor for vendor, entry in TRAITS.items())


def test_display_names_and_connect_buttons_are_unique() -> None:
    names = [entry.display_name for entry in TRAITS.values()]
    buttons = [entry.connect_button for entry in TRAITS.values()]
    assert len(set(names)) == len(names)
    assert len(set(buttons)) == len(buttons)


def test_lookup_accepts_the_enum_or_its_stored_value() -> None:
    assert traits("windsurf") is traits(Vendor.WINDSURF)
    with pytest.raises(ValueError, match="gemini"):
        traits("gemini")
    assert display_name("rest") == "REST"
    assert display_name("gemini") == "gemini"  # a row written by a newer version still renders


def test_live_datasets_are_a_subset_of_what_a_full_sync_fetches() -> None:
    for entry in TRAITS.values():
        assert set(entry.live_datasets) <= set(entry.datasets)
        assert entry.main_dataset in entry.datasets
        assert entry.live_datasets, f"{entry.vendor}: an alert check would not see it fail"


def test_the_facts_services_rely_on() -> None:
    assert usage_vendors() == (
        Vendor.CURSOR,
        Vendor.WINDSURF,
        Vendor.OPENAI,
        Vendor.ANTHROPIC,
        Vendor.COPILOT,
    )
    openai = traits(Vendor.OPENAI)
    assert openai.unit is Unit.USD_CENTS and openai.utc_days and openai.reports_request_counts
    assert openai.writable_limit is LimitKind.NONE
    windsurf = traits(Vendor.WINDSURF)
    assert windsurf.unit is Unit.CREDITS and windsurf.utc_days
    assert windsurf.credits_left is CreditsLeft.CREDIT_POOL
    assert not windsurf.reports_request_counts
    assert traits(Vendor.CURSOR).writable_limit is LimitKind.SPEND_LIMIT
    assert traits(Vendor.ANTHROPIC).writable_limit is LimitKind.SPEND_LIMIT  # a Claude Enterprise org's
    for entry in TRAITS.values():  # what reads a written limit back is one of the vendor's datasets
        assert entry.limits_dataset is None or entry.limits_dataset in entry.datasets, entry.vendor
    assert windsurf.writable_limit is LimitKind.CREDIT_CAP
    assert traits(Vendor.REST).writable_limit is LimitKind.NONE and traits(Vendor.REST).has_probe
    # Every setting a trait names exists (a typo would fail only when that vendor is connected).
    from bot.settings import Settings

    named = [name for e in TRAITS.values() for name in (e.base_url_setting, e.pace_setting) if name]
    assert set(named) <= set(Settings.model_fields)
    assert openai.pace_setting == "openai_requests_per_minute"
    anthropic = traits(Vendor.ANTHROPIC)
    assert anthropic.unit is Unit.USD_CENTS and anthropic.utc_days and not anthropic.spend_by_person
    assert anthropic.pace_setting == "anthropic_requests_per_minute"
    copilot = traits(Vendor.COPILOT)
    assert copilot.unit is Unit.USD_CENTS and copilot.spend_by_person and not copilot.reports_request_counts
    assert copilot.credits_left is CreditsLeft.CREDIT_POOL and copilot.account_label is not None
    assert copilot.pace_setting is None  # GitHub documents its limits: the client paces by them
    # A form without a default base URL must ask for one.
    assert all(entry.base_url_setting or entry.has_probe for entry in TRAITS.values())


VENDOR_LITERAL = re.compile(
    r'Vendor\.(CURSOR|WINDSURF|OPENAI|ANTHROPIC|COPILOT|REST)\b|"(cursor|windsurf|openai|anthropic|copilot|rest)"'
)
MAX_VENDOR_LITERALS = {"services": 12, "slack": 0}
"""What is left on purpose: the environment's declared connections (``connections.py``, one setting per
vendor, so one line more with each of OpenAI, Anthropic and Copilot), the write service choosing the
client with the limit (``writes.py``), the default budget vendor (``subscriptions.py``), and a pagination
``"cursor"`` argument that only looks like a vendor."""


@pytest.mark.parametrize("package", sorted(MAX_VENDOR_LITERALS))
def test_vendor_names_do_not_creep_back_into_services_and_slack(package: str) -> None:
    root = Path(__file__).resolve().parents[2] / "bot" / package
    found = [
        f"{path.relative_to(root.parent.parent)}:{number}: {line.strip()}"
        for path in sorted(root.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if VENDOR_LITERAL.search(line)
    ]
    assert len(found) <= MAX_VENDOR_LITERALS[package], (
        f"bot/{package} names a vendor {len(found)} times (at most {MAX_VENDOR_LITERALS[package]}): ask "
        "bot.domain.vendors.traits(vendor) instead, or add the fact to the traits table.\n" + "\n".join(found)
    )
