"""What a workspace's App Home shows, gathered from the store: one read, no vendor call.

The Home is re-drawn after every sync, so it must never start one: connection cards come from
``StatusAnswers.status(refresh=False)``, and everything else (subscriptions, the delivery ledger, open
alerts, idle seats, waiting limit requests) is read straight from their tables, scoped by team id.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from bot.messages.answers import StatusAnswer, StatusCard
from bot.messages.home import AlertLine, HomeModel, ToolSpend
from bot.messages.subscriptions import DeliveryLine, SubscriptionLine
from bot.services.access import Access
from bot.services.clock import Clock
from bot.services.connections import ConnectionRegistry
from bot.services.errors import NotFound
from bot.services.idle_report import IdleReport
from bot.services.people import People
from bot.services.status_answers import StatusAnswers
from bot.services.subscriptions import subscription_line
from bot.settings import Settings
from bot.store.deliveries import DeliveryRepository
from bot.store.limit_requests import LimitRequestRepository
from bot.store.subscriptions import SubscriptionRepository

LAST_DELIVERIES = 10
MAX_SUBSCRIPTIONS = 200
MAX_ALERTS = 100


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
        subscriptions: SubscriptionRepository,
        deliveries: DeliveryRepository,
        status: StatusAnswers,
        people: People,
        access: Access,
        idle: IdleReport,
        connections: ConnectionRegistry,
        requests: LimitRequestRepository,
        *,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._subscriptions = subscriptions
        self._deliveries = deliveries
        self._status = status
        self._people = people
        self._access = access
        self._idle = idle
        self._connections = connections
        self._requests = requests
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
            idle=await self._idle.summary(
                await self._connections.for_team(team_id), self._clock().astimezone(status.tz).date()
            ),
            pending_requests=await self._requests.pending_count(team_id),
        )

    async def subscriptions(self, team_id: str) -> tuple[SubscriptionLine, ...]:
        """The workspace's subscriptions, by channel then id, each worded as ``subscriptions`` words it."""
        rows = await self._subscriptions.by_channel(team_id, MAX_SUBSCRIPTIONS)
        tz = self._settings.timezone
        return tuple(subscription_line(row, tz) for row in rows)

    async def deliveries(self, team_id: str, limit: int = LAST_DELIVERIES) -> tuple[DeliveryLine, ...]:
        """The last scheduled posts of the workspace, newest first, with their outcome."""
        return tuple(
            DeliveryLine(
                channel_id=row.channel_id,
                kind=row.kind,
                period=row.period,
                state=row.state,
                late=row.late,
                at=row.updated_at,
                error=row.error,
                retry_at=row.retry_at,  # set only while a post is delayed
            )
            for row in await self._deliveries.recent_outcomes(team_id, limit)
        )

    async def open_alerts(self, team_id: str) -> tuple[AlertLine, ...]:
        """Alerts of the workspace's subscriptions that are firing now, oldest first."""
        return tuple(
            AlertLine(
                subscription_id=row.subscription_id,
                channel_id=row.alert_channel_id or row.subscription_channel_id,
                kind=row.kind,
                metric=row.metric,
                threshold=row.threshold,
                summary=row.summary,
                fired_at=row.fired_at,
                snoozed_until=row.snoozed_until,
                muted=row.muted_until_resolved,
            )
            for row in await self._subscriptions.firing_alerts(team_id, MAX_ALERTS)
        )
