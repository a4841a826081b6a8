"""The connections a read command is about, and how answers name them.

A command names a vendor (``cursor``), a connection (``team-b``) or nothing (every connection of the
workspace); a name that matches nothing is answered with what there is, not with an empty answer.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.domain.commands import SourceFilter
from bot.domain.vendors import display_name, traits
from bot.services.connections import ConnectionRegistry
from bot.services.errors import NotFound
from bot.settings import Settings
from bot.store.models import Connection


def connection_label(connection: Connection) -> str:
    """ "Cursor" for the connection named after its vendor, else "Cursor `team-b`"."""
    vendor = display_name(connection.vendor)
    return vendor if connection.name == connection.vendor else f"{vendor} `{connection.name}`"


def chosen_sources(every: list[Connection], source: SourceFilter | None) -> list[Connection]:
    """The connections of ``every`` that ``source`` names (all of them for None); may be empty."""
    if source is None:
        return every
    if source.vendor is not None:
        return [row for row in every if row.vendor == source.vendor]
    return [row for row in every if row.name == source.connection]


class SourcePicker:
    """Finds the connections of a workspace that a command is about, or says readably why there are none."""

    def __init__(self, settings: Settings, connections: ConnectionRegistry) -> None:
        self._settings = settings
        self._connections = connections

    async def pick(
        self, team_id: str, source: SourceFilter | None, *, vendors: Iterable[str] | None = None
    ) -> list[Connection]:
        """The connections a command is about, or a readable :class:`NotFound`."""
        every = await self._connections.for_team(team_id)
        if not every:
            raise NotFound(
                "There is no connection yet. An admin can add one with `"
                f"{self._settings.command} connect cursor` (or `windsurf`, `rest`)."
            )
        chosen = chosen_sources(every, source)
        if not chosen and source is not None and source.vendor is not None:
            raise NotFound(
                f"There is no {display_name(source.vendor)} connection yet. An admin can add one with "
                f"`{self._settings.command} connect {source.vendor}`."
            )
        if not chosen and source is not None:
            names = ", ".join(f"`{row.name}`" for row in every)
            raise NotFound(
                f"There is no connection named `{source.connection}`. Connections: {names}.",
                wrong_input=True,
            )
        if vendors is not None:
            wanted = set(vendors)
            chosen = [row for row in chosen if row.vendor in wanted]
        return chosen

    async def with_usage(self, team_id: str, source: SourceFilter | None) -> list[Connection]:
        """The connections a spend command is about that report usage (REST ones track a figure instead)."""
        connections = await self.pick(team_id, source)
        with_usage = [row for row in connections if traits(row.vendor).reports_usage]
        if not with_usage:
            raise NotFound(
                "REST connections track rate limits and a figure, not spend by period: see "
                f"`{self._settings.command} status` and `{self._settings.command} limits`."
            )
        return with_usage
