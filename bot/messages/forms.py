"""The connect modal and the small modals around it: what an admin fills in to add a connection.

The Slack layer opens these and reads their submissions; both sides agree on the callback id
(:data:`CONNECT_VIEW`), one block id per field and the action id :data:`VALUE` of every input. No view
here ever holds a key: the form shows the non-secret fields again, and a connected key only by its
stored hint (at most its last four characters).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.domain.errors import code_span
from bot.domain.usage import Vendor
from bot.domain.vendors import display_name, traits
from bot.messages.blocks import section
from bot.messages.message import Block
from bot.messages.mrkdwn import escape

CONNECT_VIEW = "spendbot_connect"
VALUE = "value"  # the action id of every input of the connect form
MAX_TITLE = 24
"""Characters of a modal's title: Slack refuses a longer one."""


def connect_modal(
    vendor: str,
    *,
    channel_id: str,
    values: Mapping[str, str] | None = None,
    default_base_url: str = "",
    problem: str | None = None,
) -> dict[str, Any]:
    """The connect form for ``vendor``; ``values`` pre-fills the non-secret fields. Never holds a key."""
    values = values or {}
    title = display_name(vendor)
    blocks: list[Block] = []
    if problem:
        blocks.append(section(f":warning: {escape(problem)}"))
    blocks.append(
        section(
            f"The key is tried with one live call to {title} before anything is saved, then stored "
            "encrypted. It is never shown again: `connections` shows at most its last four characters."
        )
    )
    blocks.append(
        text_input(
            "name",
            "Connection name",
            values.get("name"),
            hint="Lowercase letters, digits, - and _.",
            max_length=40,
        )
    )
    blocks.append(text_input("key", traits(vendor).key_label, None, max_length=2000))
    if (account_label := traits(vendor).account_label) is not None:
        blocks.append(_account_input(account_label, values.get("account")))
    if traits(vendor).has_probe:
        blocks += _probe_inputs(values)
    else:
        blocks.append(_base_url_override(values.get("base_url"), default_base_url))
    return {
        "type": "modal",
        "callback_id": CONNECT_VIEW,
        "title": plain(f"Connect {title}"[:MAX_TITLE]),
        "submit": plain("Connect"),
        "close": plain("Cancel"),
        "private_metadata": json.dumps({"vendor": vendor, "channel": channel_id}),
        "blocks": blocks,
    }


def _account_input(label: str, current: str | None) -> Block:
    """The vendor account a key reads (Copilot's organization, or an enterprise)."""
    return text_input(
        "account",
        label,
        current,
        placeholder="acme",
        hint="The organization as in github.com/ORG; enterprise:SLUG for an enterprise's figures.",
        max_length=100,
    )


def _base_url_override(current: str | None, default_base_url: str) -> Block:
    """An optional base URL, pre-filled only when it differs from the vendor's default."""
    return text_input(
        "base_url",
        "Base URL override",
        current if current != default_base_url else None,
        optional=True,
        placeholder=default_base_url or "https://",
        hint="Only for a proxy; leave empty to use the default.",
        max_length=500,
    )


def _probe_inputs(values: Mapping[str, str]) -> list[Block]:
    """The fields of a vendor checked through a probe endpoint (the REST API): URL, quotas, a figure."""
    return [
        text_input(
            "base_url",
            "Base URL",
            values.get("base_url"),
            placeholder="https://api.example.com/v1",
            max_length=500,
        ),
        text_input(
            "probe_path",
            "Probe endpoint",
            values.get("probe_path"),
            optional=True,
            placeholder="/v1/account",
            hint="A cheap GET polled for the rate-limit headers; the base URL itself when empty.",
            max_length=300,
        ),
        number_input("per_minute", "Plan quota per minute", values.get("per_minute")),
        number_input("per_day", "Plan quota per day", values.get("per_day")),
        text_input(
            "track",
            "JSON field to track",
            values.get("track"),
            optional=True,
            placeholder="/v1/usage#data.credits_remaining",
            hint="PATH#json.field of a spend or credit figure, if the API has one.",
            max_length=400,
        ),
    ]


def checking_view(vendor: Vendor | str) -> dict[str, Any]:
    """Shown while a slow key check finishes (Slack would close a modal not answered in 3 seconds)."""
    return {
        "type": "modal",
        "callback_id": CONNECT_VIEW,
        "title": plain("Checking the key…"),
        "close": plain("Close"),
        "blocks": [
            section(
                ":hourglass_flowing_sand: Checking the key with one live call to "
                f"{display_name(vendor)}… This form updates itself in a few seconds; "
                "closing it does not stop the check."
            )
        ],
    }


def connected_view(name: str, vendor: Vendor | str, key_hint: str) -> dict[str, Any]:
    """The modal after a key was accepted: it names the key only by its stored hint (at most 4 chars)."""
    ending = f" The key ends in …{key_hint[-4:]}." if key_hint else ""
    return notice_view(
        "Connected ✓",
        f":white_check_mark: {code_span(name)} ({display_name(vendor)}) is connected.{ending} "
        "A first sync has started; `status` and `connections` show it shortly.",
    )


def notice_view(title: str, text: str) -> dict[str, Any]:
    """A modal that only says something, with a "Done" button (its title cut to Slack's 24 characters)."""
    return {
        "type": "modal",
        "title": plain(title[:MAX_TITLE]),
        "close": plain("Done"),
        "blocks": [section(text)],
    }


# ---------------------------------------------------------------------------------------------- elements


def plain(text: str) -> Block:
    """A ``plain_text`` object, as titles, labels, hints and button texts take."""
    return {"type": "plain_text", "text": text, "emoji": True}


def text_input(
    block_id: str,
    label: str,
    initial: str | None,
    *,
    optional: bool = False,
    placeholder: str | None = None,
    hint: str | None = None,
    max_length: int = 3000,
) -> Block:
    """One text field; ``block_id`` names the field in the submission, its action id is :data:`VALUE`."""
    element: Block = {"type": "plain_text_input", "action_id": VALUE, "max_length": max_length}
    if initial:
        element["initial_value"] = initial[:max_length]
    if placeholder:
        element["placeholder"] = plain(placeholder[:150])
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint)
    return block


def number_input(block_id: str, label: str, initial: str | None) -> Block:
    """An optional whole-number field of at least 1 (a plan quota)."""
    element: Block = {
        "type": "number_input",
        "action_id": VALUE,
        "is_decimal_allowed": False,
        "min_value": "1",
    }
    if initial:
        element["initial_value"] = initial
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": element,
        "optional": True,
    }
