"""``people``: who uses two or more tools for the same job, with the dollars at stake (``domain.overlap``).

Read from the stored history alone (no vendor call on the answer path), per connection by person, and
joined by email (``SPENDBOT_PERSON_ALIASES`` joins the keys vendors give the same person).
"""

from __future__ import annotations

from decimal import Decimal

from bot.domain.commands import PeopleQuery
from bot.domain.money import REQUESTS
from bot.domain.overlap import ToolUse, people_on_several_tools
from bot.domain.vendors import display_name, traits
from bot.messages.answers import PeopleAnswer, PersonOnTools
from bot.services.errors import NotAllowed
from bot.services.freshness import Freshener
from bot.services.people import People, Viewer
from bot.services.sources import SourcePicker
from bot.services.usage_figures import UsageFigures
from bot.store.models import Connection

SHOWN = 20
"""People listed; the totals line counts everyone."""


class PeopleReport:
    """Answers ``people`` for one reader (who must be allowed to see people's figures)."""

    def __init__(
        self, people: People, sources: SourcePicker, freshener: Freshener, figures: UsageFigures
    ) -> None:
        self._people = people
        self._sources = sources
        self._freshener = freshener
        self._figures = figures

    async def answer(self, team_id: str, user_id: str, command: PeopleQuery) -> PeopleAnswer:
        viewer = await self._people.viewer(team_id, user_id)
        if not viewer.may_see_people:
            raise NotAllowed(self._people.refusal())
        connections = await self._sources.with_usage(team_id, command.source)
        freshness = await self._freshener.prepared(connections)
        uses: dict[str, dict[str, ToolUse]] = {}
        label = ""
        for connection in connections:
            added = await self._add_uses(uses, connection, command, viewer)
            label = label or added
        found = people_on_several_tools({email: tools.values() for email, tools in uses.items()})
        shown = found[:SHOWN]
        ids = [row.id for row in connections if row.id is not None]
        names = await self._people.names(ids, [person.email for person in shown])
        return PeopleAnswer(
            period_label=label,
            tz=viewer.tz,
            people=tuple(
                PersonOnTools(p.email, names.get(p.email), p.tools, p.at_stake_cents) for p in shown
            ),
            total_people=len(found),
            at_stake_cents=sum((person.at_stake_cents for person in found), Decimal(0)),
            freshness=freshness,
        )

    async def _add_uses(
        self,
        uses: dict[str, dict[str, ToolUse]],
        connection: Connection,
        command: PeopleQuery,
        viewer: Viewer,
    ) -> str:
        """One connection's figures per person, added under its vendor's name; returns the period label."""
        period = await self._figures.period_for(connection, command.period, viewer)
        start, end = self._figures.bounds(connection, period)
        tool = display_name(connection.vendor)
        by_money = traits(connection.vendor).spend_by_person
        for row in await self._figures.totals(connection, start, end, by="user"):
            if not row.key:
                continue
            figure = self._figures.in_group(connection, row.amount) if by_money else row.requests
            unit = (
                self._figures.group_of(connection, self._figures.unit_of(connection))
                if by_money
                else REQUESTS
            )
            dollars = self._figures.usd_cents(connection, row.amount) if by_money else None
            mine = uses.setdefault(row.key, {})
            seen = mine.get(tool)
            if seen is not None:  # two connections of one vendor are one tool
                figure += seen.amount
                dollars = None if dollars is None or seen.usd_cents is None else dollars + seen.usd_cents
            mine[tool] = ToolUse(tool, figure, unit, dollars)
        return period.label
