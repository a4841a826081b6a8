"""The "why it changed" line of ``spend`` and the digest: a change's parts, each signed, adding up to it."""

from __future__ import annotations

from decimal import Decimal

from bot.domain.change import Explanation
from bot.domain.money import MINUS, format_usd

WORDS = {
    "people": ("more people", "fewer people"),
    "usage": ("more use per person", "less use per person"),
    "spend": ("more spend per person", "less spend per person"),
    "mix": ("a shift to dearer models", "a shift to cheaper models"),
    "rate": ("dearer requests within a model", "cheaper requests within a model"),
    "organisation": (
        "more spend reported for the organisation only",
        "less spend reported for the organisation only",
    ),
}


def signed(cents: Decimal) -> str:
    """``+$12.00`` or ``−$12.00`` (a real minus sign, as every change is written)."""
    return ("+" if cents >= 0 else MINUS) + format_usd(abs(cents))


def why_line(why: Explanation) -> str:
    """ "*Why +$28.33:* +$6.00 more people · … By tool: Cursor +$26.33 · OpenAI +$2.00." """
    parts = " · ".join(f"{signed(value)} {WORDS[name][value < 0]}" for name, value in why.parts if value)
    text = f"*Why {signed(why.change_cents)}:* {parts or 'no change'}."
    if len(why.tools) > 1:
        text += " By tool: " + " · ".join(f"{tool} {signed(value)}" for tool, value in why.tools) + "."
    return text
