"""The one parser of the slash-command text, and the registry of sub-commands it serves.

``parse_command("spend 7d cursor by model")`` returns ``Spend(period=7d, source=cursor, by="model")``; any
text at all returns a command or raises ``UserInputError`` (never anything else). Words after the
sub-command may come in any order; each is recognised by its form:

=================  ==========================================================
form               read as
=================  ==========================================================
``today`` ``7d``   a period (``periods.parse_period``)
``cursor``         every connection of that vendor; other names: a connection
``by user``        a breakdown (two words: ``by`` and what)
``12`` ``#12``     a number (``top`` N, a subscription id)
``<@U123>``        a person, as Slack escapes a mention; emails plain or escaped
``at 08:30``       a time of day; ``tz Europe/Paris`` a time zone
``20%`` ``$5,000`` a percentage, an amount
=================  ==========================================================

``COMMANDS`` is the single source of truth for what exists: the help text and every error message (the
usage line and the example) are generated from it.
"""

from __future__ import annotations

import difflib
import functools
import re
import zoneinfo
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import time
from decimal import Decimal
from typing import Literal, TypeAlias

from bot.domain.commands import (
    BREAKDOWNS,
    DEFAULT_BACKTEST_DAYS,
    DEFAULT_RATE_LIMIT_PERCENT,
    DEFAULT_TOP,
    MAX_BACKTEST_DAYS,
    SUBSCRIPTION_KINDS,
    VENDORS,
    Audit,
    Backtest,
    Breakdown,
    Cadence,
    Command,
    Connect,
    Connections,
    Credits,
    Deliveries,
    DigestNow,
    Disconnect,
    Export,
    Help,
    IdleQuery,
    Limits,
    PeopleQuery,
    RequestLimit,
    SendTest,
    SetCap,
    SetLimit,
    Snooze,
    SourceFilter,
    Spend,
    Status,
    SubscribeBudget,
    SubscribeCreditLow,
    SubscribeDigest,
    SubscribeHealth,
    SubscribeRateLimit,
    SubscribeRequests,
    SubscribeSpike,
    Subscriptions,
    Top,
    Unsubscribe,
    UserQuery,
    UserRef,
    VendorName,
)
from bot.domain.errors import DEFAULT_COMMAND, UserInputError, code_span
from bot.domain.idle import DEFAULT_IDLE_DAYS, MAX_IDLE_DAYS
from bot.domain.money import parse_amount
from bot.domain.periods import (
    DEFAULT_PERIOD,
    PERIOD_LEADS,
    PeriodSpec,
    looks_like_duration,
    looks_like_period,
    parse_duration,
    parse_period,
)
from bot.domain.schedule import DAILY, DEFAULT_DIGEST_TIME, WEEKLY
from bot.domain.slack_ids import ID_BODY, SlackIdKind, id_pattern
from bot.domain.spikes import DEFAULT_FACTOR, DEFAULT_MINIMUM_CENTS

Group: TypeAlias = Literal["read", "configure", "write"]
#: ``SPENDBOT_PEOPLE_VISIBLE_TO``: who may see figures about named people.
PeopleVisibleTo: TypeAlias = Literal["admins", "everyone"]


MAX_TOP = 100
MAX_SUBSCRIPTION_ID = 2**31 - 1
MAX_LIMIT_DOLLARS = 1_000_000
"""A Cursor spend limit above this is taken for a typing mistake."""
MAX_CAP_CREDITS = 1_000_000_000

_CONNECTION_NAME = re.compile(r"[a-z0-9_-]{1,40}")
_SLACK_USER = re.compile(rf"<@({id_pattern(SlackIdKind.USER)})(?:\|[^>]*)?>")
_SLACK_MAILTO = re.compile(r"<mailto:([^|>]+)(?:\|[^>]*)?>", re.IGNORECASE)
_SLACK_CHANNEL = re.compile(rf"<#([CG]{ID_BODY})(?:\|([^>]*))?>")  # a channel one can subscribe: no DM
_EMAIL = re.compile(r"[^\s@<>|,;:\"()\[\]]{1,64}@[^\s@<>|,;:\"()\[\]]{1,189}\.[^\s@<>|,;:\"()\[\].]{2,63}")
_WORD = re.compile(r"<[^<>]*>|[^\s<>]+|[<>]")
_INTEGER = re.compile(r"#?([0-9]{1,12})")
#: A spike factor: `x3`, `3x`, `x2.5`.
_FACTOR = re.compile(r"x([0-9]{1,3}(?:\.[0-9])?)|([0-9]{1,3}(?:\.[0-9])?)x")
MAX_SPIKE_FACTOR = 100
_PERCENT = re.compile(r"([0-9]{1,3}(?:\.[0-9]{1,2})?)%")
_CLOCK = re.compile(r"([0-9]{1,2})(?::([0-9]{2}))?(am|pm)?")
_QUOTE_LIMIT = 40
_KEYWORDS = frozenset(
    {
        "by", "user", "users", "model", "models", "day", "days", "at", "tz", "below", "all", "none", "team",
        "until", "resolved", "until-resolved", "daily", "weekly", "no-names", "now", "am", "pm",
    }
)  # fmt: skip
"""Words of the grammar itself, which therefore cannot name a connection."""
GENERAL_USAGE = "<sub-command> [words, in any order]"
_SUBSCRIPTION_ID = ("subscription id", "subscriptions")

_DAY_NAMES = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5, "sun": 6, "sunday": 6,
}  # fmt: skip


__all__ = [
    "BREAKDOWNS",
    "COMMANDS",
    "DEFAULT_RATE_LIMIT_PERCENT",
    "DEFAULT_TOP",
    "GENERAL_USAGE",
    "MAX_CAP_CREDITS",
    "MAX_LIMIT_DOLLARS",
    "MAX_SUBSCRIPTION_ID",
    "MAX_TOP",
    "SUBSCRIPTION_KINDS",
    "VENDORS",
    "Audit",
    "Backtest",
    "Breakdown",
    "Cadence",
    "Command",
    "CommandSpec",
    "Connect",
    "Connections",
    "Credits",
    "Deliveries",
    "DigestNow",
    "Disconnect",
    "Export",
    "Group",
    "Help",
    "IdleQuery",
    "Limits",
    "PeopleQuery",
    "RequestLimit",
    "SendTest",
    "SetCap",
    "SetLimit",
    "Snooze",
    "SourceFilter",
    "Spend",
    "Status",
    "SubscribeBudget",
    "SubscribeCreditLow",
    "SubscribeDigest",
    "SubscribeHealth",
    "SubscribeRateLimit",
    "SubscribeRequests",
    "SubscribeSpike",
    "Subscriptions",
    "Top",
    "Unsubscribe",
    "UserQuery",
    "UserRef",
    "VendorName",
    "command_spec",
    "help_sections",
    "parse_command",
    "render_help",
    "spec_for",
]


# ---------------------------------------------------------------------------------------------- registry


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One sub-command as people see it: its form, what it does, and who may use it.

    ``usage`` and ``examples`` are written without the slash command. ``admin_only`` follows the design's
    "who" column; ``people_figures`` marks commands whose answer names people, which follow
    ``SPENDBOT_PEOPLE_VISIBLE_TO`` instead (``spend ... by user`` is checked on the parsed command):
    admins always, everyone when people are visible to everyone. ``own_figures`` marks those a person may
    also run about themselves (``user``).
    """

    name: str
    usage: str
    description: str
    examples: tuple[str, ...]
    group: Group
    admin_only: bool = False
    people_figures: bool = False
    own_figures: bool = False


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("help", "help [command]", "What exists, with examples.", ("help", "help spend"), "read"),
    CommandSpec(
        "status",
        "status",
        "One card per connection: cycle spend, credits and runway, rate-limit headroom, freshness, errors.",
        ("status",),
        "read",
    ),
    CommandSpec(
        "spend",
        "spend [period] [source] [by user|model|day]",
        "Totals and breakdown, with the change against the previous equal period.",
        ("spend 7d cursor by model", "spend", "spend cycle by user", "spend 2026-10-01..2026-10-31 windsurf"),
        "read",
    ),
    CommandSpec(
        "top",
        "top [N=10] [period] [source]",
        "The top N people by spend.",
        ("top 5 30d", "top"),
        "read",
        people_figures=True,
    ),
    CommandSpec(
        "people",
        "people [period] [source]",
        "Who uses two or more tools for the same job, and the dollars on all but their main one.",
        ("people 30d", "people"),
        "read",
        people_figures=True,
    ),
    CommandSpec(
        "idle",
        "idle [source] [days=30]",
        "Seats of Cursor, Windsurf and Copilot unused for that many days, most money first.",
        ("idle", "idle copilot 60"),
        "read",
        people_figures=True,
    ),
    CommandSpec(
        "backtest",
        "backtest spike [xN=x3] [min $N=$20] | budget <amount> [source] | credit-low [below N%|N] [Nd=90d]",
        "Replay the stored history through an alert before subscribing: when it would have fired, "
        "reminded and resolved, and how many posts it would have made.",
        ("backtest spike x4 min $50 30d", "backtest budget 5000 cursor 90d", "backtest credit-low below 20%"),
        "read",
        people_figures=True,
    ),
    CommandSpec(
        "user",
        "user <email|@mention> [period]",
        "One person across every tool.",
        ("user alice@example.com 30d",),
        "read",
        people_figures=True,
        own_figures=True,
    ),
    CommandSpec("credits", "credits", "Credit pools and runway.", ("credits",), "read"),
    CommandSpec(
        "limits",
        "limits",
        "Cursor users near their spend limit, and rate-limit headroom per connection.",
        ("limits",),
        "read",
    ),
    CommandSpec(
        "export",
        "export [period] [source]",
        "A CSV of the spend, sent to you by direct message.",
        ("export 30d cursor", "export 2026-10-01..2026-10-31"),
        "read",
        people_figures=True,
    ),
    CommandSpec(
        "connections",
        "connections",
        "The vendor connections (a key shows at most its last four characters).",
        ("connections",),
        "read",
    ),
    CommandSpec(
        "subscriptions",
        "subscriptions [all]",
        "This channel's subscriptions; `all` for every channel's.",
        ("subscriptions", "subscriptions all"),
        "read",
    ),
    CommandSpec(
        "connect",
        f"connect {'|'.join(VENDORS)} [name]",
        "Connect a vendor key (asked for in a form, checked live, stored encrypted).",
        ("connect cursor", "connect rest billing-api"),
        "configure",
        admin_only=True,
    ),
    CommandSpec(
        "disconnect",
        "disconnect <name>",
        "Remove a connection and its key.",
        ("disconnect billing-api",),
        "configure",
        admin_only=True,
    ),
    CommandSpec(
        "subscribe digest",
        "subscribe digest [daily|weekly|mon,wed,…] [at HH:MM=09:00] [tz Area/City] [no-names]",
        "Post a digest in this channel (daily by default; weekly is Mondays).",
        (
            "subscribe digest weekly at 08:30 tz Europe/Paris",
            "subscribe digest",
            "subscribe digest mon,wed,fri",
        ),
        "configure",
        admin_only=True,
    ),
    CommandSpec(
        "subscribe credit-low",
        "subscribe credit-low [below N%|N]",
        "Alert this channel when credits run low (stated as runway).",
        ("subscribe credit-low below 20%", "subscribe credit-low below 500"),
        "configure",
        admin_only=True,
    ),
    CommandSpec(
        "subscribe budget",
        "subscribe budget <amount> [source]",
        "Alert this channel at 50%, 80% and 100% of a budget per billing cycle, or when forecast to pass it.",
        ("subscribe budget $5,000 cursor", "subscribe budget 20000 windsurf"),
        "configure",
        admin_only=True,
    ),
    CommandSpec(
        "subscribe rate-limit",
        "subscribe rate-limit [below N%=10%]",
        "Alert this channel when rate-limit headroom runs low.",
        ("subscribe rate-limit below 15%", "subscribe rate-limit"),
        "configure",
        admin_only=True,
    ),
    CommandSpec(
        "subscribe health",
        "subscribe health",
        "Alert this channel when the bot cannot fetch data (bad key, stale data).",
        ("subscribe health",),
        "configure",
        admin_only=True,
    ),
    CommandSpec(
        "subscribe requests",
        "subscribe requests",
        "People's limit requests (`request-limit`) come to this channel, with Approve and Deny buttons.",
        ("subscribe requests",),
        "configure",
        admin_only=True,
    ),
    CommandSpec(
        "subscribe spike",
        "subscribe spike [xN=x3] [min $N=$20]",
        "Alert this channel when a person's day is N times their usual (once a person and day).",
        ("subscribe spike", "subscribe spike x4 min $50"),
        "configure",
        admin_only=True,
    ),
    CommandSpec(
        "unsubscribe",
        "unsubscribe <id|kind>",
        "Remove a subscription of this channel, by id or by kind.",
        ("unsubscribe 12", "unsubscribe digest"),
        "configure",
        admin_only=True,
    ),
    CommandSpec(
        "snooze",
        "snooze <id> <30m|4h|2d|until-resolved>",
        "Hold back a subscription's alerts for a while, or until resolved.",
        ("snooze 12 4h", "snooze #12 until-resolved"),
        "configure",
        admin_only=True,
    ),
    CommandSpec(
        "digest now",
        "digest now",
        "Post today's digest in this channel now, outside the schedule.",
        ("digest now",),
        "configure",
        admin_only=True,
    ),
    CommandSpec(
        "test", "test", "Post a test message in this channel.", ("test",), "configure", admin_only=True
    ),
    CommandSpec(
        "deliveries",
        "deliveries",
        "The last scheduled posts and their outcome.",
        ("deliveries",),
        "configure",
        admin_only=True,
    ),
    CommandSpec(
        "audit",
        "audit",
        "The last configuration changes and writes.",
        ("audit",),
        "configure",
        admin_only=True,
    ),
    CommandSpec(
        "set-limit",
        "set-limit <email> <dollars|none>",
        "Set a Cursor user's spend limit in whole dollars (asks to confirm first).",
        ("set-limit alice@example.com 100", "set-limit alice@example.com none"),
        "write",
        admin_only=True,
    ),
    CommandSpec(
        "request-limit",
        "request-limit <amount> [source] [reason]",
        "Ask the admins for a higher limit of your own: whole dollars for a Cursor or Anthropic spend "
        "limit, whole credits for a Windsurf credit cap. Admins approve or deny it where requests go.",
        ("request-limit 500 migrating the billing service", "request-limit 3000 windsurf"),
        "write",
    ),
    CommandSpec(
        "set-cap",
        "set-cap <credits|none> [email|team=team]",
        "Set a Windsurf add-on credit cap, for one person or the team (asks to confirm first).",
        ("set-cap 500 alice@example.com", "set-cap none"),
        "write",
        admin_only=True,
    ),
)

_SPECS = {spec.name: spec for spec in COMMANDS}
_VENDOR_BY_WORD: dict[str, VendorName] = {vendor: vendor for vendor in VENDORS}


def _vendor_words() -> str:
    """The vendor words as people read them: `cursor`, `windsurf` … or `rest`."""
    words = [code_span(vendor) for vendor in VENDORS]
    return ", ".join(words[:-1]) + " or " + words[-1]


_GROUP_TITLES: dict[Group, str] = {"read": "Read", "configure": "Configure", "write": "Write"}
_TWO_WORD_HEADS = frozenset(name.split()[0] for name in _SPECS if " " in name)


def command_spec(name: str) -> CommandSpec:
    """The registry entry of a sub-command by name (``"subscribe digest"``); ``KeyError`` if none."""
    return _SPECS[name]


def spec_for(command: Command) -> CommandSpec:
    """The registry entry of a parsed command: who may run it, and how to show its usage."""
    return _SPECS[command.spec_name]


# ---------------------------------------------------------------------------------------------- parsing


def parse_command(text: str, *, known_sources: Collection[str] | None = None) -> Command:
    """Read the text after the slash command into one ``Command``, or raise ``UserInputError``.

    ``known_sources`` are the connection names of the workspace: when given, a source word that is
    neither a vendor nor one of them is refused here, naming what exists. Without them any well-formed
    name is accepted and the caller checks it.
    """
    words = _split_words(text)
    if not words:
        return Help()
    name, rest = _sub_command(words)
    known = None if known_sources is None else frozenset(source.lower() for source in known_sources)
    return _PARSERS[name](_Words(_SPECS[name], rest, known))


@dataclass(frozen=True, slots=True)
class _Word:
    """One word as typed (``raw``, Slack's escapes kept whole) and its lowercased form for matching."""

    raw: str
    lower: str

    @property
    def quoted(self) -> str:
        text = self.raw if len(self.raw) <= _QUOTE_LIMIT else self.raw[: _QUOTE_LIMIT - 1] + "…"
        return code_span(text)


def _split_words(text: str) -> list[_Word]:
    words = []
    for raw in _WORD.findall(text):
        if not (raw.startswith("<") and raw.endswith(">")):
            # Slack escapes &, < and > in what people type; the escapes it makes itself are <…>.
            raw = raw.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        words.append(_Word(raw, raw.lower()))
    return words


def _sub_command(words: list[_Word]) -> tuple[str, list[_Word]]:
    head = words[0].lower
    if head in _SPECS:
        return head, words[1:]
    if head in _TWO_WORD_HEADS and len(words) > 1:
        name = f"{head} {words[1].lower}"
        if name in _SPECS:
            return name, words[2:]
        raise _unknown_sub_command(words, words[1])
    if head in _TWO_WORD_HEADS:
        raise _missing_second_word(head)
    raise _unknown_sub_command(words, words[0])


def _unknown_sub_command(words: Sequence[_Word], word: _Word) -> UserInputError:
    head = words[0].lower
    closest: str | None
    if head in _TWO_WORD_HEADS:
        seconds = {n.split(maxsplit=1)[1]: n for n in _SPECS if n.startswith(f"{head} ")}
        choices = ", ".join(code_span(second) for second in seconds)
        problem = f"{code_span(head)} has no {word.quoted}; it takes {choices}."
        matches = difflib.get_close_matches(word.lower[:_QUOTE_LIMIT], list(seconds), n=1, cutoff=0.6)
        closest = seconds[matches[0]] if matches else None
        if len(seconds) == 1:
            closest = next(iter(seconds.values()))
        usage = f"{head} {'|'.join(seconds)} …"
    elif looks_like_period(head) or head in VENDORS:
        # "/spend 7d cursor" is a question about spend.
        typed = " ".join(typed.raw for typed in words[:4])
        problem = f"There is no sub-command {word.quoted}. Did you mean {code_span('spend ' + typed)}?"
        return UserInputError(
            problem + " `help` lists them all.", usage=_SPECS["spend"].usage, example="spend 7d"
        )
    else:
        problem = f"There is no sub-command {word.quoted}."
        closest = _closest_command([typed.lower for typed in words])
        usage = GENERAL_USAGE
    if closest is not None:
        problem += f" Did you mean {code_span(closest)}?"
    problem += " `help` lists them all."
    example = _SPECS[closest].examples[0] if closest is not None else "help"
    return UserInputError(problem, usage=usage, example=example)


def _missing_second_word(head: str) -> UserInputError:
    names = [n for n in _SPECS if n.startswith(f"{head} ")]
    choices = ", ".join(code_span(n.split(maxsplit=1)[1]) for n in names)
    if len(names) == 1:
        problem = f"{code_span(head)} needs {choices} after it."
    else:
        problem = f"{code_span(head)} needs one of {choices} after it."
    usage = f"{head} {'|'.join(n.split(maxsplit=1)[1] for n in names)} …"
    return UserInputError(problem, usage=usage, example=_SPECS[names[0]].examples[0])


def _closest_command(typed: Sequence[str]) -> str | None:
    """The known sub-command nearest to the first one or two words typed, if any is near."""
    words = [word[:_QUOTE_LIMIT] for word in typed[:2]]
    if not words:
        return None
    one_word = [name for name in _SPECS if " " not in name]
    two_words = [name for name in _SPECS if " " in name]
    tries = [(" ".join(words), two_words)] if len(words) == 2 else []
    tries.append((words[0], one_word))
    for key, candidates in tries:
        if matches := difflib.get_close_matches(key, candidates, n=1, cutoff=0.6):
            return matches[0]
    # A mistyped first word of a two-word command ("subscibe") still finds the family.
    heads: dict[str, str] = {}
    for name in two_words:
        heads.setdefault(name.split()[0], name)
    matches = difflib.get_close_matches(words[0], list(heads), n=1, cutoff=0.6)
    return heads[matches[0]] if matches else None


@dataclass
class _Words:
    """The words after a sub-command, read one at a time, with what each slot was filled by."""

    spec: CommandSpec
    words: Sequence[_Word]
    known_sources: frozenset[str] | None
    position: int = 0
    filled: dict[str, _Word] = field(default_factory=dict)

    def __iter__(self) -> Iterator[_Word]:
        while self.position < len(self.words):
            word = self.words[self.position]
            self.position += 1
            yield word

    def error(self, problem: str) -> UserInputError:
        """An error for this sub-command: the problem, its usage line and its first example."""
        return UserInputError(problem, usage=self.spec.usage, example=self.spec.examples[0])

    def fill(self, slot: str, word: _Word, plural: str) -> None:
        """Record that ``word`` gave ``slot``; a second word for the same slot is an error.

        ``plural`` names what the slot holds, for the message: "Two periods: `7d` and `30d`".
        """
        earlier = self.filled.get(slot)
        if earlier is not None and earlier.lower == word.lower:
            raise self.error(f"{word.quoted} is there twice. Give it once.")
        if earlier is not None:
            raise self.error(f"Two {plural}: {earlier.quoted} and {word.quoted}. Give one.")
        self.filled[slot] = word

    def take_next(self, keyword: _Word, what: str) -> _Word:
        """The word after ``keyword`` (``by`` → ``user``), which it needs."""
        if self.position >= len(self.words):
            raise self.error(f"{keyword.quoted} needs {what} after it.")
        word = self.words[self.position]
        self.position += 1
        return word

    def peek(self) -> _Word | None:
        """The next word, without taking it."""
        return self.words[self.position] if self.position < len(self.words) else None

    def not_understood(self, word: _Word) -> UserInputError:
        """The error for a word that has no meaning in this sub-command."""
        name = code_span(self.spec.name)
        if _SLACK_CHANNEL.fullmatch(word.raw):
            return self.error(
                f"{name} does not take a channel ({word.quoted}): it applies to the channel you type it in."
            )
        if self.spec.usage == self.spec.name:
            return self.error(f"{name} takes no other words, but got {word.quoted}.")
        return self.error(f"{word.quoted} means nothing to {name}.")

    def missing(self, what: str) -> UserInputError:
        """The error for a required word that is not there."""
        return self.error(f"{code_span(self.spec.name)} needs {what}.")

    # Readers: each returns None when the word is not of its form, and raises when it is but is wrong.

    def period(self, word: _Word) -> PeriodSpec | None:
        if not looks_like_period(word.lower):
            return None
        following = self.peek()
        if word.lower in PERIOD_LEADS and following is not None:  # "last week", "this month", "last 14d"
            self.position += 1
            word = _Word(f"{word.raw} {following.raw}", f"{word.lower} {following.lower}")
        self.fill("period", word, "periods")
        try:
            return parse_period(word.lower)
        except ValueError as error:
            raise self.error(f"{word.quoted} is not a period: {error}.") from None

    def source(self, word: _Word) -> SourceFilter | None:
        if word.lower in VENDORS:
            self.fill("source", word, "sources")
            return SourceFilter(vendor=_vendor(word.lower))
        if not _is_connection_name(word.lower):
            return None
        if self.known_sources is not None and word.lower not in self.known_sources:
            raise self.error(f"{word.quoted} is not a source. {_describe_sources(self.known_sources)}")
        self.fill("source", word, "sources")
        return SourceFilter(connection=word.lower)

    def breakdown(self, word: _Word) -> Breakdown | None:
        if word.lower != "by":
            return None
        self.fill("by", word, "breakdowns")
        value = self.take_next(word, "`user`, `model` or `day`")
        for breakdown in BREAKDOWNS:
            if value.lower in {breakdown, f"{breakdown}s"}:
                return breakdown
        raise self.error(f"{code_span('by ' + value.raw)}: a breakdown is `by user`, `by model` or `by day`.")

    def whole_number(
        self, word: _Word, slot: str, what: tuple[str, str], lowest: int, highest: int
    ) -> int | None:
        """A whole number from ``lowest`` to ``highest``; ``what`` names it (singular, plural)."""
        match = _INTEGER.fullmatch(word.lower)
        if match is None:
            return None
        self.fill(slot, word, what[1])
        number = int(match.group(1))
        if not lowest <= number <= highest:
            raise self.error(f"{word.quoted}: the {what[0]} must be from {lowest:,} to {highest:,}.")
        return number

    def person(self, word: _Word) -> UserRef | None:
        if match := _SLACK_USER.fullmatch(word.raw):
            self.fill("person", word, "people")
            return UserRef(slack_id=match.group(1))
        email = self.email(word)
        if email is not None:
            return UserRef(email=email)
        if word.raw.startswith("@") and len(word.raw) > 1:
            raise self.error(
                f"{word.quoted} is not a mention Slack recognised: pick the person from the @ list, "
                "or give their email."
            )
        return None

    def email(self, word: _Word) -> str | None:
        match = _SLACK_MAILTO.fullmatch(word.raw)
        address = match.group(1).lower() if match else word.lower
        if not _EMAIL.fullmatch(address):
            if match:
                raise self.error(f"{word.quoted} is not an email address.")
            return None
        self.fill("person", word, "people")
        return address

    def percent(self, word: _Word) -> Decimal | None:
        match = _PERCENT.fullmatch(word.lower)
        if match is None:
            return None
        self.fill("threshold", word, "thresholds")
        value = Decimal(match.group(1))
        if not 0 < value < 100:
            raise self.error(f"{word.quoted}: a percentage must be more than 0% and less than 100%.")
        return value

    def amount(self, word: _Word, what: str, *, slot: str = "amount") -> Decimal | None:
        # A minus sign before a figure (`-5`, `-$5`) makes a negative amount, not a connection name.
        negative = word.lower[:1] == "-" and _starts_an_amount(word.lower[1:])
        text = word.lower[1:] if negative else word.lower
        if not _starts_an_amount(text):
            return None
        self.fill(slot, word, f"{what}s")
        try:
            value = parse_amount(text)
        except ValueError:
            raise self.error(
                f"{word.quoted} is not an amount: write it like `5000`, `5,000`, `$5,000` or `5000.50`."
            ) from None
        if negative or value <= 0:
            raise self.error(f"{word.quoted}: the {what} must be more than zero.")
        return value


def _starts_an_amount(word: str) -> bool:
    return word[:1].isascii() and (word[:1].isdigit() or word.startswith("$"))


def _is_connection_name(word: str) -> bool:
    """Whether a word can name a connection: the name's form, and not a word the grammar reads otherwise."""
    return (
        _CONNECTION_NAME.fullmatch(word) is not None
        and word not in _KEYWORDS
        and word not in _SPECS
        and not looks_like_period(word)
    )


def _vendor(word: str) -> VendorName:
    return _VENDOR_BY_WORD[word]


def _describe_sources(known: frozenset[str]) -> str:
    vendors = ", ".join(code_span(vendor) for vendor in VENDORS)
    names = sorted(known - set(VENDORS))
    if not names:
        return f"Sources are {vendors} (every connection of that vendor)."
    listed = ", ".join(code_span(name) for name in names[:20])
    more = f" and {len(names) - 20} more" if len(names) > 20 else ""
    return f"Sources are {vendors} (every connection of that vendor) or a connection: {listed}{more}."


# ---------------------------------------------------------------------------------------------- sub-commands


def _parse_help(words: _Words) -> Help:
    topic = " ".join(word.lower for word in words.words)
    if not topic:
        return Help()
    if topic in _SPECS or topic in _TWO_WORD_HEADS:
        return Help(topic=topic)
    closest = _closest_command(topic.split())
    hint = f" Did you mean {code_span('help ' + closest)}?" if closest else ""
    quoted = _Word(topic, topic).quoted
    raise words.error(f"There is no sub-command {quoted} to explain.{hint}")


def _no_words(command: Command) -> Callable[[_Words], Command]:
    def parse(words: _Words) -> Command:
        for word in words:
            raise words.not_understood(word)
        return command

    return parse


def _parse_spend(words: _Words) -> Spend:
    period, source, by = DEFAULT_PERIOD, None, None
    for word in words:
        if (found_period := words.period(word)) is not None:
            period = found_period
        elif (found_by := words.breakdown(word)) is not None:
            by = found_by
        elif (found_source := words.source(word)) is not None:
            source = found_source
        else:
            raise words.not_understood(word)
    return Spend(period=period, source=source, by=by)


def _period_and_source(words: _Words) -> tuple[PeriodSpec, SourceFilter | None]:
    """The words of a command that takes only a period and a source (``people``, ``export``)."""
    period, source = DEFAULT_PERIOD, None
    for word in words:
        if (found_period := words.period(word)) is not None:
            period = found_period
        elif (found_source := words.source(word)) is not None:
            source = found_source
        else:
            raise words.not_understood(word)
    return period, source


def _parse_people(words: _Words) -> PeopleQuery:
    period, source = _period_and_source(words)
    return PeopleQuery(period=period, source=source)


def _parse_idle(words: _Words) -> IdleQuery:
    days, source = DEFAULT_IDLE_DAYS, None
    for word in words:
        text = word.lower.removeprefix("days=")
        if text.endswith("d") and _INTEGER.fullmatch(text[:-1]):
            text = text[:-1]
        if (
            found := words.whole_number(
                _Word(word.raw, text), "days", ("number of days", "numbers of days"), 1, MAX_IDLE_DAYS
            )
        ) is not None:
            days = found
        elif (found_source := words.source(word)) is not None:
            source = found_source
        else:
            raise words.not_understood(word)
    return IdleQuery(source=source, days=days)


def _parse_top(words: _Words) -> Top:
    n, period, source = DEFAULT_TOP, DEFAULT_PERIOD, None
    for word in words:
        if (
            found_n := words.whole_number(word, "n", ("number of people", "numbers"), 1, MAX_TOP)
        ) is not None:
            n = found_n
        elif (found_period := words.period(word)) is not None:
            period = found_period
        elif (found_source := words.source(word)) is not None:
            source = found_source
        else:
            raise words.not_understood(word)
    return Top(n=n, period=period, source=source)


def _parse_user(words: _Words) -> UserQuery:
    who, period = None, DEFAULT_PERIOD
    for word in words:
        if (found_period := words.period(word)) is not None:
            period = found_period
        elif (found_who := words.person(word)) is not None:
            who = found_who
        else:
            raise words.not_understood(word)
    if who is None:
        raise words.missing("a person: their email or an @mention")
    return UserQuery(who=who, period=period)


def _parse_export(words: _Words) -> Export:
    period, source = _period_and_source(words)
    return Export(period=period, source=source)


def _parse_subscriptions(words: _Words) -> Subscriptions:
    every = False
    for word in words:
        if word.lower != "all":
            raise words.not_understood(word)
        words.fill("all", word, "`all`s")
        every = True
    return Subscriptions(all=every)


def _parse_connect(words: _Words) -> Connect:
    vendor: VendorName | None = None
    name = None
    for word in words:
        if word.lower in VENDORS:
            words.fill("vendor", word, "vendors")
            vendor = _vendor(word.lower)
        elif _is_connection_name(word.lower):
            words.fill("name", word, "names")
            name = word.lower
        else:
            raise words.error(
                f"{word.quoted} cannot be a connection name: use 1 to 40 letters, digits, `-` or `_`, "
                "and not a word of the commands."
            )
    if vendor is None:
        raise words.missing("the vendor: " + _vendor_words())
    return Connect(vendor=vendor, name=name)


def _parse_disconnect(words: _Words) -> Disconnect:
    name = None
    for word in words:
        if not _is_connection_name(word.lower):
            raise words.not_understood(word)
        if words.known_sources is not None and word.lower not in words.known_sources:
            known = ", ".join(code_span(source) for source in sorted(words.known_sources)) or "none yet"
            raise words.error(f"There is no connection {word.quoted}. Connections: {known}.")
        words.fill("name", word, "connection names")
        name = word.lower
    if name is None:
        raise words.missing("the name of the connection (see `connections`)")
    return Disconnect(name=name)


def _parse_subscribe_digest(words: _Words) -> SubscribeDigest:
    weekdays: set[int] = set()
    cadence: Cadence | None = None
    at, tz, no_names = DEFAULT_DIGEST_TIME, None, False
    for word in words:
        if word.lower in {"daily", "weekly"}:
            words.fill("schedule", word, "schedules")
            cadence = "daily" if word.lower == "daily" else "weekly"
        elif (days := _weekdays(words, word)) is not None:
            # Day lists add up ("mon wed" is "mon,wed"), but not to `daily` or `weekly`.
            if cadence in {"daily", "weekly"}:
                words.fill("schedule", word, "schedules")
            if days & weekdays:
                raise words.error(f"{word.quoted} names a day that is already there. Give each day once.")
            words.filled.setdefault("schedule", word)
            weekdays |= days
            cadence = "custom"
        elif word.lower == "at":
            words.fill("at", word, "times")
            at = _clock(words, words.take_next(word, "a time such as `09:00`"))
        elif _looks_like_clock(word.lower):
            words.fill("at", word, "times")
            at = _clock(words, word)
        elif word.lower == "tz":
            words.fill("tz", word, "time zones")
            tz = _time_zone(words, words.take_next(word, "a time zone such as `Europe/Paris`"))
        elif "/" in word.lower:
            words.fill("tz", word, "time zones")
            tz = _time_zone(words, word)
        elif word.lower == "no-names":
            words.fill("no-names", word, "`no-names`")
            no_names = True
        else:
            raise words.not_understood(word)
    if cadence == "custom":
        return SubscribeDigest(
            weekdays=frozenset(weekdays), cadence="custom", at=at, tz=tz, no_names=no_names
        )
    if cadence == "weekly":
        return SubscribeDigest(weekdays=WEEKLY, cadence="weekly", at=at, tz=tz, no_names=no_names)
    return SubscribeDigest(weekdays=DAILY, cadence="daily", at=at, tz=tz, no_names=no_names)


def _weekdays(words: _Words, word: _Word) -> set[int] | None:
    parts = [part for part in word.lower.split(",") if part]
    if not parts or ("," not in word.lower and _day_range(parts[0]) is None):
        return None
    days: set[int] = set()
    for part in parts:
        found = _day_range(part)
        if found is None:
            raise words.error(
                f"{code_span(part)} in {word.quoted} is not a day: use `mon`, `tue`, `wed`, `thu`, `fri`, "
                "`sat`, `sun`, separated by commas."
            )
        days |= found
    return days


def _day_range(part: str) -> set[int] | None:
    if part in _DAY_NAMES:
        return {_DAY_NAMES[part]}
    first, dash, last = part.partition("-")
    if not dash or first not in _DAY_NAMES or last not in _DAY_NAMES:
        return None
    start, end = _DAY_NAMES[first], _DAY_NAMES[last]
    return {(start + step) % 7 for step in range((end - start) % 7 + 1)}


def _looks_like_clock(word: str) -> bool:
    match = _CLOCK.fullmatch(word)
    return match is not None and (match.group(2) is not None or match.group(3) is not None)


def _clock(words: _Words, word: _Word) -> time:
    text = word.lower
    following = words.peek()
    if following is not None and following.lower in {"am", "pm"} and _CLOCK.fullmatch(text):
        text += words.take_next(word, following.lower).lower
    match = _CLOCK.fullmatch(text)
    problem = f"{word.quoted} is not a time of day: write it like `09:00`, `17:30` or `8am`."
    if match is None:
        raise words.error(problem)
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half is not None:
        if not 1 <= hour <= 12:
            raise words.error(problem)
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        raise words.error(problem)
    return time(hour, minute)


@functools.cache
def _time_zone_names() -> dict[str, str]:
    # The tz database's names, keyed by their lowercase form: people type "europe/paris" too.
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def _time_zone(words: _Words, word: _Word) -> str:
    name = _time_zone_names().get(word.lower)
    if name is None:
        raise words.error(f"{word.quoted} is not a time zone: use an IANA name such as `Europe/Paris`.")
    return name


def _parse_subscribe_credit_low(
    words: _Words, also: Callable[[_Word], bool] | None = None
) -> SubscribeCreditLow:
    """The credit-low rule's words; ``also`` reads one more kind of word (``backtest``'s days)."""
    percent, amount = None, None
    for word in words:
        if also is not None and also(word):
            continue
        value = words.take_next(word, "a percentage or an amount") if word.lower == "below" else word
        # A percentage and an amount fill one slot: the alert has one threshold.
        if (found_percent := words.percent(value)) is not None:
            percent = found_percent
        elif (found_amount := words.amount(value, "threshold", slot="threshold")) is not None:
            amount = found_amount
        elif value is not word:
            raise words.error(f"{code_span('below ' + value.raw)}: write `below 20%` or `below 500`.")
        else:
            raise words.not_understood(word)
    return SubscribeCreditLow(below_percent=percent, below_amount=amount)


def _parse_subscribe_budget(words: _Words, also: Callable[[_Word], bool] | None = None) -> SubscribeBudget:
    """The budget rule's words; ``also`` reads one more kind of word (``backtest``'s days)."""
    amount, source, dollar_sign = None, None, False
    for word in words:
        if also is not None and also(word):
            continue
        if (found_amount := words.amount(word, "budget")) is not None:
            amount, dollar_sign = found_amount, word.lower.startswith("$")
        elif (found_source := words.source(word)) is not None:
            source = found_source
        else:
            raise words.not_understood(word)
    if amount is None:
        raise words.missing("the budget per billing cycle, like `5000` or `$5,000`")
    return SubscribeBudget(amount=amount, source=source, dollar_sign=dollar_sign)


def _parse_subscribe_rate_limit(words: _Words) -> SubscribeRateLimit:
    percent = DEFAULT_RATE_LIMIT_PERCENT
    for word in words:
        value = words.take_next(word, "a percentage") if word.lower == "below" else word
        if (found := words.percent(value)) is not None:
            percent = found
        elif value is not word or _INTEGER.fullmatch(value.lower):
            raise words.error(f"{value.quoted}: rate-limit headroom is a percentage, like `below 10%`.")
        else:
            raise words.not_understood(word)
    return SubscribeRateLimit(below_percent=percent)


_BACKTEST_RULES = ("spike", "budget", "credit-low")


def _parse_backtest(words: _Words) -> Backtest:
    form = words.peek()
    if form is None or form.lower not in _BACKTEST_RULES:
        given = f" ({form.quoted})" if form is not None else ""
        rules = ", ".join(code_span(rule) for rule in _BACKTEST_RULES)
        raise words.error(
            f"`backtest` replays the rule of a subscription{given}: give {rules}, then its options."
        )
    words.position += 1
    days = DEFAULT_BACKTEST_DAYS

    def window(word: _Word) -> bool:
        nonlocal days
        if not (word.lower.endswith("d") and _INTEGER.fullmatch(word.lower[:-1])):
            return False
        number = _Word(word.raw, word.lower[:-1])
        found = words.whole_number(
            number, "days", ("number of days", "numbers of days"), 1, MAX_BACKTEST_DAYS
        )
        days = found if found is not None else days
        return True

    rule: SubscribeSpike | SubscribeBudget | SubscribeCreditLow
    if form.lower == "spike":
        rule = _parse_subscribe_spike(words, also=window)
    elif form.lower == "budget":
        rule = _parse_subscribe_budget(words, also=window)
    else:
        rule = _parse_subscribe_credit_low(words, also=window)
    return Backtest(rule=rule, days=days)


def _parse_subscribe_spike(words: _Words, also: Callable[[_Word], bool] | None = None) -> SubscribeSpike:
    """The spike rule's words; ``also`` reads one more kind of word (``backtest``'s days)."""
    factor, minimum = DEFAULT_FACTOR, DEFAULT_MINIMUM_CENTS / 100
    for word in words:
        if also is not None and also(word):
            continue
        if match := _FACTOR.fullmatch(word.lower):
            words.fill("factor", word, "factors")
            factor = Decimal(match.group(1) or match.group(2))
            if not 1 < factor <= MAX_SPIKE_FACTOR:
                raise words.error(
                    f"{word.quoted}: the factor must be more than 1 and at most {MAX_SPIKE_FACTOR}."
                )
        elif word.lower == "min":
            value = words.take_next(word, "an amount in dollars, like `$20`")
            found = words.amount(value, "minimum", slot="minimum")
            if found is None:
                raise words.error(f"{value.quoted}: the minimum is an amount in dollars, like `min $20`.")
            minimum = found
        elif (found := words.amount(word, "minimum", slot="minimum")) is not None:
            minimum = found
        else:
            raise words.not_understood(word)
    return SubscribeSpike(factor=factor, minimum_dollars=minimum)


def _parse_unsubscribe(words: _Words) -> Unsubscribe:
    target: int | str | None = None
    for word in words:
        if (
            found_id := words.whole_number(word, "target", _SUBSCRIPTION_ID, 1, MAX_SUBSCRIPTION_ID)
        ) is not None:
            target = found_id
        elif word.lower in SUBSCRIPTION_KINDS:
            words.fill("target", word, "subscriptions")
            target = word.lower
        else:
            kinds = ", ".join(code_span(kind) for kind in SUBSCRIPTION_KINDS)
            raise words.error(
                f"{word.quoted} is neither a subscription id (see `subscriptions`) nor a kind: {kinds}."
            )
    if target is None:
        raise words.missing("a subscription id (see `subscriptions`) or a kind")
    return Unsubscribe(target=target)


def _parse_snooze(words: _Words) -> Snooze:
    subscription_id, duration, until_resolved = None, None, False
    for word in words:
        if word.lower in {"until-resolved", "until"}:
            words.fill("duration", word, "durations")
            if word.lower == "until":
                following = words.take_next(word, "`resolved`")
                if following.lower != "resolved":
                    raise words.not_understood(following)
            until_resolved = True
        elif looks_like_duration(word.lower):
            words.fill("duration", word, "durations")
            try:
                duration = parse_duration(word.lower)
            except ValueError as error:
                raise words.error(f"{word.quoted}: {error}.") from None
        elif _INTEGER.fullmatch(word.lower) and "id" in words.filled and word.lower[:1] != "#":
            raise words.error(
                f"{word.quoted} needs a unit: `{word.lower}m`, `{word.lower}h` or `{word.lower}d`."
            )
        elif (found := words.whole_number(word, "id", _SUBSCRIPTION_ID, 1, MAX_SUBSCRIPTION_ID)) is not None:
            subscription_id = found
        else:
            raise words.not_understood(word)
    if subscription_id is None:
        raise words.missing("the subscription id (see `subscriptions`)")
    if duration is None and not until_resolved:
        raise words.missing("how long: `30m`, `4h`, `2d` or `until-resolved`")
    return Snooze(subscription_id=subscription_id, duration=duration, until_resolved=until_resolved)


def _parse_set_limit(words: _Words) -> SetLimit:
    email, dollars, removing = None, None, False
    for word in words:
        if word.lower == "none":
            words.fill("limit", word, "limits")
            removing = True
        elif (found_email := words.email(word)) is not None:
            email = found_email
        elif _SLACK_USER.fullmatch(word.raw):
            raise words.error(f"{word.quoted}: Cursor knows people by email; give their email instead.")
        elif (found := _whole_amount(words, word, "limit", "dollars", MAX_LIMIT_DOLLARS)) is not None:
            dollars = found
        else:
            raise words.not_understood(word)
    if email is None:
        raise words.missing("the person's email")
    if dollars is None and not removing:
        raise words.missing("the limit in whole dollars, or `none` to remove it")
    return SetLimit(email=email, dollars=dollars)


def _parse_set_cap(words: _Words) -> SetCap:
    credits, removing, scope = None, False, "team"
    for word in words:
        if word.lower == "none":
            words.fill("cap", word, "caps")
            removing = True
        elif word.lower == "team":
            words.fill("person", word, "people")
        elif (found_email := words.email(word)) is not None:
            scope = found_email
        elif _SLACK_USER.fullmatch(word.raw):
            raise words.error(f"{word.quoted}: Windsurf knows people by email; give their email instead.")
        elif (found := _whole_amount(words, word, "cap", "credits", MAX_CAP_CREDITS)) is not None:
            credits = found
        else:
            raise words.not_understood(word)
    if credits is None and not removing:
        raise words.missing("the cap in whole credits, or `none` to remove it")
    return SetCap(credits=credits, scope=scope)


MAX_REASON_CHARS = 300


def _parse_request_limit(words: _Words) -> RequestLimit:
    """The amount first; then a tool only if the next word names one (a vendor, or a known connection),
    so that a reason's first word is never taken for a connection; the rest is the reason."""
    first = words.peek()
    if first is None:
        raise words.missing("the limit you need, like `500` (dollars, Cursor) or `3000 windsurf` (credits)")
    words.position += 1
    amount = _whole_amount(words, first, "amount", "dollars", MAX_CAP_CREDITS)
    if amount is None:
        raise words.error(f"{first.quoted}: start with the limit you need, like `request-limit 500 …`.")
    source = None
    following = words.peek()
    if following is not None and (
        following.lower in VENDORS
        or (words.known_sources is not None and following.lower in words.known_sources)
    ):
        words.position += 1
        source = words.source(following)
    reason = " ".join(word.raw for word in words).strip() or None
    if reason is not None and len(reason) > MAX_REASON_CHARS:
        raise words.error(f"The reason is {len(reason)} characters; keep it under {MAX_REASON_CHARS}.")
    return RequestLimit(amount=amount, source=source, reason=reason, dollar_sign=first.lower.startswith("$"))


def _whole_amount(words: _Words, word: _Word, slot: str, unit: str, highest: int) -> int | None:
    text = word.lower
    if unit == "dollars" and text.startswith("$"):
        text = text[1:]
    if not text[:1].isascii() or not text[:1].isdigit():
        return None
    words.fill(slot, word, f"{slot}s")
    try:
        value = parse_amount(text)
    except ValueError:
        raise words.error(f"{word.quoted} is not a number of {unit}.") from None
    if value != value.to_integral_value():
        raise words.error(f"{word.quoted}: the {slot} is in whole {unit}.")
    if value > highest:
        raise words.error(f"{word.quoted}: the {slot} can be at most {highest:,} {unit}.")
    return int(value)


_PARSERS: dict[str, Callable[[_Words], Command]] = {
    "help": _parse_help,
    "status": _no_words(Status()),
    "spend": _parse_spend,
    "top": _parse_top,
    "people": _parse_people,
    "idle": _parse_idle,
    "user": _parse_user,
    "credits": _no_words(Credits()),
    "limits": _no_words(Limits()),
    "export": _parse_export,
    "connections": _no_words(Connections()),
    "subscriptions": _parse_subscriptions,
    "connect": _parse_connect,
    "disconnect": _parse_disconnect,
    "subscribe digest": _parse_subscribe_digest,
    "subscribe credit-low": _parse_subscribe_credit_low,
    "subscribe budget": _parse_subscribe_budget,
    "subscribe rate-limit": _parse_subscribe_rate_limit,
    "subscribe health": _no_words(SubscribeHealth()),
    "subscribe spike": _parse_subscribe_spike,
    "subscribe requests": _no_words(SubscribeRequests()),
    "backtest": _parse_backtest,
    "unsubscribe": _parse_unsubscribe,
    "snooze": _parse_snooze,
    "digest now": _no_words(DigestNow()),
    "test": _no_words(SendTest()),
    "deliveries": _no_words(Deliveries()),
    "audit": _no_words(Audit()),
    "set-limit": _parse_set_limit,
    "set-cap": _parse_set_cap,
    "request-limit": _parse_request_limit,
}


# ---------------------------------------------------------------------------------------------- help


def render_help(
    command: str = DEFAULT_COMMAND,
    available: Collection[str] | None = None,
    *,
    topic: str | None = None,
    people_visible_to: PeopleVisibleTo = "admins",
) -> str:
    """The help text (Slack mrkdwn), generated from ``COMMANDS``: ``help_sections`` joined by blank lines."""
    return "\n\n".join(help_sections(command, available, topic=topic, people_visible_to=people_visible_to))


def help_sections(
    command: str = DEFAULT_COMMAND,
    available: Collection[str] | None = None,
    *,
    topic: str | None = None,
    people_visible_to: PeopleVisibleTo = "admins",
) -> tuple[str, ...]:
    """The help text in sections (Read / Configure / Write, then notes), each short enough for one block.

    ``command`` is the slash command as installed; ``available`` the names of the sub-commands to list
    (those this person may run, those built so far), all when None. With ``topic`` (a sub-command, or
    ``subscribe`` for all the subscriptions) only those are shown, one section each, with every example.
    ``people_visible_to`` (``SPENDBOT_PEOPLE_VISIBLE_TO``) decides who the commands that name people are
    marked for, so help says what the access check will do.
    """
    specs = [spec for spec in COMMANDS if available is None or spec.name in available]
    if topic is not None:
        specs = [spec for spec in specs if spec.name == topic or spec.name.startswith(f"{topic} ")]
        if not specs:
            listing = code_span(f"{command} help")
            return (f"There is no sub-command {code_span(topic)} here. {listing} lists them.",)
        return tuple(_describe(spec, command, people_visible_to, every_example=True) for spec in specs)
    sections = []
    for group, title in _GROUP_TITLES.items():
        lines = [
            _describe(spec, command, people_visible_to, every_example=False)
            for spec in specs
            if spec.group == group
        ]
        if lines:
            sections.append(f"*{title}*\n" + "\n".join(lines))
    sections.append(
        "Words after the sub-command may come in any order. Periods: `today`, `yesterday`, `7d`, `30d`, "
        "`this week`, `last week` (Monday to Sunday), `mtd` (the default; also `this month`), `last month`, "
        "a month (`november`, `2026-11`), `cycle`, `2026-10-01..2026-10-31`, in your Slack time zone. "
        "Sources: "
        f"{_vendor_words()} (every connection of that vendor) or a connection's name. "
        f"{code_span(command + ' help <command>')} shows more examples."
    )
    return tuple(sections)


def _who(spec: CommandSpec, people_visible_to: PeopleVisibleTo) -> str:
    """Who may run ``spec``, as help marks it: nothing when everyone always may."""
    if spec.admin_only:
        return " _(admins)_"
    if not spec.people_figures:
        return ""
    if people_visible_to == "everyone":
        return " _(everyone: people's figures are open to all here)_"
    return " _(admins, or the person themselves)_" if spec.own_figures else " _(admins)_"


def _describe(
    spec: CommandSpec, command: str, people_visible_to: PeopleVisibleTo, *, every_example: bool
) -> str:
    who = _who(spec, people_visible_to)
    examples = spec.examples if every_example else spec.examples[:1]
    examples = tuple(example for example in examples if example != spec.usage)
    shown = ", ".join(code_span(f"{command} {example}") for example in examples)
    line = f"• {code_span(f'{command} {spec.usage}')} — {spec.description}{who}"
    return f"{line} e.g. {shown}" if shown else line
