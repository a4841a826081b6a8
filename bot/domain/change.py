"""Why spend changed between two periods, as parts that add up to the change to the cent.

For a tool whose money is per person, spend is people × requests per person × cents per request, and
cents per request is the models' mix times each model's cents per request. Changing one factor at a
time, in that order, splits the change exactly (the terms telescope)::

    people      (N1 − N0) · u0 · p0        more (or fewer) people using it
    usage       N1 · (u1 − u0) · p0        more (or less) use per person
    mix         N1 · u1 · Σ (w1m − w0m) p0m a shift between models of different cost per request
    rate        N1 · u1 · Σ w1m (p1m − p0m) dearer requests within a model (longer prompts, prices)

with N people, u requests per person, w a model's share of requests and p cents per request. A model
new in the second period has no p0m: its requests are priced at their own p1m in the mix term, so a
move to a new dearer model shows as mix. Without request counts (a tool that reports none) the
change is people and spend per person (``spend``). A tool whose money is reported only for the whole
organisation is one part of its own. Parts are rounded to cents by the largest remainder, so they
add up exactly to the rounded change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

ZERO = Decimal(0)
PARTS = ("people", "usage", "spend", "mix", "rate", "organisation")


@dataclass(frozen=True, slots=True)
class ToolPeriod:
    """One tool's figures over one period: cents and requests per model, and how many people used it."""

    people: int
    models: Mapping[str, tuple[Decimal, Decimal]]  # model → (cents, requests)

    @property
    def cents(self) -> Decimal:
        return sum((cents for cents, _ in self.models.values()), ZERO)

    @property
    def requests(self) -> Decimal:
        return sum((requests for _, requests in self.models.values()), ZERO)


@dataclass(frozen=True, slots=True)
class ToolChange:
    """One tool in both periods; ``by_person`` False when its money is the organisation's only."""

    tool: str
    before: ToolPeriod
    after: ToolPeriod
    by_person: bool = True


@dataclass(frozen=True, slots=True)
class Explanation:
    """The change in cents, its parts (whole cents, adding up to it) and each tool's change."""

    change_cents: Decimal
    parts: tuple[tuple[str, Decimal], ...]
    tools: tuple[tuple[str, Decimal], ...]


def _tool_parts(change: ToolChange) -> dict[str, Decimal]:
    before, after = change.before, change.after
    if not change.by_person:
        return {"organisation": after.cents - before.cents}
    if before.cents == 0 or before.people == 0:
        return {"people": after.cents - before.cents}  # nothing to compare with: all of it is new use
    if before.requests == 0 or after.requests == 0:
        per_person_before = before.cents / before.people
        people_part = (after.people - before.people) * per_person_before
        return {"people": people_part, "spend": after.cents - before.cents - people_part}
    u0, p0 = before.requests / before.people, before.cents / before.requests
    people_part = (after.people - before.people) * u0 * p0
    usage_part = after.people * (after.requests / after.people - u0) * p0
    mix_price = ZERO
    for model, (cents, requests) in after.models.items():
        old_cents, old_requests = before.models.get(model, (ZERO, ZERO))
        price = old_cents / old_requests if old_requests else (cents / requests if requests else ZERO)
        mix_price += requests / after.requests * price
    mix_part = after.requests * (mix_price - p0)
    rate_part = after.cents - before.cents - people_part - usage_part - mix_part
    return {"people": people_part, "usage": usage_part, "mix": mix_part, "rate": rate_part}


def round_parts(values: Sequence[Decimal]) -> list[Decimal]:
    """Values rounded to whole cents so that they add up to their rounded sum (largest remainder)."""
    total = sum(values, ZERO).quantize(Decimal(1), ROUND_HALF_UP)  # as format_usd rounds
    floors = [value.to_integral_value(ROUND_FLOOR) for value in values]
    short = int(total - sum(floors, ZERO))
    order = sorted(range(len(values)), key=lambda i: (-(values[i] - floors[i]), i))
    for index in order[:short] if short > 0 else ():
        floors[index] += 1
    return floors


def explain(changes: Iterable[ToolChange]) -> Explanation:
    """The change of every tool together, split by cause and by tool; both add up to the change."""
    changes = list(changes)
    sums = dict.fromkeys(PARTS, ZERO)
    for change in changes:
        for name, value in _tool_parts(change).items():
            sums[name] += value
    names = [name for name in PARTS if sums[name] != 0]
    parts = round_parts([sums[name] for name in names])
    tools = round_parts([change.after.cents - change.before.cents for change in changes])
    return Explanation(
        change_cents=sum(parts, ZERO),
        parts=tuple(zip(names, parts, strict=True)),
        tools=tuple((change.tool, value) for change, value in zip(changes, tools, strict=True)),
    )
