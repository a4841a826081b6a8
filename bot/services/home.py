"""What a workspace's App Home shows, gathered from the store: one read, no vendor call.

The Home is re-drawn after every sync, so it must never start one: connection cards come from
``StatusAnswers.status(refresh=False)``, and everything else (subscriptions, the delivery ledger, open
alerts) is read straight from their tables, scoped by team id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select as columns
from sqlmodel import col, select

from bot.messages.answers import CreditView, StatusAnswer, StatusCard
from bot.services.access import Access
from bot.services.clock import Clock
from bot.services.errors import NotFound
from bot.services.people import People
from bot.services.status_answers import StatusAnswers
from bot.services.subscriptions import describe
from bot.settings import Settings
from bot.store.db import Database, execute
from bot.store.models import AlertStateRow, Delivery, Subscription

LAST_DELIVERIES = 10
MAX_SUBSCRIPTIONS = 200
MAX_ALERTS = 100


@dataclass(frozen=True)
class ToolSpend:
    """This billing cycle's spend of one tool (vendor), summed over its connections, in its unit."""

    vendor: str
    unit: str
    amount: Decimal
    connections: tuple[str, ...]


@dataclass(frozen=True)
class SubscriptionLine:
    id: int
    channel_id: str
    kind: str
    summary: str  # as ``subscriptions`` words it: "digest daily at 09:00 Europe/Paris"
    paused_reason: str | None = None
    snoozed_until: datetime | None = None
    muted: bool = False


@dataclass(frozen=True)
class DeliveryLine:
    channel_id: str
    kind: str
    period: str
    state: str
    late: bool
    at: datetime
    error: str | None = None


@dataclass(frozen=True)
class AlertLine:
    subscription_id: int
    channel_id: str | None
    kind: str
    metric: str
    threshold: str
    summary: str | None
    fired_at: datetime | None
    snoozed_until: datetime | None = None
    muted: bool = False


@dataclass(frozen=True)
class HomeModel:
    """Everything one person's App Home shows; rendered by ``bot.slack.home.home_view``."""

    team_id: str
    user_id: str
    is_admin: bool
    tz: ZoneInfo
    now: datetime
    command: str
    status: StatusAnswer
    spend: tuple[ToolSpend, ...]
    credits: tuple[CreditView, ...]
    subscriptions: tuple[SubscriptionLine, ...] = field(default_factory=tuple)
    deliveries: tuple[DeliveryLine, ...] = field(default_factory=tuple)
    alerts: tuple[AlertLine, ...] = field(default_factory=tuple)


def spend_per_tool(cards: Sequence[StatusCard]) -> tuple[ToolSpend, ...]:
    """Cycle spend summed per tool and unit, in the order the tools first appear."""
    totals: dict[tuple[str, str], tuple[Decimal, list[str]]] = {}
    for card in cards:
        if card.cycle_spent is None:
            continue
        amount, names = totals.get((card.vendor, card.unit), (Decimal(0), []))
        totals[(card.vendor, card.unit)] = (amount + card.cycle_spent, [*names, card.connection])
    return tuple(
        ToolSpend(vendor, unit, amount, tuple(names)) for (vendor, unit), (amount, names) in totals.items()
    )


class HomeService:
    """Gathers a :class:`HomeModel` for one person of one workspace."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        status: StatusAnswers,
        people: People,
        access: Access,
        *,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._db = db
        self._status = status
        self._people = people
        self._access = access
        self._clock = clock

    async def gather(self, team_id: str, user_id: str) -> HomeModel:
        """The Home of ``user_id`` in ``team_id``, from the store only (see the module docstring)."""
        try:
            status = await self._status.status(team_id, user_id, refresh=False)
        except NotFound:  # no connection yet: a new admin's Home still shows, with its Connect buttons
            status = StatusAnswer((await self._people.viewer(team_id, user_id)).tz, ())
        credits = tuple(card.credit for card in status.cards if card.credit is not None)
        return HomeModel(
            team_id=team_id,
            user_id=user_id,
            is_admin=await self._access.is_admin(team_id, user_id),
            tz=status.tz,
            now=self._clock(),
            command=self._settings.command,
            status=status,
            spend=spend_per_tool(status.cards),
            credits=credits,
            subscriptions=await self.subscriptions(team_id),
            deliveries=await self.deliveries(team_id),
            alerts=await self.open_alerts(team_id),
        )

    async def subscriptions(self, team_id: str) -> tuple[SubscriptionLine, ...]:
        """The workspace's subscriptions, by channel then id, each worded as ``subscriptions`` words it."""
        async with self._db.session() as session:
            rows = (
                await session.exec(
                    select(Subscription)
                    .where(col(Subscription.team_id) == team_id)
                    .order_by(col(Subscription.channel_id), col(Subscription.id))
                    .limit(MAX_SUBSCRIPTIONS)
                )
            ).all()
        return tuple(
            SubscriptionLine(
                id=row.id or 0,
                channel_id=row.channel_id,
                kind=row.kind,
                summary=describe(row, self._settings.timezone),
                paused_reason=row.paused_reason,
                snoozed_until=row.snoozed_until,
                muted=row.muted_until_resolved,
            )
            for row in rows
        )

    # The deliveries and alerts reads name their columns: the Home needs few of each table's.

    async def deliveries(self, team_id: str, limit: int = LAST_DELIVERIES) -> tuple[DeliveryLine, ...]:
        """The last scheduled posts of the workspace, newest first, with their outcome."""
        async with self._db.session() as session:
            found = (
                await execute(
                    session,
                    columns(
                        col(Delivery.channel_id),
                        col(Delivery.kind),
                        col(Delivery.period),
                        col(Delivery.state),
                        col(Delivery.late),
                        col(Delivery.updated_at),
                        col(Delivery.error),
                    )
                    .where(col(Delivery.team_id) == team_id)
                    .order_by(col(Delivery.created_at).desc(), col(Delivery.id).desc())
                    .limit(limit),
                )
            ).all()
        rows = [tuple(row) for row in found]
        return tuple(
            DeliveryLine(
                channel_id=channel_id, kind=kind, period=period, state=state, late=late, at=at, error=error
            )
            for channel_id, kind, period, state, late, at, error in rows
        )

    async def open_alerts(self, team_id: str) -> tuple[AlertLine, ...]:
        """Alerts of the workspace's subscriptions that are firing now, oldest first."""
        async with self._db.session() as session:
            found = (
                await execute(
                    session,
                    columns(
                        col(AlertStateRow.subscription_id),
                        col(AlertStateRow.channel_id),
                        col(Subscription.channel_id),
                        col(Subscription.kind),
                        col(AlertStateRow.metric),
                        col(AlertStateRow.threshold),
                        col(AlertStateRow.summary),
                        col(AlertStateRow.fired_at),
                        col(AlertStateRow.snoozed_until),
                        col(AlertStateRow.muted_until_resolved),
                    )
                    .join(Subscription, col(Subscription.id) == col(AlertStateRow.subscription_id))
                    .where(col(Subscription.team_id) == team_id, col(AlertStateRow.status) == "firing")
                    .order_by(col(AlertStateRow.fired_at), col(AlertStateRow.id))
                    .limit(MAX_ALERTS),
                )
            ).all()
        rows = [tuple(row) for row in found]
        return tuple(
            AlertLine(
                subscription_id=subscription_id,
                channel_id=alert_channel or subscription_channel,
                kind=kind,
                metric=metric,
                threshold=threshold,
                summary=summary,
                fired_at=fired_at,
                snoozed_until=snoozed_until,
                muted=muted,
            )
            for (
                subscription_id,
                alert_channel,
                subscription_channel,
                kind,
                metric,
                threshold,
                summary,
                fired_at,
                snoozed_until,
                muted,
            ) in rows
        )
