"""The files a newcomer and an operator rely on stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def _manifest() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "manifest.yml").read_text())
    return data


def _env_names() -> set[str]:
    names: set[str] = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        choices = getattr(alias, "choices", ())
        names.update(str(choice) for choice in choices if str(choice).isupper())
    return names


def test_manifest_declares_the_slash_command_as_the_bot_expects_it() -> None:
    (command,) = _manifest()["features"]["slash_commands"]
    assert command["command"] == Settings.model_fields["command"].default
    assert command["should_escape"] is True
    assert command["usage_hint"]
    assert len(command["command"]) <= 32


def test_manifest_has_the_scopes_events_and_features_of_the_roadmap() -> None:
    manifest = _manifest()
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {
        "commands",
        "chat:write",
        "files:write",
        "im:write",
        "users:read",
        "users:read.email",
        "channels:history",
        "groups:history",
    } <= scopes
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) >= {
        "app_home_opened",
        "app_uninstalled",
        "tokens_revoked",
    }
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["features"]["bot_user"]["display_name"]
    assert len(manifest["display_information"]["long_description"]) >= 174


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), flags=re.MULTILINE))
    assert listed == _env_names()


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = sorted(name for name in _env_names() if f"`{name}`" not in readme)
    assert missing == []


def test_readme_quickstart_is_the_two_make_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^\s*(make \w+)\s*$", quickstart, flags=re.MULTILINE)
    assert commands[:2] == ["make run", "make test"] or commands[:2] == ["make demo", "make test"]
