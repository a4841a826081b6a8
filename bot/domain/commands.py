"""What a slash command asks for, as values: one frozen dataclass per sub-command.

``grammar.parse_command`` builds them; the Slack layer dispatches on their type. Each class names its
entry in ``grammar.COMMANDS`` (``name``), where its usage, description and permissions are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from decimal import Decimal
from typing import ClassVar, Literal, TypeAlias

from bot.domain.idle import DEFAULT_IDLE_DAYS
from bot.domain.periods import DEFAULT_PERIOD, PeriodSpec
from bot.domain.schedule import DAILY, DEFAULT_DIGEST_TIME
from bot.domain.spikes import DEFAULT_FACTOR, DEFAULT_MINIMUM_CENTS

DEFAULT_BACKTEST_DAYS = 90
MAX_BACKTEST_DAYS = 365

Breakdown: TypeAlias = Literal["user", "model", "day"]
Cadence: TypeAlias = Literal["daily", "weekly", "custom"]
VendorName: TypeAlias = Literal["cursor", "windsurf", "openai", "anthropic", "copilot", "rest"]

VENDORS: tuple[VendorName, ...] = ("cursor", "windsurf", "openai", "anthropic", "copilot", "rest")
BREAKDOWNS: tuple[Breakdown, ...] = ("user", "model", "day")
SUBSCRIPTION_KINDS = ("digest", "credit-low", "budget", "rate-limit", "health", "spike", "requests")

DEFAULT_TOP = 10
DEFAULT_RATE_LIMIT_PERCENT = Decimal(10)


@dataclass(frozen=True, slots=True)
class SourceFilter:
    """Which connections a command is about: every connection of a vendor, or one connection by name."""

    vendor: VendorName | None = None
    connection: str | None = None

    def __post_init__(self) -> None:
        if (self.vendor is None) == (self.connection is None):
            raise ValueError("a source is either a vendor or a connection name")

    @property
    def token(self) -> str:
        """The source as it is typed."""
        return self.vendor or self.connection or ""


@dataclass(frozen=True, slots=True)
class UserRef:
    """A person, as Slack mentioned them (``slack_id``) or by email (lowercased)."""

    slack_id: str | None = None
    email: str | None = None

    def __post_init__(self) -> None:
        if (self.slack_id is None) == (self.email is None):
            raise ValueError("a person is either a Slack user id or an email")


@dataclass(frozen=True, slots=True)
class Help:
    """``help [command]``: the grammar, or one sub-command (``topic``) in detail."""

    spec_name: ClassVar[str] = "help"
    topic: str | None = None


@dataclass(frozen=True, slots=True)
class Status:
    """``status``: one card per connection."""

    spec_name: ClassVar[str] = "status"


@dataclass(frozen=True, slots=True)
class Spend:
    """``spend [period] [source] [by user|model|day]``: totals and breakdown against the previous period."""

    spec_name: ClassVar[str] = "spend"
    period: PeriodSpec = DEFAULT_PERIOD
    source: SourceFilter | None = None
    by: Breakdown | None = None

    @property
    def names_people(self) -> bool:
        """Whether the answer names people (``by user``), so the privacy setting applies."""
        return self.by == "user"


@dataclass(frozen=True, slots=True)
class Top:
    """``top [N] [period] [source]``: the top ``n`` people by spend."""

    spec_name: ClassVar[str] = "top"
    n: int = DEFAULT_TOP
    period: PeriodSpec = DEFAULT_PERIOD
    source: SourceFilter | None = None


@dataclass(frozen=True, slots=True)
class IdleQuery:
    """``idle [source] [days]``: seats of seat-based tools unused for ``days`` days, most money first."""

    spec_name: ClassVar[str] = "idle"
    source: SourceFilter | None = None
    days: int = DEFAULT_IDLE_DAYS


@dataclass(frozen=True, slots=True)
class PeopleQuery:
    """``people [period] [source]``: who uses two or more tools, and the dollars at stake."""

    spec_name: ClassVar[str] = "people"
    period: PeriodSpec = DEFAULT_PERIOD
    source: SourceFilter | None = None


@dataclass(frozen=True, slots=True)
class UserQuery:
    """``user <email|@mention> [period]``: one person across every tool."""

    spec_name: ClassVar[str] = "user"
    who: UserRef
    period: PeriodSpec = DEFAULT_PERIOD


@dataclass(frozen=True, slots=True)
class Credits:
    """``credits``: credit pools and runway."""

    spec_name: ClassVar[str] = "credits"


@dataclass(frozen=True, slots=True)
class Limits:
    """``limits``: Cursor users near their limit, rate-limit headroom per connection."""

    spec_name: ClassVar[str] = "limits"


@dataclass(frozen=True, slots=True)
class Export:
    """``export [period] [source]``: a CSV sent by direct message."""

    spec_name: ClassVar[str] = "export"
    period: PeriodSpec = DEFAULT_PERIOD
    source: SourceFilter | None = None


@dataclass(frozen=True, slots=True)
class Connections:
    """``connections``: the vendor connections."""

    spec_name: ClassVar[str] = "connections"


@dataclass(frozen=True, slots=True)
class Subscriptions:
    """``subscriptions [all]``: this channel's subscriptions, or every channel's."""

    spec_name: ClassVar[str] = "subscriptions"
    all: bool = False


@dataclass(frozen=True, slots=True)
class Connect:
    """``connect cursor|windsurf|rest [name]``: open the form for a vendor key."""

    spec_name: ClassVar[str] = "connect"
    vendor: VendorName
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Disconnect:
    """``disconnect <name>``: remove a connection."""

    spec_name: ClassVar[str] = "disconnect"
    name: str


@dataclass(frozen=True, slots=True)
class SubscribeDigest:
    """``subscribe digest …``: when to post the digest in this channel.

    ``weekdays`` are 0 (Monday) to 6; ``tz`` is a canonical IANA name, None for the workspace default.
    """

    spec_name: ClassVar[str] = "subscribe digest"
    weekdays: frozenset[int] = DAILY
    cadence: Cadence = "daily"
    at: time = DEFAULT_DIGEST_TIME
    tz: str | None = None
    no_names: bool = False


@dataclass(frozen=True, slots=True)
class SubscribeCreditLow:
    """``subscribe credit-low [below N%|N]``: at most one threshold is set; neither means the default rule."""

    spec_name: ClassVar[str] = "subscribe credit-low"
    below_percent: Decimal | None = None
    below_amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class SubscribeBudget:
    """``subscribe budget <amount> [source]``: a budget per billing cycle.

    ``amount`` is as typed, in the source's unit (dollars or credits); ``dollar_sign`` if ``$`` was typed.

    The service converts dollars to cents for a dollar source, and refuses ``$`` for a credit source.
    """

    spec_name: ClassVar[str] = "subscribe budget"
    amount: Decimal
    source: SourceFilter | None = None
    dollar_sign: bool = False


@dataclass(frozen=True, slots=True)
class SubscribeRateLimit:
    """``subscribe rate-limit [below N%]``: alert when headroom is at or below ``below_percent``."""

    spec_name: ClassVar[str] = "subscribe rate-limit"
    below_percent: Decimal = DEFAULT_RATE_LIMIT_PERCENT


@dataclass(frozen=True, slots=True)
class SubscribeHealth:
    """``subscribe health``: alert when the bot cannot fetch data."""

    spec_name: ClassVar[str] = "subscribe health"


@dataclass(frozen=True, slots=True)
class SubscribeSpike:
    """``subscribe spike [xN] [min $N]``: alert when a person's day is ``factor`` times their usual and at
    least ``minimum`` dollars (``domain.spikes``)."""

    spec_name: ClassVar[str] = "subscribe spike"
    factor: Decimal = DEFAULT_FACTOR
    minimum_dollars: Decimal = DEFAULT_MINIMUM_CENTS / 100


@dataclass(frozen=True, slots=True)
class SubscribeRequests:
    """``subscribe requests``: people's limit requests come to this channel for admins to decide."""

    spec_name: ClassVar[str] = "subscribe requests"


@dataclass(frozen=True, slots=True)
class RequestLimit:
    """``request-limit <amount> [source] [reason]``: a person asks the admins for a higher limit of their
    own: whole dollars for a spend limit (Cursor), whole credits for a credit cap (Windsurf).

    ``dollar_sign`` says ``$`` was typed (refused for credits); ``reason`` is as typed (mrkdwn escapes kept).
    """

    spec_name: ClassVar[str] = "request-limit"
    amount: int
    source: SourceFilter | None = None
    reason: str | None = None
    dollar_sign: bool = False


@dataclass(frozen=True, slots=True)
class Backtest:
    """``backtest spike|budget|credit-low <its options> [Nd]``: what that subscription would have posted
    over the last ``days`` complete UTC days of the stored history."""

    spec_name: ClassVar[str] = "backtest"
    rule: SubscribeSpike | SubscribeBudget | SubscribeCreditLow
    days: int = DEFAULT_BACKTEST_DAYS


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    """``unsubscribe <id|kind>``: ``target`` is a subscription id (int) or a kind (``"digest"`` …)."""

    spec_name: ClassVar[str] = "unsubscribe"
    target: int | str


@dataclass(frozen=True, slots=True)
class Snooze:
    """``snooze <id> <duration|until-resolved>``: either ``duration`` is set or ``until_resolved`` is True."""

    spec_name: ClassVar[str] = "snooze"
    subscription_id: int
    duration: timedelta | None = None
    until_resolved: bool = False


@dataclass(frozen=True, slots=True)
class DigestNow:
    """``digest now``: post today's digest for this channel now."""

    spec_name: ClassVar[str] = "digest now"


@dataclass(frozen=True, slots=True)
class SendTest:
    """``test``: post a test message in this channel."""

    spec_name: ClassVar[str] = "test"


@dataclass(frozen=True, slots=True)
class Deliveries:
    """``deliveries``: the last scheduled posts and their outcome."""

    spec_name: ClassVar[str] = "deliveries"


@dataclass(frozen=True, slots=True)
class Audit:
    """``audit``: the last configuration changes and writes."""

    spec_name: ClassVar[str] = "audit"


@dataclass(frozen=True, slots=True)
class SetLimit:
    """``set-limit <email> <dollars|none>`` (Cursor): ``dollars`` None removes the limit."""

    spec_name: ClassVar[str] = "set-limit"
    email: str
    dollars: int | None


@dataclass(frozen=True, slots=True)
class SetCap:
    """``set-cap <credits|none> [email|team]`` (Windsurf): ``credits`` None removes the cap.

    ``scope`` is a lowercased email or ``"team"``.
    """

    spec_name: ClassVar[str] = "set-cap"
    credits: int | None
    scope: str = "team"


Command: TypeAlias = (
    Help
    | Status
    | Spend
    | Top
    | PeopleQuery
    | IdleQuery
    | UserQuery
    | Credits
    | Limits
    | Export
    | Connections
    | Subscriptions
    | Connect
    | Disconnect
    | SubscribeDigest
    | SubscribeCreditLow
    | SubscribeBudget
    | SubscribeRateLimit
    | SubscribeHealth
    | SubscribeSpike
    | SubscribeRequests
    | Backtest
    | Unsubscribe
    | Snooze
    | DigestNow
    | SendTest
    | Deliveries
    | Audit
    | SetLimit
    | SetCap
    | RequestLimit
)
