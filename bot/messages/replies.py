"""Answers to messages: one pure function per read command, using the builders in ``blocks``."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.domain.money import REQUESTS, format_tokens
from bot.domain.vendors import display_name, traits
from bot.messages.answers import (
    BREAKDOWN_ROWS,
    CREDITS,
    USD,
    Breakdown,
    CreditsAnswer,
    CreditView,
    Freshness,
    LimitsAnswer,
    LimitWatch,
    PeopleAnswer,
    PersonSource,
    SpendAnswer,
    StatusAnswer,
    StatusCard,
    TopAnswer,
    TrackedView,
    UserAnswer,
    WindowView,
)
from bot.messages.blocks import (
    amount,
    change,
    context,
    divider,
    fields,
    header,
    lines_sections,
    local_date,
    local_time,
    message,
    overdue_text,
    percent,
    runway_text,
    section,
)
from bot.messages.message import Block, Message
from bot.messages.mrkdwn import escape
from bot.messages.why import why_line

ZERO = Decimal(0)


def freshness_line(items: Sequence[Freshness], tz: ZoneInfo) -> str:
    """ "Cursor data as of 09:12 · windsurf-eu data as of Nov 20 18:00", in the reader's zone."""
    parts = []
    for item in items:
        name = display_name(item.vendor) if item.connection == item.vendor else f"`{item.connection}`"
        part = f"{name} data as of {local_time(item.as_of, tz)}"
        if item.problem:
            part += f" ({escape(item.problem)})"
        elif item.overdue_after is not None:
            part += f" ({overdue_text(item.overdue_after)})"
        parts.append(part)
    zone = tz.key if hasattr(tz, "key") else str(tz)
    return " · ".join(parts) + f" · times in {zone}"


def source_label(connection: str, vendor: str) -> str:
    """ "Cursor" for the connection named after its vendor, else "Cursor `team-b`"."""
    return display_name(vendor) if connection == vendor else f"{display_name(vendor)} `{connection}`"


def _breakdown_lines(breakdown: Breakdown, total: Decimal, limit: int) -> list[str]:
    lines = []
    for index, row in enumerate(breakdown.rows[:limit], start=1):
        share = f" · {percent(row.amount / total * 100)}" if total > 0 and breakdown.by != "day" else ""
        label = escape(row.label)
        prefix = f"{index}. " if breakdown.by != "day" else ""
        lines.append(f"{prefix}{label} — *{amount(row.amount, row.unit)}*{share}{tokens_part(row.tokens)}")
    return lines


def tokens_part(tokens: int) -> str:
    """`` · 4.5M tokens``, or nothing where no tokens were counted (a count in its own unit, not money)."""
    return f" · {format_tokens(tokens)}" if tokens else ""


def usage_part(vendor: str, requests: Decimal, tokens: int = 0) -> str:
    """`` · 1,234 requests · 4.5M tokens``: the requests unless the vendor's per-person figures carry no
    count (Windsurf), and the tokens where the vendor reports them."""
    shown = (
        "" if not traits(vendor).reports_request_counts and not requests else f" · {int(requests):,} requests"
    )
    return shown + tokens_part(tokens)


def spend_message(answer: SpendAnswer) -> Message:
    blocks: list[Block] = [header(f"Spend · {answer.period_label}")]
    summary = []
    if answer.total_usd_cents is not None:
        summary.append(
            f"*{amount(answer.total_usd_cents, USD)}* in dollars "
            f"({change(answer.total_usd_cents, answer.previous_total_usd_cents or ZERO, USD)} "
            f"on {answer.previous_label})"
        )
    if answer.left_out:
        names = ", ".join(f"`{name}`" for name in answer.left_out)
        summary.append(
            f"Not in the dollar total: {names} (credits; set `WINDSURF_CREDIT_PRICE` to count them)."
        )
    if answer.why is not None and answer.why.parts:
        summary.append(why_line(answer.why))
    if summary:
        blocks.append(section("\n".join(summary)))
    pairs = []
    for source in answer.sources:
        value = amount(source.amount, source.unit)
        detail = change(source.amount, source.previous, source.unit) + usage_part(
            source.vendor, source.requests, source.tokens
        )
        if source.utc_days:
            detail += " · UTC days"
        pairs.append((source_label(source.connection, source.vendor), f"{value}\n{detail}"))
    blocks.extend(fields(pairs))
    for breakdown in answer.breakdowns:
        unit = breakdown.rows[0].unit if breakdown.rows else USD
        total = breakdown.amount
        title = {"user": "By person", "model": "By model", "day": "By day"}[breakdown.by]
        title += " (credits)" if unit == CREDITS else ""
        blocks.append(divider())
        blocks.append(section(f"*{title}*"))
        if breakdown.rows:
            lines = _breakdown_lines(breakdown, total, BREAKDOWN_ROWS)
            blocks.extend(lines_sections(lines, max_lines=BREAKDOWN_ROWS, total=breakdown.count))
        else:
            blocks.append(context("No spend in this period."))
    blocks.append(context(freshness_line(answer.freshness, answer.tz), *answer.notes))
    total_text = amount(answer.total_usd_cents, USD) if answer.total_usd_cents is not None else None
    fallback = f"Spend {answer.period_label}: " + (
        total_text or ", ".join(amount(s.amount, s.unit) for s in answer.sources)
    )
    return message(fallback, blocks)


def top_message(answer: TopAnswer) -> Message:
    blocks: list[Block] = [header(f"Top {answer.n} · {answer.period_label}")]
    for ranking in answer.rankings:
        sources = ", ".join(f"`{name}`" for name in ranking.sources)
        unit_label = {USD: "dollars", REQUESTS: "requests"}.get(ranking.unit, "credits")
        blocks.append(section(f"*By {unit_label}* ({sources})"))
        if not ranking.people:
            blocks.append(
                context(
                    "Nobody used it in this period."
                    if ranking.unit == REQUESTS
                    else "Nobody spent anything in this period."
                )
            )
            continue
        lines = []
        for index, person in enumerate(ranking.people, start=1):
            who = f"{escape(person.name)} ({escape(person.email)})" if person.name else escape(person.email)
            lines.append(f"{index}. {who} — *{amount(person.amount, person.unit)}*")
        blocks.extend(lines_sections(lines, max_lines=len(lines)))
        if ranking.total_people > len(ranking.people):
            blocks.append(context(f"{ranking.total_people} people spent in this period."))
    blocks.append(context(freshness_line(answer.freshness, answer.tz), *answer.notes))
    first = answer.rankings[0].people[0] if answer.rankings and answer.rankings[0].people else None
    fallback = f"Top {answer.n} {answer.period_label}" + (
        f": {first.email} {amount(first.amount, first.unit)} first" if first else ""
    )
    return message(fallback, blocks)


def people_message(answer: PeopleAnswer) -> Message:
    """Who uses two or more tools, with each tool's figure and the dollars on all but their main one."""
    blocks: list[Block] = [header(f"People on two or more tools · {answer.period_label}")]
    if not answer.people:
        blocks.append(section("Nobody used two or more of these tools in this period."))
    lines = []
    for index, person in enumerate(answer.people, start=1):
        who = f"{escape(person.name)} ({escape(person.email)})" if person.name else escape(person.email)
        tools = " · ".join(f"{escape(use.tool)} {amount(use.amount, use.unit)}" for use in person.tools)
        lines.append(f"{index}. {who} — {tools} — *{amount(person.at_stake_cents, USD)} at stake*")
    blocks.extend(lines_sections(lines, max_lines=len(lines)))
    total = (
        f"{answer.total_people} {'person uses' if answer.total_people == 1 else 'people use'} two or more "
        f"tools; *{amount(answer.at_stake_cents, USD)}* at stake in all"
        + (f" (the first {len(answer.people)} shown)." if answer.total_people > len(answer.people) else ".")
    )
    blocks.append(section(total))
    blocks.append(
        context(
            "At stake: a person's dollars on every tool but the one they spend most dollars on. Credits "
            "without a price and requests (vendors that keep money for the team) count as use, not money.",
            freshness_line(answer.freshness, answer.tz),
        )
    )
    fallback = f"People on two or more tools {answer.period_label}: {answer.total_people}, " + amount(
        answer.at_stake_cents, USD
    )
    return message(fallback + " at stake", blocks)


def _person_figure(source: PersonSource) -> str:
    """A person's money on a source, or their requests where the vendor keeps money for the team only."""
    if traits(source.vendor).spend_by_person:
        return (
            f"*{amount(source.amount, source.unit)}* ({change(source.amount, source.previous, source.unit)})"
            + tokens_part(source.tokens)
        )
    requests = amount(source.requests, REQUESTS)
    change_text = change(source.requests, source.previous_requests, REQUESTS)
    tokens = tokens_part(source.tokens)
    return f"*{requests}* ({change_text}){tokens} · its spend is reported for the whole team only"


def user_message(answer: UserAnswer) -> Message:
    who = f"{answer.name} ({answer.email})" if answer.name else answer.email
    blocks: list[Block] = [header(f"{who} · {answer.period_label}")]
    pairs = []
    for source in answer.sources:
        lines = [_person_figure(source) + (" · UTC days" if source.utc_days else "")]
        if source.cycle_total is not None:
            limit = (
                f" of a {amount(source.limit, source.unit)} limit"
                if source.limit is not None
                else ", no limit"
            )
            lines.append(f"{amount(source.cycle_total, source.unit)} this cycle{limit}")
        pairs.append((source_label(source.connection, source.vendor), "\n".join(lines)))
    blocks.extend(fields(pairs))
    if answer.models:
        blocks.append(section("*By model*"))
        blocks.extend(
            lines_sections(
                [
                    f"{escape(row.label)} — {amount(row.amount, row.unit)}{tokens_part(row.tokens)}"
                    for row in answer.models
                ],
                max_lines=15,
            )
        )
    blocks.append(context(freshness_line(answer.freshness, answer.tz), *answer.notes))
    totals = ", ".join(amount(source.amount, source.unit) for source in answer.sources)
    return message(f"{answer.email} {answer.period_label}: {totals}", blocks)


def credit_lines(view: CreditView, tz: ZoneInfo) -> list[str]:
    left = percent(view.percent_left) if view.percent_left is not None else "—"
    lines = [f"*{amount(view.remaining, view.unit)}* left of {amount(view.size, view.unit)} ({left})"]
    for pool in view.pools:
        lines.append(
            f"• {pool.name} pool: {amount(pool.remaining, view.unit)} left of {amount(pool.size, view.unit)}"
        )
    if view.days_left is None:
        lines.append("Nothing spent in the last 7 days.")
    else:
        burn = amount(view.burn_per_day, view.unit)
        text = f"{runway_text(view.days_left)} left at the current burn ({burn}/day)"
        if view.cycle_end is not None:
            text += f", cycle resets on {local_date(view.cycle_end, tz)}"
        lines.append(text)
        if view.top_up_by is not None:
            day = view.top_up_by
            lines.append(f":warning: Runs out before the cycle resets: top up by *{day:%b} {day.day}*.")
    return lines


def _limit_watch_lines(watch: LimitWatch) -> list[str]:
    threshold = percent(watch.threshold_percent)
    if watch.count == 0:
        return [f"Nobody is at {threshold} of their spend limit ({watch.with_limits} people have one)."]
    lines = [
        f"*{watch.count}* {'person is' if watch.count == 1 else 'people are'} "
        f"at {threshold} or more of their limit"
    ]
    if watch.names_hidden:
        lines.append("_Names are shown to admins._")
    for person in watch.people:
        who = escape(person.name or person.email)
        lines.append(
            f"• {who}: {amount(person.spent_cents, USD)} of {amount(person.limit_cents, USD)} "
            f"({percent(person.percent)})"
        )
    return lines


def _tracked_line(view: TrackedView, tz: ZoneInfo) -> str:
    text = f"`{escape(view.field)}` = *{view.value:,}* (read {local_time(view.observed_at, tz)})"
    if view.previous is not None:
        delta = view.value - view.previous
        sign = "+" if delta >= 0 else "−"
        text += f", {sign}{abs(delta):,} in a day"
    return text


def credits_message(answer: CreditsAnswer) -> Message:
    blocks: list[Block] = [header("Credits and limits")]
    for view in answer.credits:
        blocks.append(
            section(
                f"*{source_label(view.connection, view.vendor)}*\n" + "\n".join(credit_lines(view, answer.tz))
            )
        )
    for watch in answer.limits:
        label = source_label(watch.connection, watch.vendor)
        blocks.append(section(f"*{label}*\n" + "\n".join(_limit_watch_lines(watch))))
    for figure in answer.tracked:
        blocks.append(section(f"*REST `{figure.connection}`*\n{_tracked_line(figure, answer.tz)}"))
    if len(blocks) == 1:
        blocks.append(section("No credit pools, spend limits or tracked figures yet."))
    blocks.append(context(freshness_line(answer.freshness, answer.tz), *answer.notes))
    first = answer.credits[0] if answer.credits else None
    fallback = "Credits: " + (
        f"{amount(first.remaining, first.unit)} left ({runway_text(first.days_left)})"
        if first
        else "see details"
    )
    return message(fallback, blocks)


def window_line(window: WindowView, tz: ZoneInfo) -> str:
    name = {"headers": "vendor headers", "minute": "our count, per minute", "day": "our count, per day"}.get(
        window.scope, window.scope.replace("_", " ")
    )
    if window.limit is not None and window.remaining is not None:
        left = percent(window.percent_left) if window.percent_left is not None else "—"
        text = f"{name}: {window.remaining:,} of {window.limit:,} left ({left})"
        if window.reset_at is not None:
            text += f", resets {local_time(window.reset_at, tz)}"
    else:
        text = f"{name}: no figures yet"
    if window.rate_limited_total:
        text += f" · :warning: {window.rate_limited_total} × 429"
    if window.waited_seconds_total >= 1:
        text += f" · waited {window.waited_seconds_total:,.0f}s for our limiter"
    return text


def limits_message(answer: LimitsAnswer) -> Message:
    blocks: list[Block] = [header("Rate-limit headroom")]
    for name, vendor, windows in answer.connections:
        lines = [window_line(window, answer.tz) for window in windows] or ["No requests made yet."]
        blocks.append(section(f"*{source_label(name, vendor)}*\n" + "\n".join(f"• {line}" for line in lines)))
    return message("Rate-limit headroom per connection", blocks)


def status_card(card: StatusCard, tz: ZoneInfo) -> list[Block]:
    icon = {"ok": ":large_green_circle:", "failing": ":red_circle:", "rejected": ":no_entry:"}.get(
        card.status, ":white_circle:"
    )
    overdue = card.freshness.overdue_after
    if card.status == "ok" and overdue is not None:
        icon = ":large_yellow_circle:"
    title = f"{icon} *{source_label(card.connection, card.vendor)}*"
    if card.origin == "env":
        title += " _(environment)_"
    lines = [title]
    if card.cycle_spent is not None:
        cycle = ""
        if card.cycle_start is not None and card.cycle_end is not None:
            cycle = f" ({local_date(card.cycle_start, tz)} – {local_date(card.cycle_end, tz)})"
        lines.append(f"This cycle: *{amount(card.cycle_spent, card.unit)}*{cycle}")
    if card.people_unavailable:
        lines.append("_Per-person figures are unavailable for part of this cycle: these are team totals._")
    if card.credit is not None:
        lines.extend(credit_lines(card.credit, tz)[:1] + credit_lines(card.credit, tz)[-2:])
    if card.near_limit:
        lines.append(f"{card.near_limit} people at 90% or more of their spend limit")
    if card.tracked is not None:
        lines.append(_tracked_line(card.tracked, tz))
    for window in card.windows:
        if window.scope in ("headers", "minute", "day") or window.rate_limited_total:
            lines.append(f"Headroom — {window_line(window, tz)}")
    problem = card.freshness.problem or (
        card.status_detail if card.status in ("failing", "rejected") else None
    )
    if problem:
        lines.append(f":warning: {escape(problem)}")
    if overdue is not None:
        lines.append(f":hourglass: {overdue_text(overdue)}")
    lines.append(f"_Data as of {local_time(card.freshness.as_of, tz)}_")
    return [section("\n".join(lines))]


def status_message(answer: StatusAnswer) -> Message:
    blocks: list[Block] = [header("spendbot status")]
    for card in answer.cards:
        blocks.extend(status_card(card, answer.tz))
    zone = answer.tz.key if hasattr(answer.tz, "key") else str(answer.tz)
    blocks.append(context(f"Times in {zone}", *answer.notes))
    bad = [card.connection for card in answer.cards if card.status in ("failing", "rejected")]
    stale = [
        card.connection
        for card in answer.cards
        if card.connection not in bad and card.freshness.overdue_after is not None
    ]
    states = [f"{what}: {', '.join(names)}" for what, names in (("failing", bad), ("stale", stale)) if names]
    fallback = ", ".join([f"{len(answer.cards)} connections", *(states or ["all fine"])])
    return message(fallback, blocks)


DELIVERY_MARKS = {
    "sent": ":white_check_mark:",
    "failed": ":x:",
    "posting": ":hourglass_flowing_sand:",
    "delayed": ":hourglass_flowing_sand:",
    "skipped": ":fast_forward:",
}
ALERT_STEPS = {"fire": "fired", "remind": "reminder", "resolve": "resolved"}


def delivery_subject(kind: str, period: str) -> str:
    """What a scheduled post was, for people: an alert's ledger period is a key, not a label."""
    if kind == "alert":
        metric, threshold, _cycle, step, *_ = [*period.split("|"), "", "", "", ""]
        return f"alert {escape(metric)} {escape(threshold)} ({ALERT_STEPS.get(step, escape(step))})"
    return f"{escape(kind)} {escape(period)}"


def delivery_line(
    when: str,
    kind: str,
    period: str,
    channel_id: str,
    state: str,
    *,
    late: bool,
    error: str | None,
    next_try: str | None = None,
) -> str:
    """One scheduled post and its outcome, as ``deliveries`` and the App Home list them (a delayed one
    with when it is tried again)."""
    text = f"{DELIVERY_MARKS.get(state, ':grey_question:')} {when} · {delivery_subject(kind, period)}"
    text += f" · <#{channel_id}> · {escape(state)}" + (" (late)" if late else "")
    if next_try is not None:
        text += f", next try {next_try}"
    if error:
        text += f" — {escape(error[:150])}"
    return text


def export_message(filename: str, rows: int, period_label: str, notes: Sequence[str] = ()) -> Message:
    """``export``: the file went by direct message; what it holds and how to read its days and amounts."""
    text = f":page_facing_up: Sent you `{filename}` by direct message: {rows:,} rows, {period_label}."
    return message(
        text, [section(text), context("Days in the file are UTC days; amounts in each row's unit.", *notes)]
    )
