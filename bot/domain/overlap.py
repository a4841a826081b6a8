"""Who pays for two or more AI tools for the same job, and the money at stake: pure arithmetic.

Every tool spendbot reads is an AI coding assistant or the model API behind one, so a person with usage
on two of them in a period pays twice for one job. The money at stake is what consolidating onto their
main tool would save at most: the dollars on every tool but the one they spend most dollars on. Tools
whose per-person figure is not dollars (Windsurf credits without a price, requests where a vendor keeps
its money for the organisation) count as used, but not as money.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["ToolUse", "ToolsOfPerson", "people_on_several_tools"]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class ToolUse:
    """One person's use of one tool in a period: its figure in its unit, and its dollars when it has any."""

    tool: str
    amount: Decimal
    unit: str
    usd_cents: Decimal | None


@dataclass(frozen=True, slots=True)
class ToolsOfPerson:
    email: str
    tools: tuple[ToolUse, ...]
    """Largest dollars first, then the others by name."""
    at_stake_cents: Decimal


def _order(use: ToolUse) -> tuple[Decimal, str]:
    return (-(use.usd_cents or _ZERO), use.tool)


def people_on_several_tools(uses: Mapping[str, Iterable[ToolUse]]) -> list[ToolsOfPerson]:
    """Everyone (email → their tool uses) with usage on two or more tools, most money at stake first.

    A use with a zero figure is no use. Ties are broken by the number of tools, then the email.
    """
    found: list[ToolsOfPerson] = []
    for email, person_uses in uses.items():
        used = sorted((use for use in person_uses if use.amount > 0), key=_order)
        if len({use.tool for use in used}) < 2:
            continue
        dollars = [use.usd_cents for use in used if use.usd_cents is not None]
        at_stake = sum(dollars, _ZERO) - max(dollars, default=_ZERO)
        found.append(ToolsOfPerson(email, tuple(used), at_stake))
    found.sort(key=lambda person: (-person.at_stake_cents, -len(person.tools), person.email))
    return found
