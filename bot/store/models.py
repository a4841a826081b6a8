"""The tables. Every row of ours is scoped by Slack team id, directly or through its connection.

Conventions: times are aware UTC (``UTCDateTime``); money and credits are exact ``Amount`` decimals;
``''`` (not NULL) stands for "no user" / "no model" in the usage keys so they can be primary keys.
A table that stores a concept the domain also models is named ``...Row`` (``MemberRow`` keeps
``bot.domain.usage.Member``, ``AlertStateRow`` keeps ``bot.domain.alerts.AlertState``), so each name
means one thing; the SQL table names are unchanged.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from bot.store.types import Amount, UTCDateTime

# Named constraints let Alembic's batch mode (SQLite) drop and recreate them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# slack_sdk's OAuth stores keep their own tables; declaring them on our metadata gives one migration history.
SQLAlchemyInstallationStore.build_installations_table(SQLModel.metadata, "slack_installations")
SQLAlchemyInstallationStore.build_bots_table(SQLModel.metadata, "slack_bots")
SQLAlchemyOAuthStateStore.build_oauth_states_table(SQLModel.metadata, "slack_oauth_states")


def _connection_fk() -> Any:
    return Field(
        sa_column=Column(
            Integer, ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )


class Workspace(SQLModel, table=True):
    """A Slack workspace the bot serves: the bot-token one, or one installed through OAuth."""

    __tablename__ = "workspaces"

    team_id: str = Field(primary_key=True, max_length=32)
    name: str | None = Field(default=None, max_length=200)
    bot_user_id: str | None = Field(default=None, max_length=32)
    origin: str = Field(default="token", max_length=16)  # "token" | "oauth"
    installed_at: datetime = Field(sa_type=UTCDateTime)


class Connection(SQLModel, table=True):
    """A vendor account the bot reads: its key (encrypted), options and health."""

    __tablename__ = "connections"
    __table_args__ = (UniqueConstraint("team_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(
        sa_column=Column(
            String(32), ForeignKey("workspaces.team_id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    name: str = Field(max_length=40)
    vendor: str = Field(max_length=16)
    base_url: str = Field(max_length=500)
    origin: str = Field(default="slack", max_length=8)  # "slack" | "env"
    secret_ciphertext: str | None = Field(default=None, sa_type=Text)  # Fernet token; None for env keys
    key_hint: str = Field(default="", max_length=8)  # the last four characters at most
    options: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_by: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default="new", max_length=16)  # new | ok | failing | rejected
    status_detail: str | None = Field(default=None, max_length=500)
    status_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SyncState(SQLModel, table=True):
    """Where the last sync of one dataset of one connection stopped, and how fresh its data is."""

    __tablename__ = "sync_states"

    connection_id: int = _connection_fk()
    dataset: str = Field(primary_key=True, max_length=32)
    watermark: datetime | None = Field(default=None, sa_type=UTCDateTime)  # complete up to here
    covered_from: datetime | None = Field(default=None, sa_type=UTCDateTime)  # complete from here
    target_from: datetime | None = Field(default=None, sa_type=UTCDateTime)  # how far back it should reach
    data_as_of: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    consecutive_failures: int = 0
    requests: int = 0


class UsageBucket(SQLModel, table=True):
    """Spend in one quarter hour (UTC) by one person on one model: exact local days in any time zone."""

    __tablename__ = "usage_buckets"
    __table_args__ = (
        Index("ix_usage_buckets_connection_user", "connection_id", "user_email", "bucket_start"),
        {"sqlite_with_rowid": False},
    )

    connection_id: int = _connection_fk()
    bucket_start: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    user_email: str = Field(default="", primary_key=True, max_length=254)
    model: str = Field(default="", primary_key=True, max_length=120)
    amount: Decimal = Field(default=Decimal(0), sa_type=Amount)
    requests: Decimal = Field(default=Decimal(0), sa_type=Amount)
    tokens: int = Field(default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": "0"})


class UsageTeamBucket(SQLModel, table=True):
    """The whole team's spend in one quarter hour: local-day series (charts, ``by day``) stay cheap."""

    __tablename__ = "usage_team_buckets"
    __table_args__ = ({"sqlite_with_rowid": False},)

    connection_id: int = _connection_fk()
    bucket_start: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    amount: Decimal = Field(default=Decimal(0), sa_type=Amount)
    requests: Decimal = Field(default=Decimal(0), sa_type=Amount)
    tokens: int = Field(default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": "0"})


class UsageUserHour(SQLModel, table=True):
    """One person's spend in one UTC hour, every model together: the partial days of an answer by
    person (five hours of New York's day are a few thousand rows here, against tens of thousands of
    quarter hours by model); quarter hours are read only for what is left of a zone's odd offset."""

    __tablename__ = "usage_user_hours"
    __table_args__ = ({"sqlite_with_rowid": False},)

    connection_id: int = _connection_fk()
    bucket_start: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    user_email: str = Field(default="", primary_key=True, max_length=254)
    amount: Decimal = Field(default=Decimal(0), sa_type=Amount)
    requests: Decimal = Field(default=Decimal(0), sa_type=Amount)
    tokens: int = Field(default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": "0"})


class UsageModelBucket(SQLModel, table=True):
    """Everyone's spend on one model in one quarter hour: the partial days of ``by model`` and of a
    tool's change (a few rows an hour, where the per-person buckets hold thousands)."""

    __tablename__ = "usage_model_buckets"
    __table_args__ = ({"sqlite_with_rowid": False},)

    connection_id: int = _connection_fk()
    bucket_start: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    model: str = Field(default="", primary_key=True, max_length=120)
    amount: Decimal = Field(default=Decimal(0), sa_type=Amount)
    requests: Decimal = Field(default=Decimal(0), sa_type=Amount)
    tokens: int = Field(default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": "0"})


class UsageDay(SQLModel, table=True):
    """Spend in one whole UTC day by one person on one model: the rollup exports and per-person views read."""

    __tablename__ = "usage_days"
    __table_args__ = (
        Index("ix_usage_days_connection_user", "connection_id", "user_email", "day"),
        {"sqlite_with_rowid": False},
    )

    connection_id: int = _connection_fk()
    day: date = Field(sa_column=Column(Date, primary_key=True, nullable=False))
    user_email: str = Field(default="", primary_key=True, max_length=254)
    model: str = Field(default="", primary_key=True, max_length=120)
    amount: Decimal = Field(default=Decimal(0), sa_type=Amount)
    requests: Decimal = Field(default=Decimal(0), sa_type=Amount)
    tokens: int = Field(default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": "0"})


class UsageUserDay(SQLModel, table=True):
    """Spend in one whole UTC day by one person, all models together: what ``by user`` and ``top`` read.

    Without a rowid on SQLite the primary key holds the amounts, so a month of a large team is one
    ordered scan of the key.
    """

    __tablename__ = "usage_user_days"
    __table_args__ = ({"sqlite_with_rowid": False},)

    connection_id: int = _connection_fk()
    day: date = Field(sa_column=Column(Date, primary_key=True, nullable=False))
    user_email: str = Field(default="", primary_key=True, max_length=254)
    amount: Decimal = Field(default=Decimal(0), sa_type=Amount)
    requests: Decimal = Field(default=Decimal(0), sa_type=Amount)
    tokens: int = Field(default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": "0"})


class UsageModelDay(SQLModel, table=True):
    """Spend in one whole UTC day on one model, everyone together: what ``by model`` reads."""

    __tablename__ = "usage_model_days"
    __table_args__ = ({"sqlite_with_rowid": False},)

    connection_id: int = _connection_fk()
    day: date = Field(sa_column=Column(Date, primary_key=True, nullable=False))
    model: str = Field(default="", primary_key=True, max_length=120)
    amount: Decimal = Field(default=Decimal(0), sa_type=Amount)
    requests: Decimal = Field(default=Decimal(0), sa_type=Amount)
    tokens: int = Field(default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": "0"})


class UsageUserRunning(SQLModel, table=True):
    """Each person's totals from the start of the stored history through one UTC day, for every day
    from their first on (dense): whole days of any period by person are two days' rows subtracted, so
    ``by user`` and ``top`` read one row per person whatever the period's length.

    Rebuilt by the sync from the earliest day its writes touched (:class:`UsageRunningState`); a day
    without use repeats the day before, so a lookup is one day's rows, never a search per person.
    """

    __tablename__ = "usage_user_running"
    __table_args__ = ({"sqlite_with_rowid": False},)

    connection_id: int = _connection_fk()
    day: date = Field(sa_column=Column(Date, primary_key=True, nullable=False))
    user_email: str = Field(default="", primary_key=True, max_length=254)
    amount: Decimal = Field(default=Decimal(0), sa_type=Amount)
    requests: Decimal = Field(default=Decimal(0), sa_type=Amount)
    tokens: int = Field(default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": "0"})


class UsageRunningState(SQLModel, table=True):
    """How far a connection's running totals can be trusted.

    ``stale_from``: the first day a write changed since the last rebuild (None: all current), so a
    read never subtracts totals that miss a late correction. ``first_day``..``last_day``: the days that
    have rows. ``floor_day``: set once retention purged older history; its rows are the base of any
    period that starts before it (they count what was purged).
    """

    __tablename__ = "usage_running_states"

    connection_id: int = _connection_fk()
    stale_from: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    first_day: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    last_day: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    floor_day: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    version: int = Field(default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": "0"})
    """Counts the writes of the connection's history: a figure read before a write is not kept after it
    (:mod:`bot.store.past_ranges`)."""


class UsagePastRange(SQLModel, table=True):
    """The people and totals of one past range by person, kept once counted: the previous period of an
    answer by person, the same for every answer of the day and as costly as the answer's own ranking.

    A write of the connection's history forgets every range that reaches the days it changed, in its
    own transaction (:func:`bot.store.running.mark_stale`).
    """

    __tablename__ = "usage_past_ranges"

    connection_id: int = _connection_fk()
    range_start: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    range_end: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    people: int = Field(sa_type=BigInteger)
    amount: Decimal = Field(default=Decimal(0), sa_type=Amount)
    requests: Decimal = Field(default=Decimal(0), sa_type=Amount)
    tokens: int = Field(default=0, sa_type=BigInteger)


class MemberRow(SQLModel, table=True):
    """A person on a vendor team, as last seen."""

    __tablename__ = "members"

    connection_id: int = _connection_fk()
    email: str = Field(primary_key=True, max_length=254)
    name: str | None = Field(default=None, max_length=200)
    role: str | None = Field(default=None, max_length=40)
    active: bool = True
    seen_at: datetime = Field(sa_type=UTCDateTime)
    last_active_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CycleSpendRow(SQLModel, table=True):
    """A person's spend and limit in one billing cycle (the latest reading of that cycle)."""

    __tablename__ = "cycle_spend"

    connection_id: int = _connection_fk()
    cycle_start: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    user_email: str = Field(primary_key=True, max_length=254)
    cycle_end: datetime | None = Field(default=None, sa_type=UTCDateTime)
    name: str | None = Field(default=None, max_length=200)
    total: Decimal = Field(default=Decimal(0), sa_type=Amount)
    on_demand: Decimal | None = Field(default=None, sa_type=Amount)
    limit_cents: Decimal | None = Field(default=None, sa_type=Amount)
    total_is_fallback: bool = False
    observed_at: datetime = Field(sa_type=UTCDateTime)


class CreditSnapshot(SQLModel, table=True):
    """One reading of a connection's credit pools; the history gives the burn rate."""

    __tablename__ = "credit_snapshots"
    __table_args__ = (Index("ix_credit_snapshots_connection_observed", "connection_id", "observed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = Field(
        sa_column=Column(Integer, ForeignKey("connections.id", ondelete="CASCADE"), nullable=False)
    )
    observed_at: datetime = Field(sa_type=UTCDateTime)
    cycle_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cycle_end: datetime | None = Field(default=None, sa_type=UTCDateTime)
    unit: str = Field(max_length=16)
    size: Decimal = Field(sa_type=Amount)
    used: Decimal = Field(sa_type=Amount)
    remaining: Decimal = Field(sa_type=Amount)
    pools: list[dict[str, str]] = Field(default_factory=list, sa_type=JSON)


class RateLimitReading(SQLModel, table=True):
    """The latest rate-limit status of one window of one connection, plus what our limiter met."""

    __tablename__ = "rate_limit_readings"

    connection_id: int = _connection_fk()
    scope: str = Field(primary_key=True, max_length=32)
    limit: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    window_seconds: int | None = None
    observed_at: datetime = Field(sa_type=UTCDateTime)
    rate_limited_total: int = 0
    waited_seconds_total: float = 0.0


class TrackedFigureRow(SQLModel, table=True):
    """A reading of the JSON field an operator asked us to track on a REST API."""

    __tablename__ = "tracked_figures"
    __table_args__ = (Index("ix_tracked_figures_connection_observed", "connection_id", "observed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = Field(
        sa_column=Column(Integer, ForeignKey("connections.id", ondelete="CASCADE"), nullable=False)
    )
    observed_at: datetime = Field(sa_type=UTCDateTime)
    value: Decimal = Field(sa_type=Amount)


class Subscription(SQLModel, table=True):
    """A channel's standing order: a digest, or one family of alerts, with its parameters."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_team_channel", "team_id", "channel_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(
        sa_column=Column(String(32), ForeignKey("workspaces.team_id", ondelete="CASCADE"), nullable=False)
    )
    channel_id: str = Field(max_length=32)
    kind: str = Field(max_length=16)  # digest | credit-low | budget | rate-limit | health
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_by: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime)
    paused_reason: str | None = Field(default=None, max_length=200)
    paused_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    snoozed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    muted_until_resolved: bool = False
    next_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Delivery(SQLModel, table=True):
    """The ledger of scheduled posts: the key is claimed before Slack is called, so nothing posts twice."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_team_created", "team_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=255, unique=True)
    team_id: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    subscription_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("subscriptions.id", ondelete="SET NULL"), nullable=True),
    )
    kind: str = Field(max_length=16)
    period: str = Field(max_length=64)
    state: str = Field(max_length=16)  # posting | sent | delayed | failed | skipped
    late: bool = False
    message_ts: str | None = Field(default=None, max_length=32)
    error: str | None = Field(default=None, max_length=500)
    attempts: int = 0
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    payload: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    retry_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    """When a ``delayed`` post is tried again: after Slack's ``Retry-After``, or a passing error's backoff."""
    due_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    """Until when the post is worth making (a digest: the end of its local day); past it, failed."""


class AlertStateRow(SQLModel, table=True):
    """One alert's state machine, keyed on subscription + metric + threshold + billing cycle."""

    __tablename__ = "alert_states"
    __table_args__ = (UniqueConstraint("subscription_id", "metric", "threshold", "cycle"),)

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(
        sa_column=Column(Integer, ForeignKey("subscriptions.id", ondelete="CASCADE"), nullable=False)
    )
    metric: str = Field(max_length=120)
    threshold: str = Field(max_length=40)
    cycle: str = Field(max_length=40)
    status: str = Field(default="ok", max_length=16)  # ok | firing
    notified: bool = False
    episode: int = 0  # how many times it fired in this cycle: part of the posts' idempotency keys
    reminders: int = 0  # reminders posted in the current episode
    last_value: str | None = Field(default=None, max_length=64)  # the last reading, for change-based rules
    fired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_notified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    snoozed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    muted_until_resolved: bool = False
    channel_id: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)
    summary: str | None = Field(default=None, sa_type=Text)
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ChartFile(SQLModel, table=True):
    """A chart uploaded to a workspace once, then shown in every digest that needs it that day."""

    __tablename__ = "chart_files"

    team_id: str = Field(primary_key=True, max_length=32)
    chart_key: str = Field(primary_key=True, max_length=200)
    file_id: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime)


class AuditEntry(SQLModel, table=True):
    """Who changed or wrote what, when, and how it went. Never a key."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_team_created", "team_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    user_id: str | None = Field(default=None, max_length=32)
    action: str = Field(max_length=64)
    target: str | None = Field(default=None, max_length=200)
    outcome: str = Field(max_length=16)  # ok | refused | failed
    detail: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(sa_type=UTCDateTime)


class LimitRequest(SQLModel, table=True):
    """A person's request for a higher limit on one tool (``request-limit``), and the admins' decision.

    ``state`` moves pending → applying → approved (or back to pending when the vendor refused), or
    pending → denied, each step a compare-and-set, so one decision is made however many clicks arrive.
    """

    __tablename__ = "limit_requests"
    __table_args__ = (Index("ix_limit_requests_team_created", "team_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(
        sa_column=Column(String(32), ForeignKey("workspaces.team_id", ondelete="CASCADE"), nullable=False)
    )
    requester_id: str = Field(max_length=32)
    email: str = Field(max_length=254)
    connection: str = Field(max_length=40)
    vendor: str = Field(max_length=16)
    amount: Decimal = Field(sa_type=Amount)  # whole dollars (Cursor) or credits (Windsurf)
    unit: str = Field(max_length=16)  # usd | credits
    reason: str | None = Field(default=None, max_length=300)
    state: str = Field(max_length=16)  # pending | applying | approved | denied
    created_at: datetime = Field(sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=32)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decision_note: str | None = Field(default=None, max_length=300)


class Lease(SQLModel, table=True):
    """A short-lived claim on a piece of scheduled work, so replicas do not both do it."""

    __tablename__ = "leases"

    name: str = Field(primary_key=True, max_length=200)
    holder: str = Field(max_length=64)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class PaceSlot(SQLModel, table=True):
    """A slot reserved under a shared rate limit (Slack's posting allowance of a workspace), so replicas
    together stay within one limit. ``at`` is the wall-clock instant (Unix seconds) the slot is for."""

    __tablename__ = "pace_slots"
    __table_args__ = (Index("ix_pace_slots_key_at", "key", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120)
    at: float


class ConfirmationUse(SQLModel, table=True):
    """A confirm button that was used. Its token is claimed (a unique insert) before the change is made,
    so a replayed or double click finds it taken and changes nothing."""

    __tablename__ = "confirmation_uses"

    token: str = Field(primary_key=True, max_length=64)
    team_id: str = Field(max_length=32)
    user_id: str = Field(max_length=32)
    action: str = Field(max_length=64)
    used_at: datetime = Field(sa_type=UTCDateTime)
