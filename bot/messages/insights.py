"""The insight answers: idle seats, spikes and backtests. Lists of people read better as a table, so
``idle`` and ``backtest`` carry one Slack ``table`` block each (one a message, as Slack allows; table
cells are plain text, so they name tools without mrkdwn), beside a summary in text for notifications."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.domain.alerts import AlertAction
from bot.domain.idle import IdleSeat, IdleSeats
from bot.domain.periods import format_date
from bot.domain.spikes import Spike
from bot.domain.vendors import display_name
from bot.messages.answers import USD, AlertBacktestAnswer, BacktestAnswer, IdleAnswer
from bot.messages.blocks import amount, context, header, message, section, table
from bot.messages.message import Block, Message
from bot.messages.mrkdwn import escape
from bot.messages.replies import freshness_line, source_label


def _who(seat: IdleSeat) -> str:
    return f"{seat.name} ({seat.email})" if seat.name and seat.name != seat.email else seat.email


def _plain_tool(vendor: str, source: str) -> str:
    """A tool as a table cell names it: "Cursor", or "Cursor team-b" for a connection named otherwise."""
    return display_name(vendor) if source == vendor else f"{display_name(vendor)} {source}"


def spike_tool(spike: Spike) -> str:
    """The tool a spike is on, in mrkdwn: "Cursor", or "Cursor `team-b`"."""
    return source_label(spike.source, spike.vendor)


def spike_line(spike: Spike) -> str:
    """ "ada@x.io — $312.40 on Cursor (6.1× their usual $51.20)", or "(usual $0.00)" from nothing."""
    tool = spike_tool(spike)
    times = spike.times
    ratio = f"{times.quantize(Decimal('0.1'))}× their usual" if times is not None else "their usual"
    usual = amount(spike.usual_cents, USD)
    return f"{escape(spike.email)} — *{amount(spike.cents, USD)}* on {tool} ({ratio} {usual})"


def backtest_message(answer: BacktestAnswer) -> Message:
    """When the rule would have fired and resolved, and how many posts it would have made."""
    rule = answer.rule
    days = (answer.last - answer.first).days + 1
    title = (
        f"Backtest · spike x{rule.factor} min {amount(rule.minimum_dollars * 100, USD)} · last {days} days"
    )
    fires = [post for post in answer.posts if post.action is AlertAction.FIRE]
    resolves = len(answer.posts) - len(fires)
    people = len({post.spike.email for post in fires})
    spike_days = len({post.day for post in fires})
    blocks: list[Block] = [header(title)]
    if not fires:
        blocks.append(
            section(
                f"It would have posted nothing: no spike in the {days} UTC days to "
                f"{format_date(answer.last)}."
            )
        )
    else:
        blocks.append(
            section(
                f"It would have posted *{len(answer.posts)}* times: {len(fires)} "
                f"{'alert' if len(fires) == 1 else 'alerts'} about {people} "
                f"{'person' if people == 1 else 'people'} on {spike_days} of {days} days, and {resolves} "
                f"{'resolution' if resolves == 1 else 'resolutions'} the day after. No reminders: an alert "
                "is one person's one day."
            )
        )
        rows = [
            [
                format_date(post.day),
                post.spike.email,
                _plain_tool(post.spike.vendor, post.spike.source),
                amount(post.spike.cents, USD),
                amount(post.spike.usual_cents, USD),
            ]
            for post in fires
        ]
        blocks.extend(table(("UTC day", "Person", "Tool", "Spent", "Usual"), rows, right=(3, 4)))
    blocks.append(
        context(
            f"Replayed on the stored history, UTC days {format_date(answer.first)} to "
            f"{format_date(answer.last)}: each day against the person's 28 days before it, as "
            "`subscribe spike` would judge it.",
            freshness_line(answer.freshness, answer.tz),
        )
    )
    return message(f"{title}: {len(answer.posts)} posts", blocks)


def alert_backtest_message(answer: AlertBacktestAnswer) -> Message:
    """A budget or credit-low rule replayed: each alert it would have posted, when it fired, how often it
    reminded and when it resolved, and the posts in all."""
    days = (answer.last - answer.first).days + 1
    title = f"Backtest · {answer.rule} · last {days} days"
    episodes = answer.episodes
    posts = sum(episode.posts for episode in episodes)
    reminders = sum(episode.reminders for episode in episodes)
    resolutions = sum(1 for episode in episodes if episode.resolved_on is not None)
    blocks: list[Block] = [header(title)]
    if not episodes:
        summary = f"It would have posted nothing in the {days} UTC days to {format_date(answer.last)}."
    else:
        summary = (
            f"It would have posted *{posts}* times: {_count(len(episodes), 'alert')}, "
            f"{_count(reminders, 'reminder')} (one every {_hours(answer.remind_hours)} while an alert "
            f"holds) and {_count(resolutions, 'resolution')}."
        )
    blocks.append(section(summary))
    if episodes:
        prefix = _shared_prefix([episode.title for episode in episodes])
        rows = [
            [
                episode.title.removeprefix(prefix),
                format_date(episode.fired_on),
                str(episode.reminders),
                _ending(episode.resolved_on, episode.still_firing),
            ]
            for episode in episodes
        ]
        blocks.extend(table(("Alert", "Fired (UTC day)", "Reminders", "Resolved"), rows, right=(2,)))
    replayed = ", ".join(answer.replayed) or "no source"
    replay = (
        f"Replayed on the stored history of {replayed}, UTC days {format_date(answer.first)} to "
        f"{format_date(answer.last)}. {answer.note}"
    )
    left_out = " ".join(f"{escape(name)} left out: {why}." for name, why in answer.left_out)
    blocks.append(context(replay, left_out, freshness_line(answer.freshness, answer.tz)))
    return message(f"{title}: {posts} posts", blocks)


def _shared_prefix(titles: list[str]) -> str:
    """The "Budget $5,000 (cursor): " or "Windsurf: " every title starts with, which the header and the
    context already say; none when the alerts name different sources."""
    heads = {title.split(": ", 1)[0] for title in titles if ": " in title}
    return f"{heads.pop()}: " if len(heads) == 1 and all(": " in title for title in titles) else ""


def _ending(resolved_on: date | None, still_firing: bool) -> str:
    if resolved_on is not None:
        return format_date(resolved_on)
    return "still firing" if still_firing else "no (its cycle ended)"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _hours(hours: float) -> str:
    return "day" if hours == 24 else f"{hours:g} hours"


def idle_summary(found: IdleSeats, days: int) -> str:
    """ "3 seats unused for 30 days, $120.00 a month" (and how many have no price): the digest's too."""
    count = len(found.seats)
    text = f"{count:,} {'seat' if count == 1 else 'seats'} unused for {days} days"
    if found.monthly_cents:
        text += f", *{amount(found.monthly_cents, USD)}* a month"
    if found.unpriced and found.unpriced < count:
        text += f" ({found.unpriced:,} without a seat price)"
    return text


def idle_message(answer: IdleAnswer) -> Message:
    found = answer.found
    blocks: list[Block] = [header(f"Idle seats · no use for {answer.days} days")]
    if not found.seats:
        blocks.append(section(f"Every seat was used in the last {answer.days} days."))
    else:
        blocks.append(section(idle_summary(found, answer.days) + "."))
        rows = [
            [
                _who(seat),
                _plain_tool(seat.vendor, seat.source),
                "never seen" if seat.last_use is None else format_date(seat.last_use),
                "—" if seat.idle_days is None else f"{seat.idle_days} days",
                "—" if seat.monthly_cents is None else amount(seat.monthly_cents, USD),
            ]
            for seat in found.seats
        ]
        blocks.extend(table(("Person", "Tool", "Last use", "Idle", "A month"), rows, right=(3, 4)))
    notes = []
    if found.unpriced:
        notes.append(
            "Set `CURSOR_SEAT_PRICE`, `WINDSURF_SEAT_PRICE` or `COPILOT_SEAT_PRICE` (dollars a month) to see "
            "what an idle seat costs."
        )
    if found.unknown:
        one = found.unknown == 1
        notes.append(
            f"{found.unknown} {'seat has' if one else 'seats have'} no use in a history shorter than "
            f"{answer.days} days, so {'it is' if one else 'they are'} not counted yet."
        )
    blocks.append(
        context("Last use: the later of what the vendor reports and the last day with usage.", *notes)
    )
    blocks.append(context(freshness_line(answer.freshness, answer.tz)))
    fallback = f"Idle seats: {idle_summary(found, answer.days).replace('*', '')}"
    return message(fallback, blocks)
