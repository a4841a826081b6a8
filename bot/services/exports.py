"""``export``: the period's usage as a CSV file, sent to the person who asked by direct message.

Rows come from the whole-UTC-day rollups (one row per day, person, model and connection), so the file
says its days are UTC days. Amounts are in each connection's unit, with a dollar column when the
amount can be counted in dollars.

The file is opened in spreadsheets, and its text comes from vendors and people (emails, model names,
connection names), so it is written against CSV injection as OWASP describes: every text cell is quoted
(a doubled quote inside), and one that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return (or their full-width forms, or any of them after leading blanks and line breaks, which
spreadsheets trim on import) gets a leading single quote, so no spreadsheet reads it as a formula.
Numbers are ours (Decimal amounts and counts): they are written bare and untouched, so ``-12.5``
stays a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from bot.domain.commands import Export
from bot.domain.periods import Period
from bot.domain.vendors import traits, usage_vendors
from bot.services.access import Access
from bot.services.errors import NotAllowed
from bot.services.freshness import Freshener
from bot.services.people import People
from bot.services.slack_api import SlackApi
from bot.services.sources import SourcePicker
from bot.services.usage_figures import UsageFigures, people_unavailable_note
from bot.store import usage as usage_store
from bot.store.db import Database
from bot.store.models import Connection, UsageDay

HEADER = (
    "utc_day",
    "connection",
    "vendor",
    "user_email",
    "model",
    "amount",
    "unit",
    "amount_usd",
    "requests",
    "tokens",
)
UNIT_NAMES = {"usd_cents": "USD", "credits": "credits"}
#: What a spreadsheet takes as the start of a formula (OWASP, CSV injection), and the full-width signs
#: Excel reads as the same.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")

Cell = str | Decimal | None


@dataclass(frozen=True)
class SentExport:
    filename: str
    rows: int
    period_label: str
    notes: tuple[str, ...] = ()


class ExportService:
    """Builds the CSV from the store and delivers it with files v2."""

    def __init__(
        self,
        db: Database,
        people: People,
        sources: SourcePicker,
        freshener: Freshener,
        figures: UsageFigures,
        access: Access,
        slack: SlackApi,
    ) -> None:
        self._db = db
        self._people = people
        self._sources = sources
        self._freshener = freshener
        self._figures = figures
        self._access = access
        self._slack = slack

    async def build(
        self, team_id: str, user_id: str, command: Export
    ) -> tuple[str, str, int, str, tuple[str, ...]]:
        """(filename, CSV text, data rows, period label, notes) for the period and sources asked.

        A note says when a connection's rows for some days are team totals (no email): its per-person
        figures did not add up to them (see :func:`people_unavailable_note`).
        """
        viewer = await self._people.viewer(team_id, user_id)
        if not viewer.may_see_people:
            raise NotAllowed(self._access.people_refusal())
        connections = await self._sources.pick(team_id, command.source, vendors=usage_vendors())
        await self._freshener.freshen(connections)
        lines = [csv_row(HEADER)]
        notes: list[str] = []
        rows = 0
        label = first_day = last_day = ""
        for connection in connections:
            period = await self._figures.period_for(connection, command.period, viewer)
            label = label or period.label
            first, last = rollup_days(period, utc_days=traits(connection.vendor).utc_days)
            first_day = min(first_day or first.isoformat(), first.isoformat())
            last_day = max(last_day or last.isoformat(), last.isoformat())
            found, connection_notes = await self._connection_lines(connection, first, last)
            lines.extend(found)
            rows += len(found)
            notes.extend(connection_notes)
        filename = f"spend-{first_day}-to-{last_day}.csv"
        return filename, "".join(lines), rows, label, tuple(notes)

    async def _connection_lines(
        self, connection: Connection, first: date, last: date
    ) -> tuple[list[str], list[str]]:
        """The CSV lines of one connection's days ``first..last``, and a note if some are team totals."""
        assert connection.id is not None
        unit = self._figures.unit_of(connection)
        async with self._db.session() as session:
            found_rows = await usage_store.day_rows(session, connection.id, first, last)
        notes: list[str] = []
        if any(not row.user_email and row.amount for row in found_rows):
            notes.append(people_unavailable_note(connection))
        lines = [
            csv_row(export_cells(row, connection, unit, self._figures.usd_cents(connection, row.amount)))
            for row in found_rows
        ]
        return lines, notes

    async def send(self, team_id: str, user_id: str, command: Export) -> SentExport:
        filename, content, rows, label, notes = await self.build(team_id, user_id, command)
        channel = await self._slack.open_dm(team_id, user_id)
        await self._slack.upload_file(
            team_id,
            channel,
            filename=filename,
            content=content,
            title=f"Spend export, {label}",
            comment=" ".join(
                (f"Here is the export you asked for: {label}, {rows:,} rows (UTC days).", *notes)
            ),
        )
        return SentExport(filename, rows, label, notes)


def rollup_days(period: Period, *, utc_days: bool) -> tuple[date, date]:
    """The rollup days ``first..last`` an export of ``period`` reads.

    A vendor whose days are UTC days reports whole days, so the period's days are read as named;
    otherwise the rollups are read for the UTC days the period's bounds fall on.
    """
    if utc_days:
        return period.first_day, period.last_day
    return period.start.date(), (period.end - timedelta(microseconds=1)).date()


def export_cells(row: UsageDay, connection: Connection, unit: str, usd: Decimal | None) -> tuple[Cell, ...]:
    """One day rollup row as the export's cells (see ``HEADER``); ``usd`` is its amount in US cents."""
    return (
        row.day.isoformat(),
        connection.name,
        connection.vendor,
        row.user_email,
        row.model,
        row.amount / 100 if unit == "usd_cents" else row.amount,
        UNIT_NAMES[unit],
        None if usd is None else (usd / 100).quantize(Decimal("0.000001")),
        row.requests,
        Decimal(row.tokens),
    )


def csv_row(cells: tuple[Cell, ...]) -> str:
    """One CSV record: text cells quoted and neutralised, numbers bare, None as an empty cell."""
    return ",".join(_cell(cell) for cell in cells) + "\n"


def _cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return _plain(value)
    return '"' + neutralise(value).replace('"', '""') + '"'


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet shows it and never evaluates: a formula start gets a leading quote."""
    stripped = text.lstrip(" \n\u3000\u00a0")
    return "'" + text if text.startswith(FORMULA_STARTS) or stripped.startswith(FORMULA_STARTS) else text


def _plain(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros: what a spreadsheet reads back exactly."""
    return format(value.normalize(), "f")
