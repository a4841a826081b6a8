"""``request-limit``: a person asks for a higher limit of their own, an admin approves or denies it.

The request is stored first, then posted (through the delivery ledger, so once per channel) to every
channel subscribed with ``subscribe requests``. A decision is one compare-and-set on the request's
state, so a double click, a replayed click, two admins or two replicas decide it once: Approve moves it
to ``applying``, applies the limit through the vendor (``WriteService.apply``, which audits it) and then
to ``approved``; a vendor refusal moves it back to ``pending`` so it can be tried again. Setting a limit
to a value is idempotent, so a request left ``applying`` by a crash may be approved again after
``STUCK_AFTER``. Every posted copy is then edited to show the decision, and the person who asked gets a
direct message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from slack_sdk.errors import SlackApiError

from bot.domain.commands import RequestLimit
from bot.domain.vendors import LimitKind, display_name, traits
from bot.messages.requests import (
    RequestView,
    approved_outcome,
    current_limit,
    decided_message,
    denied_outcome,
    request_message,
    requester_news,
)
from bot.services.audit import AuditLog
from bot.services.clock import Clock
from bot.services.confirmations import new_token
from bot.services.connections import ConnectionRegistry
from bot.services.deliveries import Claim, DeliveryLedger, key_for
from bot.services.errors import NotFound, ServiceError
from bot.services.people import People
from bot.services.slack_api import SlackApi, SlackOutcomeUnknown, SlackUnavailable
from bot.services.subscriptions import SubscriptionService
from bot.services.writes import CapChange, LimitChange, WriteService
from bot.store.limit_requests import LimitRequestRepository
from bot.store.models import Connection, LimitRequest, Subscription
from bot.store.sync import SyncRecords

log = logging.getLogger(__name__)

STUCK_AFTER = timedelta(minutes=5)
"""A request still ``applying`` this long after its approval was cut off (a crash): it may be approved
again, which sets the same limit."""
REQUESTS_PER_DAY = 5
"""How many requests one person may make in a day: more is a flood, not a need."""
UNITS = {LimitKind.SPEND_LIMIT: "usd", LimitKind.CREDIT_CAP: "credits"}


class AlreadyDecided(ServiceError):
    """The request was decided before this click (or is being decided right now)."""


@dataclass(frozen=True)
class Asked:
    request_id: int
    vendor: str
    amount: int
    unit: str
    channels: list[str]


class LimitRequests:
    """Takes people's requests and the admins' decisions on them; see the module docstring."""

    def __init__(
        self,
        store: LimitRequestRepository,
        records: SyncRecords,
        connections: ConnectionRegistry,
        people: People,
        subscriptions: SubscriptionService,
        writes: WriteService,
        ledger: DeliveryLedger,
        slack: SlackApi,
        audit: AuditLog,
        *,
        clock: Clock,
    ) -> None:
        self._store = store
        self._records = records
        self._connections = connections
        self._people = people
        self._subscriptions = subscriptions
        self._writes = writes
        self._ledger = ledger
        self._slack = slack
        self._audit = audit
        self._clock = clock

    # ----- asking ------------------------------------------------------------------------------------

    async def ask(self, team_id: str, user_id: str, command: RequestLimit) -> Asked:
        """Store the request and post it to the channels that take requests."""
        viewer = await self._people.viewer(team_id, user_id)
        if viewer.email is None:
            raise ServiceError("I cannot read your email from Slack, so I cannot tell which seat is yours.")
        email = viewer.email.lower()
        connection = await self._connection_for(team_id, email, command)
        unit = UNITS[traits(connection.vendor).writable_limit]
        channels = await self._may_ask(team_id, user_id, connection, unit, command)
        current, spent = await self._current(team_id, connection, email, command.amount)
        row = await self._store.add(
            LimitRequest(
                team_id=team_id,
                requester_id=user_id,
                email=email,
                connection=connection.name,
                vendor=connection.vendor,
                amount=Decimal(command.amount),
                unit=unit,
                reason=command.reason,
                state="pending",
                created_at=self._clock(),
            )
        )
        assert row.id is not None
        target = f"{connection.name}: {email} -> {command.amount}"
        await self._audit.record(team_id, user_id, "request-limit", target, "ok", command.reason)
        posted = await self._post(row, _view(row, current, spent), channels)
        return Asked(row.id, connection.vendor, command.amount, unit, posted)

    async def _may_ask(
        self, team_id: str, user_id: str, connection: Connection, unit: str, command: RequestLimit
    ) -> list[Subscription]:
        """The channels that take requests, once the request holds: its unit, a channel, no flood."""
        if unit == "credits" and command.dollar_sign:
            raise ServiceError(
                f"{display_name(connection.vendor)} caps are in credits: "
                f"`request-limit {command.amount} {connection.name}` asks for {command.amount:,} credits.",
                wrong_input=True,
            )
        channels = await self._subscriptions.request_channels(team_id)
        if not channels:
            raise ServiceError(
                "No channel takes limit requests yet. Ask an admin to run `/spend subscribe requests` in "
                "the channel where admins should decide them."
            )
        since = self._clock() - timedelta(days=1)
        if await self._store.count_since(team_id, user_id, since) >= REQUESTS_PER_DAY:
            raise ServiceError(
                f"You have made {REQUESTS_PER_DAY} limit requests in the last day; wait for the admins."
            )
        return channels

    async def _post(self, row: LimitRequest, view: RequestView, channels: list[Subscription]) -> list[str]:
        """Post the request once in each channel (the ledger's key); the channels it reached."""
        assert row.id is not None
        posted = []
        for subscription in channels:
            claim = self._claim(row.team_id, subscription.channel_id, subscription.id, row.id)
            claimed = await self._ledger.claim(claim, request_message(view))
            if claimed is not None and (await self._ledger.post([claimed], request_message(view))).ok:
                posted.append(subscription.channel_id)
        if not posted:
            raise ServiceError(
                f"Request #{row.id} is stored, but I could not post it to the requests channel; an admin "
                "should check `/spend deliveries`."
            )
        return posted

    async def _connection_for(self, team_id: str, email: str, command: RequestLimit) -> Connection:
        """The connection whose limit is asked for: the one named, else the one writable tool the person
        has a seat on."""
        team = await self._connections.for_team(team_id)
        every = [row for row in team if traits(row.vendor).writable_limit is not LimitKind.NONE]
        source = command.source
        if source is not None:
            every = [row for row in team if row.vendor == source.vendor or row.name == source.connection]
            if not every:
                raise NotFound(
                    f"There is no `{source.token}` connection in this workspace.", wrong_input=True
                )
            if all(traits(row.vendor).writable_limit is LimitKind.NONE for row in every):
                raise ServiceError(
                    f"spendbot cannot change a limit on `{source.token}`: limits can be asked for on Cursor "
                    "and Anthropic (a spend limit) and Windsurf (a credit cap).",
                    wrong_input=True,
                )
        ids = [row.id for row in every if row.id is not None]
        holders = await self._records.connections_with_member(ids, email) if ids else set()
        mine = [row for row in every if row.id in holders]
        if len(mine) == 1:
            return mine[0]
        if not mine:
            tools = ", ".join(f"`{row.name}`" for row in every) or "none here"
            raise NotFound(
                f"Your Slack email {email} has no seat on a tool whose limit can be raised ({tools}), as of "
                "the last sync."
            )
        names = ", ".join(f"`{row.name}`" for row in mine)
        raise ServiceError(
            f"You have a seat on {names}: say which, e.g. `request-limit {command.amount} {mine[0].name}`.",
            wrong_input=True,
        )

    async def _current(
        self, team_id: str, connection: Connection, email: str, amount: int
    ) -> tuple[str, str | None]:
        """What the person has now, as the admins should see it beside the request (the last sync's)."""
        if traits(connection.vendor).writable_limit is LimitKind.SPEND_LIMIT:
            # The member's cycle row holds both their limit and their spend (what plan_limit reads).
            assert connection.id is not None
            _, row = await self._records.membership(connection.id, email)
            if row is None:
                return current_limit(None, known=False), None
            return current_limit(row.limit_cents, known=True), f"${row.total / 100:,.2f} spent this cycle"
        cap = await self._writes.plan_cap(team_id, email, amount, connection_name=connection.name)
        return ("no cap" if cap.current is None else f"{cap.current:,} credits"), None

    # ----- deciding ----------------------------------------------------------------------------------

    async def approve(self, team_id: str, admin_id: str, request_id: int) -> LimitRequest:
        """Apply the request at the vendor, once; the caller checked the admin right."""
        row = await self._request(team_id, request_id)
        now = self._clock()
        taken = await self._store.move(request_id, "pending", "applying", decided_by=admin_id, decided_at=now)
        if not taken and row.state == "applying" and row.decided_at and now - row.decided_at >= STUCK_AFTER:
            taken = await self._store.move(
                request_id, "applying", "applying", decided_by=admin_id, decided_at=now
            )
        if not taken:
            raise AlreadyDecided(_already(await self._request(team_id, request_id)))
        amount = int(row.amount)
        change: LimitChange | CapChange
        if row.unit == "usd":
            change = LimitChange(row.connection, row.email, amount, token=new_token())
        else:
            change = CapChange(row.connection, row.email, amount, token=new_token())
        try:
            answer = await self._writes.apply(team_id, admin_id, change)
        except ServiceError:
            await self._store.move(request_id, "applying", "pending", decided_by=None, decided_at=None)
            raise
        await self._store.move(request_id, "applying", "approved")
        decided = await self._request(team_id, request_id)
        await self._announce(decided, approved_outcome(admin_id, answer))
        return decided

    async def deny(self, team_id: str, admin_id: str, request_id: int, note: str | None) -> LimitRequest:
        """Refuse the request with ``note`` (told to the person); the caller checked the admin right."""
        await self._request(team_id, request_id)
        note = (note or "").strip()[:300] or None
        if not await self._store.move(
            request_id, "pending", "denied", decided_by=admin_id, decided_at=self._clock(), decision_note=note
        ):
            raise AlreadyDecided(_already(await self._request(team_id, request_id)))
        decided = await self._request(team_id, request_id)
        target = f"{decided.connection}: {decided.email} -> {int(decided.amount)}"
        await self._audit.record(team_id, admin_id, "deny-limit-request", target, "ok", note)
        await self._announce(decided, denied_outcome(admin_id, note))
        return decided

    async def _request(self, team_id: str, request_id: int) -> LimitRequest:
        row = await self._store.get(team_id, request_id)
        if row is None:
            raise NotFound("This request is not valid any more.")
        return row

    async def _announce(self, row: LimitRequest, outcome: str) -> None:
        """Edit every posted copy to show the decision, and tell the person who asked."""
        assert row.id is not None
        view = _view(row, None, None)
        decided = decided_message(view, outcome)
        for subscription in await self._subscriptions.request_channels(row.team_id):
            posted = await self._ledger.find(
                self._claim(row.team_id, subscription.channel_id, subscription.id, row.id).key
            )
            if posted is not None and posted.message_ts:
                await self._ledger.update(row.team_id, subscription.channel_id, posted.message_ts, decided)
        await self._tell(row.team_id, row.requester_id, requester_news(view, outcome))

    async def _tell(self, team_id: str, user_id: str, text: str) -> None:
        """A direct message, sent once (no blind retry); a failure is logged, the decision stands."""
        try:
            channel = await self._slack.open_dm(team_id, user_id)
            await self._slack.call(team_id, "chat.postMessage", once=True, channel=channel, text=text)
        except (SlackApiError, SlackOutcomeUnknown, SlackUnavailable) as error:
            log.warning("could not tell %s about their limit request: %s", user_id, type(error).__name__)

    @staticmethod
    def _claim(team_id: str, channel_id: str, subscription_id: int | None, request_id: int) -> Claim:
        period = str(request_id)
        key = key_for(team_id, channel_id, subscription_id, "request", period)
        return Claim(key, team_id, channel_id, subscription_id, "request", period)


def _view(row: LimitRequest, current: str | None, spent: str | None) -> RequestView:
    assert row.id is not None
    return RequestView(
        request_id=row.id,
        requester_id=row.requester_id,
        email=row.email,
        connection=row.connection,
        vendor=row.vendor,
        amount=int(row.amount),
        unit=row.unit,
        reason=row.reason,
        current=current,
        spent=spent,
    )


def _already(row: LimitRequest) -> str:
    who = f"<@{row.decided_by}>" if row.decided_by else "an admin"
    if row.state == "approved":
        return f"Request #{row.id} was approved already, by {who}: nothing was changed again."
    if row.state == "denied":
        return f"Request #{row.id} was denied already, by {who}."
    return f"Request #{row.id} is being applied by {who} right now."
