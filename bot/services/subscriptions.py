"""Channel subscriptions: a digest on a schedule, or one family of alerts, with its parameters.

Subscriptions belong to a channel of a workspace and survive restarts (they are rows). A digest's next
due time is stored, computed with the design's DST rules, so a restart knows what it missed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError

from bot.domain.commands import (
    SourceFilter,
    SubscribeBudget,
    SubscribeCreditLow,
    SubscribeDigest,
    SubscribeHealth,
    SubscribeRateLimit,
    SubscribeRequests,
    SubscribeSpike,
)
from bot.domain.money import format_amount
from bot.domain.schedule import next_digest_at
from bot.domain.spikes import DEFAULT_FACTOR, DEFAULT_MINIMUM_CENTS
from bot.domain.usage import Unit
from bot.domain.vendors import traits
from bot.messages.subscriptions import SubscriptionLine
from bot.services.clock import Clock
from bot.services.errors import NotFound, ServiceError
from bot.services.slack_api import SlackApi, SlackUnavailable, error_code, is_direct_conversation
from bot.settings import Settings
from bot.store.connections import ConnectionRepository
from bot.store.db import Database
from bot.store.models import Subscription
from bot.store.subscriptions import SubscriptionRepository

log = logging.getLogger(__name__)

DIRECT_REFUSAL = (
    "Subscriptions live in channels, not in direct messages. Invite me to a channel "
    "(`/invite @spendbot`) and subscribe there, for example `{command} subscribe digest daily at 09:00`."
)
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
Subscribe = (
    SubscribeDigest
    | SubscribeCreditLow
    | SubscribeBudget
    | SubscribeRateLimit
    | SubscribeHealth
    | SubscribeSpike
    | SubscribeRequests
)
KIND_OF: dict[type, str] = {
    SubscribeDigest: "digest",
    SubscribeCreditLow: "credit-low",
    SubscribeBudget: "budget",
    SubscribeRateLimit: "rate-limit",
    SubscribeHealth: "health",
    SubscribeSpike: "spike",
    SubscribeRequests: "requests",
}


@dataclass(frozen=True)
class DigestSchedule:
    weekdays: frozenset[int]
    at: time
    tz: ZoneInfo
    no_names: bool
    cadence: str


def schedule_of(subscription: Subscription, default_tz: str) -> DigestSchedule:
    params = subscription.params or {}
    hour, minute = (int(part) for part in str(params.get("at", "09:00")).split(":"))
    return DigestSchedule(
        weekdays=frozenset(int(day) for day in params.get("weekdays", range(7))),
        at=time(hour, minute),
        tz=ZoneInfo(str(params.get("tz") or default_tz)),
        no_names=bool(params.get("no_names")),
        cadence=str(params.get("cadence") or "daily"),
    )


def source_of(subscription: Subscription) -> SourceFilter | None:
    raw = (subscription.params or {}).get("source")
    if not raw:
        return None
    return SourceFilter(vendor=raw.get("vendor"), connection=raw.get("connection"))


def new_subscription(
    team_id: str,
    channel_id: str,
    user_id: str,
    kind: str,
    params: dict[str, Any],
    *,
    now: datetime,
    default_tz: str,
) -> Subscription:
    """A subscription created at ``now``; a digest's is due at its first scheduled time after ``now``."""
    row = Subscription(
        team_id=team_id,
        channel_id=channel_id,
        kind=kind,
        params=params,
        created_by=user_id,
        created_at=now,
    )
    if kind == "digest":
        schedule = schedule_of(row, default_tz)
        row.next_due_at = next_digest_at(
            weekdays=schedule.weekdays, at=schedule.at, tz=schedule.tz, after=now
        )
    return row


def describe(subscription: Subscription, default_tz: str) -> str:
    """One line saying what a subscription does, as a person would type it."""
    params = subscription.params or {}
    kind = subscription.kind
    if kind == "digest":
        schedule = schedule_of(subscription, default_tz)
        days = (
            "daily"
            if len(schedule.weekdays) == 7
            else "weekly"
            if schedule.weekdays == frozenset({0}) and schedule.cadence == "weekly"
            else ",".join(DAY_NAMES[day].lower() for day in sorted(schedule.weekdays))
        )
        text = f"digest {days} at {schedule.at:%H:%M} {schedule.tz.key}"
        if schedule.no_names:
            text += " no-names"
        return text
    if kind == "credit-low":
        if params.get("below_percent"):
            return f"credit-low below {params['below_percent']}%"
        if params.get("below_amount"):
            return f"credit-low below {params['below_amount']}"
        return "credit-low (runway shorter than the cycle or under 20% left; Cursor: people at 90% of limit)"
    if kind == "budget":
        source = source_of(subscription)
        unit = str(params.get("unit") or "usd_cents")
        amount = format_amount(Decimal(str(params.get("amount", "0"))), unit)
        return f"budget {amount}" + (f" {source.token}" if source else "")
    if kind == "rate-limit":
        return f"rate-limit below {params.get('below_percent', '10')}%"
    if kind == "requests":
        return "requests (people's limit requests, for admins to approve or deny)"
    if kind == "spike":
        factor, minimum = spike_params(subscription)
        return (
            f"spike x{factor} min {format_amount(minimum, 'usd_cents')} (a person's day against their usual)"
        )
    return kind


def spike_params(subscription: Subscription) -> tuple[Decimal, Decimal]:
    """A spike subscription's factor and minimum in cents."""
    params = subscription.params or {}
    return (
        Decimal(str(params.get("factor") or DEFAULT_FACTOR)),
        Decimal(str(params.get("minimum_cents") or DEFAULT_MINIMUM_CENTS)),
    )


def subscription_line(subscription: Subscription, default_tz: str) -> SubscriptionLine:
    """A stored subscription as ``subscriptions`` and the App Home show it: the one converter of both."""
    return SubscriptionLine(
        id=subscription.id or 0,
        channel_id=subscription.channel_id,
        kind=subscription.kind,
        summary=describe(subscription, default_tz),
        paused_reason=subscription.paused_reason,
        snoozed_until=subscription.snoozed_until,
        muted=subscription.muted_until_resolved,
        next_due_at=subscription.next_due_at,
    )


class SubscriptionService:
    """Creates, lists, pauses and removes subscriptions; finds the digests that are due."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        store: SubscriptionRepository,
        connections: ConnectionRepository,
        slack: SlackApi,
        audit: Any,
        *,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._db = db
        self._store = store
        self._connections = connections
        self._slack = slack
        self._audit = audit
        self._clock = clock

    async def subscribe(
        self,
        team_id: str,
        channel_id: str,
        user_id: str,
        command: Subscribe,
        *,
        channel_name: str | None = None,
    ) -> Subscription:
        """Add a subscription to this channel (the caller checked the admin right).

        ``channel_name`` is the name the slash command came with (``directmessage`` in a DM).
        """
        await self._check_channel(team_id, channel_id, channel_name)
        kind = KIND_OF[type(command)]
        params = await self._params(team_id, command)
        for row in await self._store.of_kind(team_id, channel_id, kind):
            if row.params == params:
                return await self._resume_same(row, user_id)
        row = new_subscription(
            team_id, channel_id, user_id, kind, params, now=self._clock(), default_tz=self._settings.timezone
        )
        async with self._db.write() as session:
            await self._store.add(session, row)
            what = describe(row, self._settings.timezone)
            self._audit.add(
                session, team_id, user_id, "subscribe", f"#{row.id} {kind} in {channel_id}", "ok", what
            )
        return row

    async def _resume_same(self, row: Subscription, user_id: str) -> Subscription:
        """Subscribing again to what the channel already has resumes it when paused, else is refused."""
        if row.paused_reason is not None:
            return await self._resume(row, user_id)
        raise ServiceError(
            f"This channel already has that subscription "
            f"(#{row.id}: {describe(row, self._settings.timezone)})."
        )

    async def _check_channel(self, team_id: str, channel_id: str, channel_name: str | None) -> None:
        """The bot must be able to post here, and read back its posts; say how to fix it when it cannot.

        DMs and group DMs are refused: the bot has no ``im:history`` / ``mpim:history`` to settle a post
        from, and a subscription is for a channel's people.
        """
        if is_direct_conversation(channel_id, channel_name):
            raise ServiceError(DIRECT_REFUSAL.format(command=self._settings.command))
        try:
            response = await self._slack.call(team_id, "conversations.info", channel=channel_id)
        except SlackApiError as error:
            code = error_code(error)
            if code in ("channel_not_found", "not_in_channel"):
                raise ServiceError(
                    "I cannot see this channel. Invite me first (`/invite @spendbot`), then subscribe again."
                ) from None
            log.warning("conversations.info failed for %s: %s", channel_id, code)
            return
        except SlackUnavailable:
            return
        channel = response.get("channel") or {}
        if channel.get("is_im") or channel.get("is_mpim"):
            raise ServiceError(DIRECT_REFUSAL.format(command=self._settings.command))
        if channel.get("is_archived"):
            raise ServiceError("This channel is archived; subscribe in another one.")
        if channel.get("is_member") is False:
            raise ServiceError(
                "I am not in this channel yet. Invite me (`/invite @spendbot`), then subscribe again."
            )

    async def _params(self, team_id: str, command: Subscribe) -> dict[str, Any]:
        if isinstance(command, SubscribeDigest):
            return {
                "weekdays": sorted(command.weekdays),
                "at": command.at.strftime("%H:%M"),
                "tz": command.tz or self._settings.timezone,
                "no_names": command.no_names,
                "cadence": command.cadence,
            }
        if isinstance(command, SubscribeCreditLow):
            return {
                "below_percent": None if command.below_percent is None else str(command.below_percent),
                "below_amount": None if command.below_amount is None else str(command.below_amount),
            }
        if isinstance(command, SubscribeBudget):
            return await self.budget_params(team_id, command)
        if isinstance(command, SubscribeRateLimit):
            return {"below_percent": str(command.below_percent)}
        if isinstance(command, SubscribeSpike):
            return {"factor": str(command.factor), "minimum_cents": str(command.minimum_dollars * 100)}
        return {}

    async def budget_params(self, team_id: str, command: SubscribeBudget) -> dict[str, Any]:
        """A budget in its source's unit: dollars (kept as cents), or credits for Windsurf."""
        source = command.source
        params: dict[str, Any] = {"source": None}
        if source is not None:
            params["source"] = {"vendor": source.vendor, "connection": source.connection}
        rows = await self._connections.for_team(team_id)
        if source is not None and source.connection is not None:
            matching = [row for row in rows if row.name == source.connection]
            if not matching:
                raise NotFound(
                    f"There is no connection named `{source.connection}` in this workspace.",
                    wrong_input=True,
                )
            vendors = {matching[0].vendor}
        elif source is not None:
            vendors = {str(source.vendor)}
        else:
            vendors = {"cursor"}
        if not any(traits(vendor).reports_usage for vendor in vendors):
            raise ServiceError(
                "A REST connection reports a tracked figure and its rate limits, not spend per cycle, so "
                "it has no budget. Watch its figure with `subscribe credit-low below N`, or budget "
                "`cursor` or `windsurf`.",
                wrong_input=True,
            )
        in_credits = {traits(vendor).unit for vendor in vendors} == {Unit.CREDITS}
        credits = in_credits and not command.dollar_sign
        if in_credits and command.dollar_sign and self._settings.windsurf_credit_price is None:
            raise ServiceError(
                "Windsurf counts credits; a dollar budget needs `WINDSURF_CREDIT_PRICE`. "
                "Give the budget in credits (e.g. `subscribe budget 20000 windsurf`)."
            )
        if credits:
            params.update(amount=str(command.amount), unit="credits")
        else:
            params.update(amount=str(command.amount * 100), unit="usd_cents")
        return params

    async def unsubscribe(
        self, team_id: str, channel_id: str, user_id: str, target: int | str
    ) -> list[Subscription]:
        """Remove a subscription by id (anywhere in the workspace) or every one of a kind in this channel."""
        async with self._db.write() as session:
            if isinstance(target, int):
                row = await self._store.by_id(target, session=session)
                rows = [row] if row is not None and row.team_id == team_id else []
                if not rows:
                    raise NotFound(
                        f"There is no subscription #{target} in this workspace. "
                        "`subscriptions all` lists them.",
                        wrong_input=True,
                    )
            else:
                rows = await self._store.of_kind(team_id, channel_id, target, session=session)
                if not rows:
                    raise NotFound(
                        f"This channel has no `{target}` subscription. `subscriptions` lists them.",
                        wrong_input=True,
                    )
            for row in rows:
                await self._store.delete(session, row)
                what = describe(row, self._settings.timezone)
                target_text = f"#{row.id} {row.kind} in {row.channel_id}"
                self._audit.add(session, team_id, user_id, "unsubscribe", target_text, "ok", what)
        return rows

    async def listing(self, team_id: str, channel_id: str | None) -> list[Subscription]:
        """This channel's subscriptions, or every channel's when ``channel_id`` is None."""
        return await self._store.for_team(team_id, channel_id)

    async def lines(self, team_id: str, channel_id: str | None) -> list[SubscriptionLine]:
        """:meth:`listing` as ``subscriptions`` shows it."""
        tz = self._settings.timezone
        return [subscription_line(row, tz) for row in await self.listing(team_id, channel_id)]

    async def get(self, team_id: str, subscription_id: int) -> Subscription:
        row = await self._store.by_id(subscription_id)
        if row is None or row.team_id != team_id:
            raise NotFound(
                f"There is no subscription #{subscription_id} in this workspace. "
                "`subscriptions all` lists them.",
                wrong_input=True,
            )
        return row

    async def snooze(
        self,
        team_id: str,
        user_id: str,
        subscription_id: int,
        duration: timedelta | None,
        until_resolved: bool,
    ) -> tuple[Subscription, int]:
        """Hold back a subscription's alerts for a while, or mute its firing ones until each resolves
        (recoveries still post); returns it and how many firing alerts were muted.

        ``until_resolved`` acts on the alerts firing now: with none firing nothing is muted (and the
        answer says so), since a later alert is a new episode that posts."""
        row = await self.get(team_id, subscription_id)
        if row.kind == "digest":
            raise ServiceError(
                f"#{subscription_id} is a digest, and digests cannot be snoozed; "
                f"`unsubscribe {subscription_id}` stops it.",
                wrong_input=True,
            )
        now = self._clock()
        async with self._db.write() as session:
            stored = await self._store.by_id(subscription_id, session=session)
            assert stored is not None
            states = await self._store.alert_states(session, subscription_id)
            muted = 0
            if until_resolved:
                for state in states:
                    if state.status == "firing":
                        state.muted_until_resolved = True
                        self._store.save(session, state)
                        muted += 1
                stored.muted_until_resolved = muted > 0
                what = f"until resolved ({muted} firing)"
            else:
                assert duration is not None
                stored.snoozed_until = now + duration
                for state in states:
                    state.snoozed_until = stored.snoozed_until
                    self._store.save(session, state)
                what = f"until {stored.snoozed_until:%Y-%m-%d %H:%M} UTC"
            self._store.save(session, stored)
            self._audit.add(session, team_id, user_id, "snooze", f"#{subscription_id} {what}", "ok")
        return stored, muted

    async def _resume(self, row: Subscription, user_id: str) -> Subscription:
        """Subscribing again to a paused subscription resumes it (the channel problem was fixed)."""
        now = self._clock()
        async with self._db.write() as session:
            assert row.id is not None
            stored = await self._store.by_id(row.id, session=session)
            assert stored is not None
            stored.paused_reason = None
            stored.paused_at = None
            if stored.kind == "digest":
                schedule = schedule_of(stored, self._settings.timezone)
                stored.next_due_at = next_digest_at(
                    weekdays=schedule.weekdays, at=schedule.at, tz=schedule.tz, after=now
                )
            self._store.save(session, stored)
            self._audit.add(session, stored.team_id, user_id, "resume", f"#{stored.id} {stored.kind}", "ok")
        return stored

    async def alert_subscriptions(self, team_id: str) -> list[Subscription]:
        return await self._store.alerts_of_team(team_id)

    async def request_channels(self, team_id: str) -> list[Subscription]:
        """The workspace's ``requests`` subscriptions that are not paused: where limit requests go."""
        rows = await self._store.alerts_of_team(team_id)
        return [row for row in rows if row.kind == "requests" and row.paused_reason is None]

    async def due_digests(self, now: datetime) -> list[Subscription]:
        """Digests whose next due time has come (every workspace), paused ones left out."""
        return await self._store.due_digests(now)

    async def set_next_due(self, subscription_id: int, due: datetime, *, previous: datetime | None) -> bool:
        """Move a digest's next due time forward (only from ``previous``, so replicas move it once)."""
        return await self._store.move_next_due(subscription_id, due, previous=previous)

    async def teams_with_alerts(self) -> list[str]:
        return await self._store.teams_with_alerts()
