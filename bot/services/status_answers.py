"""The answers to ``credits``, ``limits`` and ``status``: where each connection stands right now.

``credits`` means what the vendor's traits say "credits left" is (a credit pool, people near their spend
limit, or a tracked figure); ``limits`` is rate-limit headroom; ``status`` is one card per connection
with all of it, and the App Home draws the same cards from the store alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.domain.commands import SourceFilter
from bot.domain.vendors import CreditsLeft, traits
from bot.messages.answers import (
    CreditsAnswer,
    CreditView,
    LimitsAnswer,
    LimitWatch,
    StatusAnswer,
    StatusCard,
    TrackedView,
)
from bot.services.credit_figures import CreditFigures
from bot.services.freshness import Freshener
from bot.services.people import People
from bot.services.sources import SourcePicker
from bot.services.sync import SyncService
from bot.services.usage_figures import UsageFigures, has_unattributed
from bot.store.models import Connection

ZERO = Decimal(0)


@dataclass
class _Standing:
    """What a status card shows of a connection's credits, by what "credits left" means for its vendor."""

    spent: Decimal | None = None
    credit: CreditView | None = None
    near: int | None = None
    tracked: TrackedView | None = None
    unattributed: bool = False


class StatusAnswers:
    """Answers ``credits``, ``limits`` and ``status`` for one reader."""

    def __init__(
        self,
        people: People,
        sources: SourcePicker,
        freshener: Freshener,
        figures: UsageFigures,
        credit_figures: CreditFigures,
        sync: SyncService,
    ) -> None:
        self._people = people
        self._sources = sources
        self._freshener = freshener
        self._figures = figures
        self._credits = credit_figures
        self._sync = sync

    async def credits(self, team_id: str, user_id: str, source: SourceFilter | None = None) -> CreditsAnswer:
        """Credit pools and runway (Windsurf), people near their limit (Cursor), tracked figures (REST)."""
        viewer = await self._people.viewer(team_id, user_id)
        connections = await self._sources.pick(team_id, source)
        freshness = await self._freshener.prepared(connections)
        credits: list[CreditView] = []
        limits: list[LimitWatch] = []
        tracked: list[TrackedView] = []
        notes: list[str] = []
        for connection in connections:
            meaning = traits(connection.vendor).credits_left
            if meaning is CreditsLeft.CREDIT_POOL:
                view = await self._credits.credit_view(connection, viewer.tz)
                if view is None:
                    notes.append(f"`{connection.name}`: no credit balance fetched yet.")
                else:
                    credits.append(view)
            elif meaning is CreditsLeft.SPEND_LIMITS:
                limits.append(await self._credits.limit_watch(connection, show_names=viewer.may_see_people))
            else:
                figure = await self._credits.tracked_view(connection)
                if figure is not None:
                    tracked.append(figure)
                elif not (connection.options or {}).get("track"):
                    notes.append(f"`{connection.name}`: no figure tracked (REST_TRACK, or the connect form).")
        return CreditsAnswer(
            viewer.tz, tuple(credits), tuple(limits), tuple(tracked), freshness, tuple(notes)
        )

    async def limits(self, team_id: str, user_id: str, source: SourceFilter | None = None) -> LimitsAnswer:
        """Rate-limit headroom per connection: the vendor's headers, our own count, 429s met, time waited."""
        viewer = await self._people.viewer(team_id, user_id)
        connections = await self._sources.pick(team_id, source)
        live = [row for row in connections if traits(row.vendor).has_probe]
        if live:
            await self._freshener.freshen(live)
        return LimitsAnswer(
            viewer.tz,
            tuple([(row.name, row.vendor, await self._credits.windows(row)) for row in connections]),
        )

    async def status(self, team_id: str, user_id: str, *, refresh: bool = True) -> StatusAnswer:
        """One card per connection: spend this cycle, credits and runway, headroom, freshness, errors.

        ``refresh=False`` answers from the store alone (App Home, which is re-drawn after each sync and
        so must not start one).
        """
        viewer = await self._people.viewer(team_id, user_id)
        problems = await self._freshener.freshen(await self._sources.pick(team_id, None)) if refresh else {}
        connections = await self._sources.pick(team_id, None)  # again: the sync may have changed their status
        cards = []
        for connection in connections:
            cards.append(await self._card(connection, viewer.tz, problems))
        return StatusAnswer(viewer.tz, tuple(cards))

    async def _card(self, connection: Connection, tz: ZoneInfo, problems: dict[int, str]) -> StatusCard:
        """A connection's status card: its cycle, where its credits stand, headroom, freshness, errors."""
        assert connection.id is not None
        cycle = await self._figures.cycle_of(connection)
        standing = await self._standing(connection, tz, cycle)
        states = await self._sync.states(connection.id)
        errors = tuple(
            f"{name}: {state.last_error}"
            for name, state in sorted(states.items())
            if state.last_error is not None
        )
        return StatusCard(
            connection=connection.name,
            vendor=connection.vendor,
            origin=connection.origin,
            status=connection.status,
            status_detail=connection.status_detail,
            unit=self._figures.unit_of(connection),
            cycle_spent=standing.spent,
            cycle_start=cycle[0] if cycle else None,
            cycle_end=cycle[1] if cycle else None,
            credit=standing.credit,
            near_limit=standing.near,
            tracked=standing.tracked,
            windows=await self._credits.windows(connection),
            freshness=await self._freshener.freshness(connection, problems),
            errors=errors,
            people_unavailable=standing.unattributed,
        )

    async def _standing(
        self, connection: Connection, tz: ZoneInfo, cycle: tuple[datetime, datetime] | None
    ) -> _Standing:
        """The credits part of a card, by what "credits left" means for the connection's vendor."""
        assert connection.id is not None
        meaning = traits(connection.vendor).credits_left
        if meaning is CreditsLeft.SPEND_LIMITS:
            near = (await self._credits.limit_watch(connection, show_names=False)).count
            spent = await self._figures.cycle_spent(connection, cycle) if cycle is not None else None
            return _Standing(spent=spent, near=near)
        if meaning is CreditsLeft.CREDIT_POOL:
            standing = _Standing(credit=await self._credits.credit_view(connection, tz))
            if cycle is not None:
                rows = await self._figures.totals(connection, cycle[0], cycle[1], by="user")
                standing.spent = sum((row.amount for row in rows), ZERO)
                # Spend under no one is only "per person unavailable" where money is reported per person.
                vendor = traits(connection.vendor)
                standing.unattributed = (
                    vendor.spend_by_person and vendor.team_remainder is None and has_unattributed(rows)
                )
            return standing
        return _Standing(tracked=await self._credits.tracked_view(connection))
