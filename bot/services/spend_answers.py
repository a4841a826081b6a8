"""The answers to ``spend``, ``top`` and ``user``: what was spent in a period, by whom, on what.

Every answer is for one reader (:class:`~bot.services.people.Viewer`): periods resolve in their zone,
and figures about named people are shown only to those who may see them. Sources are freshened first
(:class:`~bot.services.freshness.Freshener`); amounts in credits are summed in dollars only when they
have a price, else they stay in a group of their own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from bot.domain.change import ToolChange, explain
from bot.domain.commands import Spend, Top, UserQuery
from bot.domain.money import REQUESTS
from bot.domain.periods import Period, previous_period
from bot.domain.vendors import display_name, traits
from bot.messages.answers import (
    BREAKDOWN_ROWS,
    CREDITS,
    Breakdown,
    BreakdownRow,
    PersonSource,
    PersonTotal,
    Ranking,
    SourceTotal,
    SpendAnswer,
    TopAnswer,
    UserAnswer,
)
from bot.services.errors import NotAllowed, NotFound
from bot.services.freshness import Freshener
from bot.services.people import People, Viewer
from bot.services.sources import SourcePicker
from bot.services.usage_figures import (
    NOT_BY_PERSON,
    UsageFigures,
    people_unavailable_note,
)
from bot.settings import Settings
from bot.store import cycle_spend, members
from bot.store.db import Database
from bot.store.models import Connection
from bot.store.usage import RankedTotals, UsageTotal

ZERO = Decimal(0)


def merge_row(
    part: dict[str, BreakdownRow], key: str, amount: Decimal, unit: str, requests: Decimal, tokens: int = 0
) -> None:
    """Add ``amount``, ``requests`` and ``tokens`` to the row ``key`` of a breakdown (a new row when there
    is none)."""
    existing = part.get(key)
    part[key] = BreakdownRow(
        key,
        amount + (existing.amount if existing else ZERO),
        unit,
        requests + (existing.requests if existing else ZERO),
        tokens=tokens + (existing.tokens if existing else 0),
    )


def breakdowns(
    by: str | None,
    parts: dict[str, dict[str, BreakdownRow]],
    days: dict[str, dict[date, Decimal]],
    sizes: dict[str, tuple[int, Decimal]] | None = None,
) -> tuple[Breakdown, ...]:
    """One breakdown per unit group: rows largest first (``user``, ``model``) or by date (``day``).

    ``sizes``: (rows in all, their total) of the groups whose ``parts`` hold only the rows shown.
    """
    if by in ("user", "model"):
        return tuple(
            Breakdown(
                by,
                tuple(sorted(rows.values(), key=lambda row: (-row.amount, row.label))),
                size=(sizes or {}).get(group, (None, None))[0],
                total=(sizes or {}).get(group, (None, None))[1],
            )
            for group, rows in sorted(parts.items())
        )
    if by == "day":
        return tuple(
            Breakdown(
                "day",
                tuple(BreakdownRow(day.isoformat(), value, group) for day, value in sorted(series.items())),
            )
            for group, series in sorted(days.items())
        )
    return ()


def dollar_totals(totals: list[SourceTotal]) -> tuple[Decimal | None, Decimal | None, tuple[str, ...]]:
    """(total, previous total) in cents of the sources that count in dollars, and the ones left out."""
    counted = [item for item in totals if item.usd_cents is not None]
    left_out = tuple(item.connection for item in totals if item.usd_cents is None)
    if not counted:
        return None, None, left_out
    total = sum((item.usd_cents or ZERO for item in counted), ZERO)
    previous = sum((item.previous_usd_cents or ZERO for item in counted), ZERO)
    return total, previous, left_out


def ranked(people: dict[str, Decimal]) -> list[tuple[str, Decimal]]:
    """People by amount, largest first, then by email."""
    return sorted(people.items(), key=lambda item: (-item[1], item[0]))


def ranking(
    unit: str,
    sources: list[str],
    ordered: list[tuple[str, Decimal]],
    n: int,
    names: dict[str, str],
    spenders: int | None = None,
) -> Ranking:
    """The first ``n`` of a unit's ranked people, with how many spent anything at all (``spenders``,
    when ``ordered`` holds only the first of them)."""
    return Ranking(
        unit=unit,
        sources=tuple(sources),
        people=tuple(PersonTotal(email, names.get(email), amount, unit) for email, amount in ordered[:n]),
        total_people=len([item for item in ordered if item[1] > 0]) if spenders is None else spenders,
    )


@dataclass
class _SpendSums:
    """What ``spend`` gathers over its sources before the answer is made."""

    label: str = ""
    previous_label: str = ""
    totals: list[SourceTotal] = field(default_factory=list)
    parts: dict[str, dict[str, BreakdownRow]] = field(default_factory=dict)
    days: dict[str, dict[date, Decimal]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    changes: list[ToolChange] = field(default_factory=list)
    alone: set[str] = field(default_factory=set)
    """Unit groups with one source: their breakdown reads only the rows shown."""
    sizes: dict[str, tuple[int, Decimal]] = field(default_factory=dict)
    """Per such group: how many rows its breakdown has in all, and their total."""


@dataclass
class _PersonSums:
    """What ``user`` gathers over its sources before the answer is made."""

    name: str | None
    label: str = ""
    known: bool = False
    sources: list[PersonSource] = field(default_factory=list)
    models: dict[str, dict[str, BreakdownRow]] = field(default_factory=dict)
    """Per unit, per model: a model's dollars and credits are never added together."""
    notes: list[str] = field(default_factory=list)


class SpendAnswers:
    """Answers ``spend``, ``top`` and ``user`` for one reader."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        people: People,
        sources: SourcePicker,
        freshener: Freshener,
        figures: UsageFigures,
    ) -> None:
        self._settings = settings
        self._db = db
        self._people = people
        self._sources = sources
        self._freshener = freshener
        self._figures = figures

    # ----- spend -------------------------------------------------------------------------------------------

    async def spend(self, team_id: str, user_id: str, command: Spend) -> SpendAnswer:
        """Totals per source and overall (dollars only), the change on the previous period, a breakdown."""
        viewer = await self._people.viewer(team_id, user_id)
        if command.names_people and not viewer.may_see_people:
            raise NotAllowed(self._people.refusal())
        connections = await self._sources.with_usage(team_id, command.source)
        freshness = await self._freshener.prepared(connections)
        sums = _SpendSums(alone=self._alone_in_group(connections, by_money=True))
        for connection in connections:
            await self._add_spend(sums, connection, command, viewer, several=len(connections) > 1)
        total, previous_total, left_out = dollar_totals(sums.totals)
        if utc := sorted({display_name(item.vendor) for item in sums.totals if item.utc_days}):
            one = len(utc) == 1
            sums.notes.append(
                f"{' and '.join(utc)} report{'s' if one else ''} whole UTC days, "
                f"so {'its' if one else 'their'} figures are by UTC day."
            )
        return SpendAnswer(
            period_label=sums.label,
            previous_label=sums.previous_label,
            tz=viewer.tz,
            sources=tuple(sums.totals),
            total_usd_cents=total,
            previous_total_usd_cents=previous_total,
            left_out=left_out,
            breakdowns=breakdowns(command.by, sums.parts, sums.days, sums.sizes),
            freshness=freshness,
            notes=tuple(sums.notes),
            why=explain(sums.changes) if sums.changes else None,
        )

    async def _add_spend(
        self, sums: _SpendSums, connection: Connection, command: Spend, viewer: Viewer, *, several: bool
    ) -> None:
        """One source's total, previous total and breakdown rows, added to ``sums``."""
        period = await self._figures.period_for(connection, command.period, viewer)
        previous = previous_period(period)
        sums.label, sums.previous_label = sums.label or period.label, sums.previous_label or previous.label
        start, end = self._figures.bounds(connection, period)
        unit = self._figures.unit_of(connection)
        group = self._figures.group_of(connection, unit)
        ranked = await self._ranked(sums, connection, command, (start, end), previous, group)
        people = None
        if ranked is not None and ranked.previous is not None:
            people = (ranked.previous.people, ranked.people)
        change = await self._figures.tool_change(connection, period, previous, people=people)
        if change is not None:
            sums.changes.append(change)
        current, prior = await self._totals(connection, ranked, period, previous)
        if ranked is not None:
            self._add_breakdown(sums, connection, ranked, command.by or "", group)
        elif command.by == "day":
            target = sums.days.setdefault(group, {})
            for day, value in (await self._figures.by_day(connection, start, end, viewer.tz)).items():
                target[day] = target.get(day, ZERO) + self._figures.in_group(connection, value)
        sums.totals.append(
            SourceTotal(
                connection=connection.name,
                vendor=connection.vendor,
                unit=unit,
                amount=current.amount,
                previous=prior,
                requests=current.requests,
                tokens=current.tokens,
                utc_days=traits(connection.vendor).utc_days,
                usd_cents=self._figures.usd_cents(connection, current.amount),
                previous_usd_cents=self._figures.usd_cents(connection, prior),
            )
        )
        if command.period.kind.value == "cycle" and several:
            sums.notes.append(f"`{connection.name}`: {period.label}")

    async def _totals(
        self, connection: Connection, ranked: RankedTotals | None, period: Period, previous: Period
    ) -> tuple[UsageTotal, Decimal]:
        """The period's total and the previous period's amount: from the ranking when it read both."""
        if ranked is not None and ranked.previous is not None:
            return ranked.total, ranked.previous.total.amount
        current = await self._figures.period_total(connection, period)
        return current, (await self._figures.period_total(connection, previous)).amount

    async def _ranked(
        self,
        sums: _SpendSums,
        connection: Connection,
        command: Spend,
        bounds: tuple[datetime, datetime],
        previous: Period,
        group: str,
    ) -> RankedTotals | None:
        """The rows of a breakdown by user or model (only those shown, when the source is alone in its
        unit group) and, by user, both periods' people in the same pass; None without a breakdown."""
        if command.by not in ("user", "model"):
            return None
        return await self._figures.ranked(
            connection,
            *bounds,
            by=command.by,
            limit=BREAKDOWN_ROWS if group in sums.alone else None,
            previous=previous if command.by == "user" else None,
        )

    def _add_breakdown(
        self, sums: _SpendSums, connection: Connection, ranked: RankedTotals, by: str, group: str
    ) -> None:
        """One source's rows by ``user`` or ``model``, merged into its unit group's breakdown."""
        if by == "user" and ranked.unattributed:
            sums.notes.append(people_unavailable_note(connection))
        part = sums.parts.setdefault(group, {})
        factor = self._figures.group_factor(connection)
        for row in ranked.rows:
            key = row.key or (NOT_BY_PERSON if by == "user" else "(unknown)")
            merge_row(part, key, row.amount * factor, group, row.requests, row.tokens)
        if group in sums.alone:  # only the rows shown were read: the rest is counted
            sums.sizes[group] = (ranked.size, ranked.total.amount * factor)

    def _alone_in_group(self, connections: Sequence[Connection], *, by_money: bool) -> set[str]:
        """The unit groups only one of ``connections`` adds to: their rankings are made in the store,
        reading only the rows shown (a group of several is ranked here, on everyone's merged rows)."""
        groups = Counter(self._group(connection, by_money=by_money) for connection in connections)
        return {group for group, count in groups.items() if count == 1}

    def _group(self, connection: Connection, *, by_money: bool) -> str:
        """The unit group a connection's figures add to: in a spend answer (``by_money``) its unit; in a
        ranking of people its money, or its requests where its money is the team's only."""
        if by_money:
            return self._figures.group_of(connection, self._figures.unit_of(connection))
        if traits(connection.vendor).spend_by_person:
            return self._figures.group_of(connection, CREDITS)
        return REQUESTS

    # ----- top ---------------------------------------------------------------------------------------------

    async def top(self, team_id: str, user_id: str, command: Top) -> TopAnswer:
        """The N people who spent most in the period, ranked within each unit."""
        viewer = await self._people.viewer(team_id, user_id)
        if not viewer.may_see_people:
            raise NotAllowed(self._people.refusal())
        connections = await self._sources.with_usage(team_id, command.source)
        freshness = await self._freshener.prepared(connections)
        groups: dict[str, dict[str, Decimal]] = {}
        group_sources: dict[str, list[str]] = {}
        counted: dict[str, int] = {}
        notes: list[str] = []
        label = ""
        alone = self._alone_in_group(connections, by_money=False)
        for connection in connections:
            period = await self._figures.period_for(connection, command.period, viewer)
            label = label or period.label
            start, end = self._figures.bounds(connection, period)
            # Where a vendor keeps its money for the team, its people are ranked by their requests.
            by_money = traits(connection.vendor).spend_by_person
            group = self._group(connection, by_money=False)
            found = await self._figures.ranked(
                connection,
                start,
                end,
                by="user",
                limit=command.n if group in alone else None,
                order="amount" if by_money else "requests",
                people_first=True,
            )
            target = groups.setdefault(group, {})
            group_sources.setdefault(group, []).append(connection.name)
            if found.unattributed:
                notes.append(people_unavailable_note(connection))
            if group in alone:
                counted[group] = found.positive
            factor = self._figures.group_factor(connection)
            for row in found.rows:
                if row.key:
                    figure = row.amount * factor if by_money else row.requests
                    target[row.key] = target.get(row.key, ZERO) + figure
        orders = {group: ranked(people) for group, people in groups.items()}
        shown = {email for ordered in orders.values() for email, _ in ordered[: command.n]}
        names = await self._people.names([row.id for row in connections if row.id is not None], shown)
        rankings = [
            ranking(group, group_sources[group], ordered, command.n, names, counted.get(group))
            for group, ordered in sorted(orders.items())
        ]
        return TopAnswer(label, viewer.tz, command.n, tuple(rankings), freshness, tuple(notes))

    # ----- user --------------------------------------------------------------------------------------------

    async def user(self, team_id: str, user_id: str, command: UserQuery) -> UserAnswer:
        """One person across every tool: the period's spend, the cycle so far, their limit and models."""
        viewer = await self._people.viewer(team_id, user_id)
        email, name = await self._people.resolve_person(team_id, command.who)
        if not viewer.may_see_people and email != viewer.email:
            raise NotAllowed(self._people.refusal())
        connections = await self._sources.with_usage(team_id, None)
        freshness = await self._freshener.prepared(connections)
        sums = _PersonSums(name)
        for connection in connections:
            await self._add_person(sums, connection, email, command, viewer)
        if not sums.known:
            raise NotFound(
                f"No connection has any data for `{email}`. They may use another email with the vendors, "
                f"or not use these tools. `{self._settings.command} top` lists who spends."
            )
        return UserAnswer(
            email=email,
            name=sums.name,
            period_label=sums.label,
            tz=viewer.tz,
            sources=tuple(sums.sources),
            models=tuple(
                sorted(
                    (row for rows in sums.models.values() for row in rows.values()),
                    key=lambda row: (-row.amount, row.label),
                )
            ),
            freshness=freshness,
            notes=tuple(sums.notes),
        )

    async def _add_person(
        self, sums: _PersonSums, connection: Connection, email: str, command: UserQuery, viewer: Viewer
    ) -> None:
        """One source's figures of the person, added to ``sums`` when the source knows them at all."""
        assert connection.id is not None
        period = await self._figures.period_for(connection, command.period, viewer)
        sums.label = sums.label or period.label
        start, end = self._figures.bounds(connection, period)
        prev_start, prev_end = self._figures.bounds(connection, previous_period(period))
        async with self._db.session() as session:
            member = await members.member(session, connection.id, email)
            cycle = await cycle_spend.latest_cycle_spend(session, connection.id, email)
        now_rows = await self._figures.totals(connection, start, end, user_email=email)
        before = await self._figures.totals(connection, prev_start, prev_end, user_email=email)
        by_model = await self._figures.totals(connection, start, end, by="model", user_email=email)
        unattributed = (await self._figures.ranked(connection, start, end, by="user", limit=1)).unattributed
        if member is None and not now_rows and not before and cycle is None:
            return
        sums.known = True
        if unattributed:
            sums.notes.append(people_unavailable_note(connection))
        sums.name = sums.name or (member.name if member else None) or (cycle.name if cycle else None)
        unit = self._figures.unit_of(connection)
        sums.sources.append(
            PersonSource(
                connection=connection.name,
                vendor=connection.vendor,
                unit=unit,
                amount=now_rows[0].amount if now_rows else ZERO,
                previous=before[0].amount if before else ZERO,
                requests=now_rows[0].requests if now_rows else ZERO,
                previous_requests=before[0].requests if before else ZERO,
                tokens=now_rows[0].tokens if now_rows else 0,
                cycle_total=cycle.total if cycle else None,
                limit=cycle.limit_cents if cycle else None,
                utc_days=traits(connection.vendor).utc_days,
            )
        )
        # Where a vendor keeps its money for the team, a person's models are counted in requests.
        model_unit = unit if traits(connection.vendor).spend_by_person else REQUESTS
        for row in by_model:
            figure = row.amount if model_unit == unit else row.requests
            merge_row(
                sums.models.setdefault(model_unit, {}),
                row.key or "(unknown)",
                figure,
                model_unit,
                row.requests,
                row.tokens,
            )
