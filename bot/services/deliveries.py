"""The delivery ledger: every scheduled post is claimed in the database before Slack is called.

A post's idempotency key (workspace, channel, subscription, kind, period or level) is inserted under a
unique constraint first; only the process whose insert succeeds posts, so a restart or a second
replica never posts twice. Slack takes no idempotency key, so the message carries the key in its
metadata; a row left ``posting`` by a crash is settled later by looking for that metadata in the
channel's recent history: found means sent (we record its ``ts``), not found means post it now. A kill
between Slack's answer and our commit therefore neither loses nor doubles a post.

Posting is paced under Slack's limits (about one message a second per channel, and a per-workspace
rate), honours ``Retry-After``, and pauses a subscription whose channel is gone, archived or closed
to the bot instead of retrying for ever.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.messages.message import Message
from bot.messages.subscriptions import DeliveryLine
from bot.metrics import Metrics
from bot.services.clock import Clock
from bot.services.shared_pace import SharedPace
from bot.services.slack_api import (
    PERMANENT_ERRORS,
    SlackApi,
    SlackOutcomeUnknown,
    SlackUnavailable,
    error_code,
    retry_after,
)
from bot.store.deliveries import DeliveryRepository, DeliveryState
from bot.store.models import Delivery
from bot.vendors.limiter import LimiterRegistry, RatePolicy

log = logging.getLogger(__name__)

METADATA_EVENT = "spendbot_delivery"
PAUSING_ERRORS = {
    "channel_not_found": "the channel no longer exists",
    "not_in_channel": "the bot is not in the channel (invite it with /invite @spendbot)",
    "is_archived": "the channel is archived",
}
MAX_ATTEMPTS = 3
"""Posts whose outcome Slack left unknown (a 500, a dropped answer) are tried this often at once, each
after a look in the history; then with backoff (``FIRST_BACKOFF`` doubling up to ``MAX_BACKOFF``) while
the post is due. Only a permanent error, or the end of its due time, fails a post."""
POST_WAIT_SECONDS = 45.0
"""The most a post waits out Slack's 429s in place; a longer ``Retry-After`` delays it (``retry_due``)."""
DUE_FOR = timedelta(hours=24)
"""How long a post without a due time of its own (an alert, a request) stays worth making."""
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(minutes=10)
"""A post that met a passing error is tried again after 30 s, doubling up to 10 minutes."""
SETTLE_AFTER = timedelta(seconds=100)
"""Longer than any post can take (its waits, then one attempt of at most 30 s), so a live post is never
settled by another process."""
SETTLE_SOON = timedelta(seconds=15)
"""A post whose attempt ended without an answer (a 500, a dropped connection) is looked for this soon:
nothing is in flight for it, and Slack shows a posted message in the history at once."""
WORKSPACE_POSTS_PER_MINUTE = 300
CHANNEL_POSTS_PER_SECOND = 1
CLOCK_SKEW = timedelta(seconds=120)
"""Slack's clock against ours, on each side of the window a post can be in."""


@dataclass(frozen=True)
class HistoryPacing:
    """How fast, and how many messages a call, ``conversations.history`` may be read to settle posts."""

    policy: RatePolicy
    page: int


INTERNAL_HISTORY = HistoryPacing(RatePolicy(50, timedelta(minutes=1)), 200)
"""An app a company creates and installs in its own workspace (spendbot with a bot token): Tier 3, 50
calls a minute per workspace, pages of up to 999 (Slack advises no more than 200). Slack's 2025 limits
for apps outside the Marketplace do not apply to internal apps."""
DISTRIBUTED_HISTORY = HistoryPacing(RatePolicy(1, timedelta(minutes=1)), 15)
"""An app distributed to other workspaces outside the Slack Marketplace (spendbot installed by OAuth):
since 2025 one call a minute per workspace, and at most (and by default) 15 messages a call."""
HISTORY_PAGES = 10


def history_pacing(distributed: bool) -> HistoryPacing:
    """The ``conversations.history`` limits Slack applies to this install (OAuth means distributed)."""
    return DISTRIBUTED_HISTORY if distributed else INTERNAL_HISTORY


@dataclass(frozen=True)
class Claim:
    """A key to post, and what to post under it."""

    key: str
    team_id: str
    channel_id: str
    subscription_id: int | None
    kind: str
    period: str
    late: bool = False
    due_until: datetime | None = None
    """Until when the post is worth making (a digest: its local day's end); None: ``DUE_FOR``."""


@dataclass(frozen=True)
class PostResult:
    ok: bool
    ts: str | None = None
    error: str | None = None
    paused: bool = False
    retry_at: datetime | None = None
    """Set when the post was delayed: when it is tried again."""


def backoff(attempts: int) -> timedelta:
    """The wait before trying again a post that met a passing error for the ``attempts``-th time."""
    wait: timedelta = FIRST_BACKOFF * 2 ** max(attempts - 1, 0)
    return min(wait, MAX_BACKOFF)


def key_for(team_id: str, channel_id: str, subscription_id: int | None, kind: str, period: str) -> str:
    """The idempotency key of a scheduled post (kept under the column's 255 characters)."""
    key = f"{team_id}:{channel_id}:{subscription_id or '-'}:{kind}:{period}"
    return key if len(key) <= 255 else key[:200] + ":" + str(abs(hash(key)))


class DeliveryLedger:
    """Claims, posts and settles scheduled posts; see the module docstring."""

    def __init__(
        self,
        store: DeliveryRepository,
        slack: SlackApi,
        *,
        clock: Clock,
        metrics: Metrics,
        pacing: LimiterRegistry | None = None,
        shared: SharedPace | None = None,
        settle_after: timedelta = SETTLE_AFTER,
        workspace_per_minute: int = WORKSPACE_POSTS_PER_MINUTE,
        history: HistoryPacing = INTERNAL_HISTORY,
    ) -> None:
        self._store = store
        self._slack = slack
        self._clock = clock
        self._metrics = metrics
        self._pacing = pacing or LimiterRegistry()
        self._shared = shared
        self._settle_after = settle_after
        self._history = history
        self._workspace_policy = RatePolicy(workspace_per_minute, timedelta(minutes=1))
        self._holds: dict[str, datetime] = {}
        """Per workspace, until when Slack asked (a 429's ``Retry-After``) that nothing be posted."""
        self._channel_policy = RatePolicy(CHANNEL_POSTS_PER_SECOND, timedelta(seconds=1))

    # ----- claiming ----------------------------------------------------------------------------------

    async def claim(
        self, claim: Claim, message: Message, *, keys: Sequence[str] | None = None
    ) -> Delivery | None:
        """Insert the ledger row for ``claim``; None when the key was claimed before (by anyone)."""
        now = self._clock()
        row = Delivery(
            idempotency_key=claim.key,
            team_id=claim.team_id,
            channel_id=claim.channel_id,
            subscription_id=claim.subscription_id,
            kind=claim.kind,
            period=claim.period,
            state=DeliveryState.POSTING,
            late=claim.late,
            created_at=now,
            updated_at=now,
            due_until=claim.due_until or now + DUE_FOR,
            payload={"text": message.text, "blocks": message.blocks, "keys": list(keys or [claim.key])},
        )
        return row if await self._store.claim(row) else None

    async def skip(self, claim: Claim, reason: str) -> None:
        """Record a post that will not be made (a digest missed while down), so ``deliveries`` shows it."""
        message = Message(reason, [])
        row = await self.claim(claim, message)
        if row is None:
            return
        await self._store.mark_skipped(row.id, DeliveryState.SKIPPED, reason)
        self._metrics.deliveries.labels(kind=claim.kind, outcome="skipped").inc()

    async def retry(self, row: Delivery, message: Message) -> None:
        """Put a failed row back to ``posting`` with a new message (the caller posts it next)."""
        await self._store.mark_posting(
            row.id,
            DeliveryState.POSTING,
            self._clock(),
            message={"text": message.text, "blocks": message.blocks},
        )

    async def find(self, key: str) -> Delivery | None:
        return await self._store.by_key(key)

    # ----- posting -----------------------------------------------------------------------------------

    async def post(
        self, rows: Sequence[Delivery], message: Message, *, thread_ts: str | None = None
    ) -> PostResult:
        """Post one message for the claimed ``rows`` (several alerts may share it) and record the outcome."""
        if not rows:
            return PostResult(False, error="nothing claimed")
        first = rows[0]
        keys = [row.idempotency_key for row in rows]
        arguments: dict[str, Any] = {
            "channel": first.channel_id,
            "text": message.text,
            "blocks": message.blocks,
            "metadata": {"event_type": METADATA_EVENT, "event_payload": {"keys": keys}},
            "unfurl_links": False,
        }
        if thread_ts is not None:
            arguments["thread_ts"] = thread_ts
        if (held := await self._wait_for_hold(first.team_id)) is not None:
            return await self._delayed(rows, "ratelimited", held)
        await self._pace(first.team_id, first.channel_id)
        try:
            response = await self._slack.call(
                first.team_id, "chat.postMessage", once=True, within=POST_WAIT_SECONDS, **arguments
            )
        except SlackApiError as error:
            return await self._refused(rows, error)
        except SlackOutcomeUnknown as error:
            return await self._unknown(rows, str(error))
        except SlackUnavailable as error:  # not sent at all (Slack unreachable): a passing error
            return await self._delayed(rows, str(error), self._clock() + backoff(first.attempts + 1))
        ts = str(response.get("ts"))
        await self._sent(rows, ts)
        return PostResult(True, ts=ts)

    async def _refused(self, rows: Sequence[Delivery], error: SlackApiError) -> PostResult:
        """Slack answered no: a 429 holds every post to the workspace for its ``Retry-After``; a
        permanent error fails the post; any other waits its backoff and is tried again."""
        code = error_code(error) or f"HTTP {error.response.status_code}"
        now = self._clock()
        if error.response.status_code == 429:
            until = now + timedelta(seconds=retry_after(error.response.headers))
            team_id = rows[0].team_id
            self._holds[team_id] = max(until, self._holds.get(team_id, until))
            return await self._delayed(rows, code, until)
        if code in PERMANENT_ERRORS:
            return await self._failed(rows, code)
        return await self._delayed(rows, code, now + backoff(rows[0].attempts + 1))

    async def _wait_for_hold(self, team_id: str) -> datetime | None:
        """Wait out a short hold on the workspace's posts; a long one's end is returned (not waited)."""
        until = self._holds.get(team_id)
        if until is None:
            return None
        left = (until - self._clock()).total_seconds()
        if left <= 0:
            del self._holds[team_id]
            return None
        if left > POST_WAIT_SECONDS:
            return until
        await asyncio.sleep(left)
        return None

    async def _pace(self, team_id: str, channel_id: str) -> None:
        await self._take(team_id, "workspace", self._workspace_policy)
        await self._pacing.get(f"slack:{team_id}", f"channel:{channel_id}", self._channel_policy).take()

    async def _take(self, team_id: str, what: str, policy: RatePolicy) -> None:
        """A slot of one of the workspace's allowances: shared with the other replicas through the
        database when ``shared`` was given, else this process's own."""
        if self._shared is not None:
            await self._shared.take(f"slack:{team_id}:{what}", policy)
        else:
            await self._pacing.get(f"slack:{team_id}", what, policy).take()

    async def _sent(self, rows: Sequence[Delivery], ts: str) -> None:
        await self._record(rows, DeliveryState.SENT, ts=ts)

    async def _failed(self, rows: Sequence[Delivery], code: str) -> PostResult:
        """Permanent errors, and passing ones that outlasted the retries, end this attempt."""
        reason = PAUSING_ERRORS.get(code)
        await self._record(rows, DeliveryState.FAILED, error=code, pause=reason)
        log.warning("a scheduled post to %s failed: %s", rows[0].channel_id, code)
        return PostResult(False, error=code, paused=reason is not None)

    async def _delayed(self, rows: Sequence[Delivery], reason: str, until: datetime) -> PostResult:
        """Slack held the post back, or it met a passing error: it waits until ``until``, then is tried
        again while it is due (:meth:`retry_due`). ``deliveries`` shows it as delayed meanwhile."""
        await self._record(rows, DeliveryState.DELAYED, error=reason, retry_at=until)
        log.info(
            "a scheduled post to %s is delayed until %s: %s", rows[0].channel_id, f"{until:%H:%M:%S}", reason
        )
        return PostResult(False, error=reason, retry_at=until)

    async def _unknown(self, rows: Sequence[Delivery], reason: str) -> PostResult:
        """Slack may have posted: the rows stay ``posting`` and :meth:`settle` looks in the history later."""
        await self._record(rows, DeliveryState.POSTING, error=reason)
        log.warning(
            "a scheduled post to %s may not have gone out (%s); settling it later", rows[0].channel_id, reason
        )
        return PostResult(False, error=reason)

    async def _record(
        self,
        rows: Sequence[Delivery],
        state: str,
        *,
        ts: str | None = None,
        error: str | None = None,
        pause: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        """Record one attempt's outcome on ``rows``; ``pause`` stops their subscriptions with that reason."""
        written = await self._store.record_attempt(
            rows, state, self._clock(), ts=ts, error=error, pause=pause, retry_at=retry_at
        )
        if state != DeliveryState.POSTING:
            for stored in written:
                self._metrics.deliveries.labels(kind=stored.kind, outcome=state).inc()

    async def update(self, team_id: str, channel_id: str, ts: str, message: Message) -> bool:
        """Edit a posted message (an alert resolved in place); False when Slack refused."""
        try:
            await self._slack.call(
                team_id, "chat.update", channel=channel_id, ts=ts, text=message.text, blocks=message.blocks
            )
        except (SlackApiError, SlackUnavailable) as error:
            log.warning("could not update message %s in %s: %s", ts, channel_id, error)
            return False
        return True

    async def retry_due(self) -> int:
        """Post again the delayed rows whose time has come; those no longer due fail, saying so."""
        now = self._clock()
        retried = 0
        for row in await self._store.delayed_until(DeliveryState.DELAYED, now):
            if row.due_until is not None and now >= row.due_until:
                await self._failed([row], f"{row.error or 'delayed'}; no longer due")
                continue
            if not row.payload:
                continue
            await self._mark_posting(row)
            await self.post([row], _message_of(row))
            retried += 1
        return retried

    async def _mark_posting(self, row: Delivery) -> None:
        await self._store.mark_posting(row.id, DeliveryState.POSTING, self._clock())

    # ----- settling after a crash --------------------------------------------------------------------

    async def settle(self, *, older_than: timedelta | None = None) -> int:
        """Settle rows left ``posting`` (by a crash): found in the channel's history → sent, else post now.

        Only rows untouched for ``older_than`` are settled, so a live replica's post in progress is left
        alone; a row whose last attempt ended without an answer is settled after ``SETTLE_SOON``, since
        nothing is in flight for it. Rows that shared one message are settled together.
        """
        now = self._clock()
        cutoff = now - (self._settle_after if older_than is None else older_than)
        ended = now - (SETTLE_SOON if older_than is None else older_than)
        rows = await self._store.in_state_untouched_since(DeliveryState.POSTING, cutoff, ended_cutoff=ended)
        settled = 0
        groups: dict[tuple[str, str, tuple[str, ...]], list[Delivery]] = {}
        for row in rows:
            keys = tuple((row.payload or {}).get("keys") or [row.idempotency_key])
            groups.setdefault((row.team_id, row.channel_id, keys), []).append(row)
        for (team_id, channel_id, keys), members in groups.items():
            if not await self._take_over(members):
                continue  # another replica is settling them
            try:
                found = await self._find_in_history(team_id, channel_id, set(keys), members)
            except SlackApiError as error:
                code = error_code(error) or ""
                if code in PERMANENT_ERRORS:
                    # The channel is gone (or the bot shut out): nothing will post there, so the rows
                    # fail with the reason, and a channel error pauses their subscriptions.
                    await self._failed(members, code)
                    settled += len(members)
                    continue
                log.warning("could not read the history of %s to settle deliveries: %s", channel_id, code)
                continue
            except SlackUnavailable as error:
                # Not knowing is not "not posted": leave them for the next settle rather than risk a double.
                log.warning("could not read the history of %s to settle deliveries: %s", channel_id, error)
                continue
            if found is not None:
                await self._sent(members, found)
                log.info(
                    "settled %d delivery(ies) in %s: already posted as %s", len(members), channel_id, found
                )
            elif (tries := min(row.attempts for row in members)) >= MAX_ATTEMPTS:
                # Slack keeps failing without posting: a passing error, so the post waits with backoff
                # while it is due (retry_due fails it, saying so, once it is not).
                retry_at = now + backoff(tries - MAX_ATTEMPTS + 1)
                await self._delayed(members, members[0].error or "no answer from Slack", retry_at)
            else:
                await self.post(members, _message_of(members[0]))
                log.info("settled %d delivery(ies) in %s: posted now", len(members), channel_id)
            settled += len(members)
        return settled

    async def _take_over(self, rows: Sequence[Delivery]) -> bool:
        """Claim the settling of ``rows`` (compare-and-set on ``updated_at``), so one process settles them."""
        return await self._store.take_over(rows, DeliveryState.POSTING, self._clock())

    async def _find_in_history(
        self, team_id: str, channel_id: str, keys: set[str], rows: Sequence[Delivery]
    ) -> str | None:
        """The ``ts`` of a message in the channel whose metadata carries one of ``keys``, if any.

        Only the few minutes a post of these rows can be in are read: from ``SETTLE_AFTER`` before the
        rows were last touched (an answer lost after a post of up to that long) to ``SETTLE_AFTER`` after
        (a crash during the post that followed), never before the claim, each page paced under the
        workspace's history limit (see :func:`history_pacing`). Raises when the history cannot be read,
        or holds more than we read: the caller must not take that for "not posted".
        """
        touched = [row.updated_at for row in rows]
        start = max(min(row.created_at for row in rows), min(touched) - self._settle_after)
        end = min(self._clock(), max(touched) + self._settle_after)
        arguments: dict[str, Any] = {
            "channel": channel_id,
            "oldest": f"{(start - CLOCK_SKEW).timestamp():.6f}",
            "latest": f"{(end + CLOCK_SKEW).timestamp():.6f}",
            "inclusive": True,
            "limit": self._history.page,
            "include_all_metadata": True,
        }
        for _ in range(HISTORY_PAGES):
            await self._take(team_id, "conversations.history", self._history.policy)
            response = await self._slack.call(team_id, "conversations.history", **arguments)
            for message in response.get("messages") or []:
                metadata = message.get("metadata") or {}
                if metadata.get("event_type") != METADATA_EVENT:
                    continue
                carried = set((metadata.get("event_payload") or {}).get("keys") or [])
                if carried & keys:
                    return str(message.get("ts"))
            cursor = ((response.get("response_metadata") or {}).get("next_cursor")) or None
            if not response.get("has_more") or not cursor:
                return None
            arguments["cursor"] = cursor
        raise SlackUnavailable(f"more than {HISTORY_PAGES * self._history.page} messages to look through")

    # ----- reading -----------------------------------------------------------------------------------

    async def recent(self, team_id: str, limit: int = 20) -> list[Delivery]:
        return await self._store.recent(team_id, limit)

    async def lines(self, team_id: str, limit: int = 20) -> list[DeliveryLine]:
        """:meth:`recent` as ``deliveries`` lists it: newest first, each at the time it was claimed."""
        return [
            DeliveryLine(
                channel_id=row.channel_id,
                kind=row.kind,
                period=row.period,
                state=row.state,
                late=row.late,
                at=row.created_at,
                error=row.error,
                retry_at=row.retry_at,  # set only while a post is delayed
            )
            for row in await self.recent(team_id, limit)
        ]


def _message_of(row: Delivery) -> Message:
    payload = row.payload or {}
    return Message(str(payload.get("text") or ""), list(payload.get("blocks") or []))
