"""The digest of one channel: yesterday's (or last week's) spend per tool, the cycle against budget and
forecast, who and what, credits, headroom, open alerts, the chart and freshness.

The digest service gathers the figures into a :class:`Digest`; :func:`digest_message` only lays them
out, so the scheduler, ``digest now`` and the demo show the same message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.domain.money import format_amount, format_change, format_percent
from bot.messages.answers import CreditView, Freshness, TrackedView, WindowView
from bot.messages.blocks import button, context, divider, fields, fit, header, lines_sections, section
from bot.messages.message import Block, Message
from bot.messages.mrkdwn import escape
from bot.messages.replies import credit_lines, freshness_line, source_label, usage_part, window_line
from bot.messages.sharing import OPEN_ACTION


@dataclass(frozen=True)
class SourceSpend:
    """One usage source: the digest's period and the one before, and the last 7 days and the 7 before."""

    connection: str
    vendor: str
    unit: str
    amount: Decimal
    requests: Decimal
    previous: Decimal
    week: Decimal
    week_before: Decimal
    utc_days: bool = False
    tokens: int = 0


@dataclass(frozen=True)
class CycleStanding:
    """One source's billing cycle so far, its forecast, and the budgets (in its unit) that watch it."""

    connection: str
    vendor: str
    unit: str
    spent: Decimal
    projected: Decimal
    cycle_end: datetime
    budgets: tuple[Decimal, ...] = ()


@dataclass(frozen=True)
class Ranked:
    name: str
    amount: Decimal


@dataclass(frozen=True)
class TopTable:
    """The largest spenders (``by`` is ``people`` or ``models``) within one unit, largest first."""

    by: str
    unit: str
    rows: tuple[Ranked, ...]


@dataclass(frozen=True)
class CreditLine:
    """What "credits left" means for one source: a credit pool, people near their limit, or a figure."""

    connection: str
    vendor: str
    pool: CreditView | None = None
    near_limit: int = 0
    tracked: TrackedView | None = None


@dataclass(frozen=True)
class Headroom:
    connection: str
    vendor: str
    window: WindowView


@dataclass(frozen=True)
class Digest:
    """Everything one digest shows; ``day`` is the last day it reports, in the channel's zone."""

    tz: ZoneInfo
    day: date
    period_label: str
    weekly: bool
    late: bool
    test: bool
    no_names: bool
    sources: tuple[SourceSpend, ...]
    cycles: tuple[CycleStanding, ...]
    top: tuple[TopTable, ...]
    people_notes: tuple[str, ...]
    credits: tuple[CreditLine, ...]
    headroom: tuple[Headroom, ...]
    open_alerts: tuple[str, ...]
    freshness: tuple[Freshness, ...]
    chart_file_id: str | None = None
    idle: str | None = None
    """The weekly digest's line on idle seats, with a button that opens ``idle`` for the clicker."""
    spikes: tuple[str, ...] = ()
    """People whose last UTC day was far above their usual (``domain.spikes``), one line each."""
    why: str | None = None
    """Why the dollar spend changed on the period before (``messages.why``)."""
    more_alerts: int = 0
    """How many firing alerts ``open_alerts`` leaves out."""


TOP_TITLES = {"people": "Top people", "models": "Top models"}


def no_sources_message(reason: str) -> Message:
    """The digest of a workspace with nothing to report on yet."""
    return Message("spendbot digest: no connection yet", [section(reason)])


def _title(digest: Digest) -> str:
    return "Weekly digest" if digest.weekly else "Daily digest"


def _label(digest: Digest) -> str:
    day = digest.day
    return digest.period_label if digest.weekly else f"{day:%a} {day:%b} {day.day}"


def _tags(digest: Digest) -> str:
    return (" [TEST]" if digest.test else "") + (" (late)" if digest.late else "")


def _source_field(source: SourceSpend, weekly: bool) -> tuple[str, str]:
    unit = source.unit
    lines = [
        f"*{format_amount(source.amount, unit)}*" + usage_part(source.vendor, source.requests, source.tokens),
        f"{format_change(source.amount, source.previous, unit)} on the "
        + ("week before" if weekly else "day before"),
        f"7 days: {format_amount(source.week, unit)}, "
        f"{format_change(source.week, source.week_before, unit)} on the 7 before",
    ]
    if source.utc_days:
        lines.append("_UTC days_")
    return source_label(source.connection, source.vendor), "\n".join(lines)


def _cycle_line(cycle: CycleStanding) -> str:
    unit, end = cycle.unit, cycle.cycle_end
    text = (
        f"{source_label(cycle.connection, cycle.vendor)}: {format_amount(cycle.spent, unit)} so far, "
        f"forecast {format_amount(cycle.projected, unit)} by {end:%b} {end.day}"
    )
    for budget in cycle.budgets:
        text += f" — {format_percent(cycle.spent / budget * 100)} of the {format_amount(budget, unit)} budget"
        if cycle.projected > budget:
            text += " :warning: forecast over budget"
    return text


def _top_lines(digest: Digest) -> list[str]:
    lines = []
    for table in digest.top:
        if not table.rows:
            continue
        lines.append(
            f"*{TOP_TITLES[table.by]}* (" + ("credits" if table.unit == "credits" else "dollars") + ")"
        )
        lines.extend(
            f"{index}. {escape(row.name)} — {format_amount(row.amount, table.unit)}"
            for index, row in enumerate(table.rows, start=1)
        )
    if digest.no_names and lines:
        lines.append("_People are not named in this channel (no-names)._")
    return lines + [f"_{note}_" for note in digest.people_notes]


def _credit_line(line: CreditLine, tz: ZoneInfo) -> str:
    label = source_label(line.connection, line.vendor)
    if line.pool is not None:
        return f"{label}: " + " ".join(credit_lines(line.pool, tz))
    if line.tracked is not None:
        return f"{label}: `{escape(line.tracked.field)}` = {line.tracked.value:,}"
    return f"{label}: {line.near_limit} people at 90% or more of their spend limit"


def _chart(file_id: str) -> Block:
    return {
        "type": "image",
        "slack_file": {"id": file_id},
        "alt_text": "Spend per UTC day over the last 30 days",
        "title": {"type": "plain_text", "text": "Last 30 days"},
    }


def _body(digest: Digest) -> list[Block]:
    """The blocks between the header and the closing freshness line."""
    blocks: list[Block] = fields([_source_field(source, digest.weekly) for source in digest.sources])
    if digest.why:
        blocks.append(section(digest.why))
    if digest.cycles:
        lines = [_cycle_line(cycle) for cycle in digest.cycles]
        blocks += [divider(), section("*This cycle*\n" + "\n".join(lines))]
    who = _top_lines(digest)
    if who:
        blocks += [divider(), *lines_sections(who, max_lines=len(who))]  # each table is cut already
    if digest.credits:
        lines = [_credit_line(line, digest.tz) for line in digest.credits]
        blocks += [divider(), section("*Credits and limits*\n" + "\n".join(lines))]
    if digest.headroom:
        lines = [
            f"{source_label(item.connection, item.vendor)} — {window_line(item.window, digest.tz)}"
            for item in digest.headroom
        ]
        blocks.append(section("*Rate-limit headroom*\n" + "\n".join(lines)))
    if digest.spikes:
        blocks.append(
            section("*Spikes* (UTC day, 3× the usual and $20 at least)\n" + "\n".join(digest.spikes))
        )
    if digest.idle:
        see = button("See idle seats", OPEN_ACTION, "idle")
        blocks.append(section(f"*Idle seats*\n{digest.idle}.", accessory=see))
    alerts = [f":rotating_light: {summary.splitlines()[0]}" for summary in digest.open_alerts]
    if digest.more_alerts:
        alerts.append(f"+{digest.more_alerts:,} more open {'alert' if digest.more_alerts == 1 else 'alerts'}")
    blocks.append(section("*Open alerts*\n" + ("\n".join(alerts) if alerts else "None.")))
    if digest.chart_file_id:
        blocks.append(_chart(digest.chart_file_id))
    return blocks


def digest_message(digest: Digest) -> Message:
    """The digest as one message within Slack's limits, with a fallback naming each source's total."""
    title, label, tags = _title(digest), _label(digest), _tags(digest)
    blocks: list[Block] = [header(f"{title} · {label}{tags}")]
    if digest.late:
        blocks.append(context("Posted late: the bot was not running at the scheduled time."))
    blocks += _body(digest)
    blocks.append(context(freshness_line(digest.freshness, digest.tz)))
    totals = [f"{source.connection} {format_amount(source.amount, source.unit)}" for source in digest.sources]
    text = f"{title} {label}{tags}: " + (", ".join(totals) or "no spend sources")
    return Message(text, fit(blocks))
