"""Limit requests: what admins see (with Approve and Deny), what the message becomes once decided, and
what the person who asked is told. The reason is the asker's own words: always escaped."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.domain.vendors import display_name
from bot.messages.blocks import actions, button, context, header, message, section
from bot.messages.message import Message
from bot.messages.mrkdwn import escape

APPROVE_ACTION = "limit_request_approve"
DENY_ACTION = "limit_request_deny"
DENY_VIEW = "limit_request_deny_reason"
DENY_REASON_BLOCK = "reason"
DENY_REASON_INPUT = "reason_input"


@dataclass(frozen=True)
class RequestView:
    """A request as the messages show it: who, what, on which connection, against what they have now."""

    request_id: int
    requester_id: str
    email: str
    connection: str
    vendor: str
    amount: int
    unit: str  # usd | credits
    reason: str | None
    current: str | None  # "$200.00", "no limit", "unknown"; None once decided (it changed since)
    spent: str | None = None  # "$180.00 spent this cycle" where known

    @property
    def limit(self) -> str:
        return limit_words(self.vendor, self.amount, self.unit)


def limit_words(vendor: str, amount: int, unit: str) -> str:
    """ "a $500 Cursor spend limit" or "a 3,000-credit Windsurf credit cap"."""
    tool = display_name(vendor)
    if unit == "usd":
        return f"a ${amount:,} {tool} spend limit"
    return f"a {amount:,}-credit {tool} credit cap"


def _facts(view: RequestView) -> str:
    asked = f"<@{view.requester_id}> ({escape(view.email)}) asks for *{view.limit}*"
    text = f"{asked} on `{view.connection}`."
    if view.current is not None:
        text += f"\nNow: {view.current}" + (f", {view.spent}" if view.spent else "") + "."
    if view.reason:
        text += "\n> " + escape(view.reason).replace("\n", "\n> ")
    return text


def request_message(view: RequestView) -> Message:
    """The admins' message: the request, and Approve / Deny (their values carry only the request id)."""
    value = str(view.request_id)
    blocks = [
        header(f"Limit request #{view.request_id}"),
        section(_facts(view)),
        actions(
            button("Approve", APPROVE_ACTION, value, style="primary"),
            button("Deny", DENY_ACTION, value, style="danger"),
        ),
        context(
            f"Approving applies it through {display_name(view.vendor)}'s API once and tells the person; "
            "denying asks for a reason to give them. Only admins can decide."
        ),
    ]
    return message(
        f"Limit request #{view.request_id}: {limit_words(view.vendor, view.amount, view.unit)}", blocks
    )


def request_sample() -> Message:
    """``test`` in a channel that takes requests: what a request will look like (no live buttons)."""
    view = RequestView(
        0, "USLACKBOT", "someone@example.com", "cursor", "cursor", 500, "usd", "An example.", "$200.00"
    )
    blocks = [
        header("Test: limit requests come here"),
        section(_facts(view)),
        context("A real request has Approve and Deny buttons; only admins can use them."),
    ]
    return message("Test: limit requests come here", blocks)


def decided_message(view: RequestView, outcome: str) -> Message:
    """The admins' message once decided: the request, what was decided, and no buttons any more."""
    blocks = [header(f"Limit request #{view.request_id}"), section(_facts(view)), section(outcome)]
    return message(f"Limit request #{view.request_id}: {outcome}", blocks)


def approved_outcome(admin_id: str, answer: str) -> str:
    """ "Approved by @admin. <what the vendor said>." """
    said = escape(answer.strip())
    return f":white_check_mark: Approved by <@{admin_id}>. {said}" + ("" if said.endswith(".") else ".")


def denied_outcome(admin_id: str, note: str | None) -> str:
    return f":no_entry: Denied by <@{admin_id}>" + (f": {escape(note)}" if note else " (no reason given).")


def asked_answer(request_id: int, vendor: str, amount: int, unit: str, channels: list[str]) -> Message:
    """What the person who asked sees (ephemeral)."""
    where = ", ".join(f"<#{channel}>" for channel in channels)
    text = (
        f"Asked: request #{request_id} for {limit_words(vendor, amount, unit)} is with the admins in "
        f"{where}. I will send you a direct message when one of them decides."
    )
    return message(text, [section(text)])


def requester_news(view: RequestView, outcome: str) -> str:
    """The direct message the person who asked gets once an admin decided."""
    return f"Your limit request #{view.request_id} for {view.limit}: {outcome}"


def deny_view(request_id: int) -> dict[str, object]:
    """The modal an admin fills in to deny a request: the reason the person will read (optional)."""
    return {
        "type": "modal",
        "callback_id": DENY_VIEW,
        "private_metadata": str(request_id),
        "title": {"type": "plain_text", "text": "Deny the request"},
        "submit": {"type": "plain_text", "text": "Deny"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": DENY_REASON_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": f"Why (sent to the person who asked #{request_id})"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": DENY_REASON_INPUT,
                    "multiline": True,
                    "max_length": 300,
                },
            }
        ],
    }


def current_limit(cents: Decimal | None, known: bool) -> str:
    if not known:
        return "unknown"
    return "no limit" if cents is None else f"${cents / 100:,.2f}"
