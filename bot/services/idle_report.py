"""``idle``: seats of seat-based tools (Cursor, Windsurf, Copilot) that nobody used for N days.

Read from the stored members and usage history alone (no vendor call on the answer path): a seat's last
use is what the vendor last said (Copilot's ``last_activity_at``, Windsurf's last-use times, kept with
the members at each sync) or the last day of usage the history holds, whichever is later. The judging
is pure (``domain.idle``); seat prices come from ``CURSOR_SEAT_PRICE``, ``WINDSURF_SEAT_PRICE`` and
``COPILOT_SEAT_PRICE``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from bot.domain.commands import IdleQuery
from bot.domain.idle import DEFAULT_IDLE_DAYS, IdleSeats, Seat, idle_seats
from bot.domain.vendors import display_name, seat_vendors, traits
from bot.messages.answers import IdleAnswer
from bot.messages.insights import idle_summary
from bot.services.clock import Clock
from bot.services.errors import NotAllowed, NotFound
from bot.services.freshness import Freshener
from bot.services.people import People
from bot.services.sources import SourcePicker
from bot.settings import Settings
from bot.store import members, usage
from bot.store.db import Database
from bot.store.models import Connection

_CENTS_PER_DOLLAR = Decimal(100)


class IdleReport:
    """Answers ``idle`` for one reader (who must be allowed to see people's figures)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        people: People,
        sources: SourcePicker,
        freshener: Freshener,
        *,
        clock: Clock,
    ) -> None:
        self._clock = clock
        self._db = db
        self._settings = settings
        self._people = people
        self._sources = sources
        self._freshener = freshener

    async def answer(self, team_id: str, user_id: str, command: IdleQuery) -> IdleAnswer:
        """The idle seats of every seat-based connection (or the one asked for), up to the reader's today."""
        viewer = await self._people.viewer(team_id, user_id)
        today = self._clock().astimezone(viewer.tz).date()
        if not viewer.may_see_people:
            raise NotAllowed(self._people.refusal())
        connections = await self._sources.pick(team_id, command.source, vendors=seat_vendors())
        if not connections:
            names = ", ".join(display_name(vendor) for vendor in seat_vendors())
            raise NotFound(f"Nothing here is sold by the seat: `idle` lists the seats of {names}.")
        freshness = await self._freshener.prepared(connections)
        found = await self.idle(connections, today=today, days=command.days)
        return IdleAnswer(
            days=command.days,
            today=today,
            tz=viewer.tz,
            found=found,
            sources=tuple(row.name for row in connections),
            freshness=freshness,
        )

    async def summary(self, connections: Sequence[Connection], today: date) -> str | None:
        """One line on the seats unused for ``DEFAULT_IDLE_DAYS`` (the weekly digest's, the App Home's),
        None when no seat vendor has any."""
        seats = [row for row in connections if traits(row.vendor).seat_price_setting]
        if not seats:
            return None
        found = await self.idle(seats, today=today, days=DEFAULT_IDLE_DAYS)
        return idle_summary(found, DEFAULT_IDLE_DAYS) if found.seats else None

    async def idle(self, connections: list[Connection], *, today: date, days: int) -> IdleSeats:
        """The idle seats of ``connections`` (the digest's line reads this too)."""
        seats: list[Seat] = []
        history_start: dict[str, date | None] = {}
        reports_use: dict[str, bool] = {}
        prices: dict[str, Decimal | None] = {}
        async with self._db.session() as session:
            for connection in connections:
                assert connection.id is not None
                roster = await members.active_members(session, connection.id)
                last_days = await usage.last_use_days(session, connection.id)
                history_start[connection.name] = await usage.first_usage_day(session, connection.id)
                # A vendor that says when people last used it says so for someone: then a seat it has
                # never seen used is idle, whatever our history holds.
                reports_use[connection.name] = any(row.last_active_at is not None for row in roster)
                prices[connection.name] = self.seat_price(connection)
                seats.extend(
                    Seat(
                        email=row.email,
                        name=row.name,
                        source=connection.name,
                        vendor=connection.vendor,
                        vendor_last_use=None if row.last_active_at is None else row.last_active_at.date(),
                        history_last_use=last_days.get(row.email),
                    )
                    for row in roster
                )
        return idle_seats(
            seats,
            today=today,
            days=days,
            history_start=history_start,
            vendor_reports_use=reports_use,
            monthly_cents=prices,
        )

    def seat_price(self, connection: Connection) -> Decimal | None:
        """What a seat of this connection costs a month, in cents (None: its price setting is unset)."""
        setting = traits(connection.vendor).seat_price_setting
        dollars = getattr(self._settings, setting) if setting else None
        return None if dollars is None else Decimal(dollars) * _CENTS_PER_DOLLAR
