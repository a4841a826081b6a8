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
from datetime import timedelta
from decimal import Decimal

from sqlmodel import col, select

from bot.domain.commands import Export
from bot.domain.vendors import traits, usage_vendors
from bot.services.access import Access
from bot.services.errors import NotAllowed
from bot.services.freshness import Freshener
from bot.services.people import People
from bot.services.slack_api import SlackApi
from bot.services.sources import SourcePicker
from bot.services.usage_figures import UsageFigures, people_unavailable_note
from bot.store.db import Database
from bot.store.models import UsageDay

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
            assert connection.id is not None
            period = await self._figures.period_for(connection, command.period, viewer)
            label = label or period.label
            first, last = period.start.date(), (period.end - timedelta(microseconds=1)).date()
            if traits(connection.vendor).utc_days:
                first, last = period.first_day, period.last_day
            first_day = min(first_day or first.isoformat(), first.isoformat())
            last_day = max(last_day or last.isoformat(), last.isoformat())
            unit = self._figures.unit_of(connection)
            async with self._db.session() as session:
                found = await session.exec(
                    select(UsageDay)
                    .where(
                        UsageDay.connection_id == connection.id,
                        col(UsageDay.day) >= first,
                        col(UsageDay.day) <= last,
                    )
                    .order_by(col(UsageDay.day), col(UsageDay.user_email), col(UsageDay.model))
                )
                found_rows = found.all()
                if any(not row.user_email and row.amount for row in found_rows):
                    notes.append(people_unavailable_note(connection))
                for row in found_rows:
                    in_unit = row.amount / 100 if unit == "usd_cents" else row.amount
                    usd = self._figures.usd_cents(connection, row.amount)
                    lines.append(
                        csv_row(
                            (
                                row.day.isoformat(),
                                connection.name,
                                connection.vendor,
                                row.user_email,
                                row.model,
                                in_unit,
                                UNIT_NAMES[unit],
                                None if usd is None else (usd / 100).quantize(Decimal("0.000001")),
                                row.requests,
                            )
                        )
                    )
                    rows += 1
        filename = f"spend-{first_day}-to-{last_day}.csv"
        return filename, "".join(lines), rows, label, tuple(notes)

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
