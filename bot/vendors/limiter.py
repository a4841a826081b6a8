"""Client-side rate limiting: pace every vendor call so the vendor never has to throttle us.

One :class:`LimiterRegistry` lives in the process and hands out one :class:`RateLimiter` per
(connection, endpoint class), so slash commands, scheduled jobs and manual syncs all draw from the same
budget. Each limiter is a *sliding log*: it remembers when each request started and never lets more than
``limit`` requests start within any ``window``. A slot is released only at ``start + window + margin``;
the margin (2% of the window, at least 5 ms) absorbs the spread of network latency, so however the
vendor counts (fixed or sliding window, from when it *received* each request) it never sees
``limit + 1``. A long backfill therefore runs at the full documented rate with no 429s.

Priorities: work started by a person runs inside :func:`interactive`; when a slot frees, interactive
waiters get it first. Background work is not held to a reserved share: it borrows the whole budget
while no interactive request waits. Within a priority, waiters are served first come, first served.

Feedback from the vendor: :meth:`RateLimiter.penalize` after a 429 (honour ``Retry-After``, else wait
for the window to roll, with jitter; fall back to the older, lower documented limit for good), and
:meth:`RateLimiter.note_remote_status` for ``X-RateLimit-*`` headers.

Time: windows are divided by the registry's ``time_scale`` (60 turns a per-minute limit into a
per-second one) so tests and benchmarks run the real algorithm quickly. Durations the vendor states
(``Retry-After``) are scaled the same way, being durations in the scaled world; absolute instants
(``X-RateLimit-Reset``) are real instants and are not.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = [
    "LimiterRegistry",
    "Patience",
    "RateLimiter",
    "RatePolicy",
    "Slot",
    "current_patience",
    "interactive",
    "is_interactive",
    "patience",
]

_INTERACTIVE: ContextVar[bool] = ContextVar("spendbot_vendor_interactive", default=False)

#: Share of the window added to each slot's life, and its floor in seconds (see the module docstring).
MARGIN_FRACTION = 0.02
MARGIN_FLOOR_SECONDS = 0.005


def release_margin(window: float) -> float:
    """How long after its window a slot is released (seconds): 2% of the window, at least 5 ms."""
    return max(window * MARGIN_FRACTION, MARGIN_FLOOR_SECONDS)


#: After a 429 without Retry-After we wait a window plus up to this share of a window, at random, so
#: that several replicas or connections blocked together do not all retry in the same instant.
PENALTY_JITTER_FRACTION = 0.10
#: Jitter added after an ``X-RateLimit-Reset`` instant, in seconds (its resolution is one second).
RESET_JITTER_SECONDS = 0.25


@contextlib.contextmanager
def interactive() -> Iterator[None]:
    """Mark the vendor calls made inside this block as started by a person (a slash command).

    A context variable, so it follows the task and any task it creates, and never leaks to others.
    """
    token = _INTERACTIVE.set(True)
    try:
        yield
    finally:
        _INTERACTIVE.reset(token)


def is_interactive() -> bool:
    """True inside :func:`interactive`."""
    return _INTERACTIVE.get()


@dataclass(slots=True)
class Patience:
    """How long the vendor calls of one piece of work may still wait, together, for the vendor's own
    rate limit (a 429's penalty, an exhausted ``X-RateLimit-Remaining``), in seconds of our clock.

    Pacing under our own limiter is not counted: that is the work going at the documented rate. Being
    held back by the vendor is, because with no bound a throttled key turns every sync into minutes of
    silent waiting while its data grows old and nothing says why.
    """

    seconds: float
    left: float
    covered_until: float = -math.inf
    """The instant (limiter clock) up to which waiting has been charged: the work's calls that wait
    together on one hold (pages fetched side by side) are charged for it once."""

    def spend(self, seconds: float, *, now: float = 0.0) -> bool:
        """Take the waiting until ``now + seconds`` not charged yet from what is left; False (nothing
        taken) when not enough is left."""
        until = now + seconds
        extra = until - max(now, self.covered_until)
        if extra <= 0:
            return True
        if extra > self.left:
            return False
        self.left -= extra
        self.covered_until = until
        return True


_PATIENCE: ContextVar[Patience | None] = ContextVar("spendbot_vendor_patience", default=None)


@contextlib.contextmanager
def patience(seconds: float) -> Iterator[Patience]:
    """Bound how long the calls inside this block wait on the vendor's rate limit, all together.

    A context variable holding one shared budget, so the tasks the block starts draw from it too. An
    inner block never grants more than an outer one has left.
    """
    outer = _PATIENCE.get()
    allowed = max(0.0, seconds if outer is None else min(seconds, outer.left))
    budget = Patience(allowed, allowed)
    token = _PATIENCE.set(budget)
    try:
        yield budget
    finally:
        _PATIENCE.reset(token)
        if outer is not None:
            outer.left = max(0.0, outer.left - (allowed - budget.left))


def current_patience() -> Patience | None:
    """The budget of the innermost :func:`patience` block; None outside any (wait as long as it takes)."""
    return _PATIENCE.get()


@dataclass(frozen=True, slots=True)
class RatePolicy:
    """A documented limit: ``limit`` requests per ``window``.

    ``fallback_limit`` is an older, lower documented figure to fall back to (permanently, for that
    limiter) after the vendor answers 429 while we pace at ``limit``.
    """

    limit: int
    window: timedelta
    fallback_limit: int | None = None

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError("a rate limit must allow at least one request")
        if self.window <= timedelta(0):
            raise ValueError("a rate-limit window must be positive")
        if self.fallback_limit is not None and self.fallback_limit < 1:
            raise ValueError("a fallback limit must allow at least one request")


class Slot:
    """The right to start one request, taken from a :class:`RateLimiter`.

    ``waited`` is how long the caller waited for it, in seconds of the limiter's clock.
    """

    __slots__ = ("_limiter", "_refunded", "started_at", "waited")

    def __init__(self, limiter: RateLimiter, started_at: float, waited: float) -> None:
        self._limiter = limiter
        self.started_at = started_at
        self.waited = waited
        self._refunded = False

    def refund(self) -> None:
        """Give the slot back: the request did not count toward the vendor's limit (an ETag 304)."""
        if not self._refunded:
            self._refunded = True
            self._limiter._refund(self.started_at)

    def __repr__(self) -> str:
        return f"Slot(started_at={self.started_at:.3f}, waited={self.waited:.3f})"


class RateLimiter:
    """A sliding-log limiter with interactive priority; see the module docstring.

    Use ``async with limiter.acquire() as slot:`` (or ``slot = await limiter.take()``) before starting
    each request. There is nothing to release: a slot frees itself once its window has passed.
    """

    def __init__(
        self,
        policy: RatePolicy,
        *,
        time_scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        name: str = "",
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.name = name
        self._clock = clock
        self._time_scale = time_scale
        self._starts: deque[float] = deque()
        self._blocked_until = -math.inf
        self._interactive: deque[object] = deque()
        self._background: deque[object] = deque()
        self._wakeups: list[asyncio.Future[None]] = []
        self.policy = policy
        self._window = policy.window.total_seconds() / time_scale
        self._margin = release_margin(self._window)
        self._base_limit = policy.limit
        self._remote_limit: int | None = None
        self.fell_back = False
        #: Seconds (of the limiter's clock) callers spent waiting for a slot, summed.
        self.waited_seconds_total = 0.0
        #: 429s met (calls to :meth:`penalize`).
        self.rate_limited_total = 0
        #: Requests started through this limiter, including refunded ones.
        self.requests_total = 0
        #: Slots given back because the request did not count (ETag 304s).
        self.refunded_total = 0

    def __repr__(self) -> str:
        return (
            f"RateLimiter({self.name!r}, limit={self.current_limit}, window={self.policy.window}, "
            f"used={self.used_in_window()})"
        )

    # ----------------------------------------------------------------------------------------------
    # Observable state

    @property
    def current_limit(self) -> int:
        """The limit we pace at now: the policy's, or its fallback after a 429, capped by what the
        vendor's ``X-RateLimit-Limit`` header last said when that is lower."""
        if self._remote_limit is None:
            return self._base_limit
        return min(self._base_limit, self._remote_limit)

    @property
    def window_seconds(self) -> float:
        """The window in seconds of the limiter's clock (already divided by the time scale)."""
        return self._window

    @property
    def waiting(self) -> int:
        """How many callers are waiting for a slot."""
        return len(self._interactive) + len(self._background)

    def used_in_window(self) -> int:
        """Requests started within the last window (what the vendor is counting against us now)."""
        now = self._clock()
        self._prune(now)
        return sum(1 for start in self._starts if start > now - self._window)

    def window_resets_in(self) -> float | None:
        """Seconds until the oldest request of the current window leaves it; None when none is in it."""
        now = self._clock()
        self._prune(now)
        in_window = [start for start in self._starts if start > now - self._window]
        if not in_window:
            return None
        return max(0.0, in_window[0] + self._window - now)

    def blocked_for(self) -> float:
        """Seconds every caller must still wait because of a 429 or an exhausted remote window."""
        return max(0.0, self._blocked_until - self._clock())

    def delay_until_free(self) -> float:
        """Seconds until a slot is free for the next caller, ignoring priorities (0 when free now)."""
        return self._delay(self._clock())

    # ----------------------------------------------------------------------------------------------
    # Taking slots

    def try_take(self) -> Slot | None:
        """Take a slot now if one is free and nobody waits ahead of us; never waits."""
        queue = self._interactive if is_interactive() else self._background
        if queue or (not is_interactive() and self._interactive):
            return None
        now = self._clock()
        if self._delay(now) > 0:
            return None
        return self._record(now, 0.0)

    async def take(self) -> Slot:
        """Wait for a slot (interactive callers first, FIFO within a priority) and take it.

        Cancelling the caller leaves the queue cleanly and lets the next waiter re-check.
        """
        loop = asyncio.get_running_loop()
        ticket = object()
        queue = self._interactive if is_interactive() else self._background
        queue.append(ticket)
        asked_at = self._clock()
        slept = False
        try:
            while True:
                now = self._clock()
                delay: float | None = None
                if self._is_next(ticket):
                    delay = self._delay(now)
                    if delay <= 0:
                        return self._record(now, now - asked_at if slept else 0.0)
                wakeup: asyncio.Future[None] = loop.create_future()
                self._wakeups.append(wakeup)
                slept = True
                try:
                    await asyncio.wait((wakeup,), timeout=delay)
                finally:
                    if not wakeup.done():
                        wakeup.cancel()
                        with contextlib.suppress(ValueError):
                            self._wakeups.remove(wakeup)
        finally:
            queue.remove(ticket)
            self._notify()

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[Slot]:
        """``async with limiter.acquire() as slot:`` wraps :meth:`take`; call ``slot.refund()`` for a 304."""
        slot = await self.take()
        yield slot

    # ----------------------------------------------------------------------------------------------
    # Feedback from the vendor

    def penalize(self, retry_after: float | None) -> None:
        """The vendor answered 429: stop everyone, and fall back to the older limit if there is one.

        With ``retry_after`` (seconds, from the vendor's ``Retry-After``) we wait exactly that; without,
        a whole window from now (the vendor's window has surely rolled by then) plus 0-10% jitter.
        """
        now = self._clock()
        self.rate_limited_total += 1
        if retry_after is not None and retry_after >= 0:
            until = now + retry_after / self._time_scale
        else:
            until = now + self._window + random.uniform(0, PENALTY_JITTER_FRACTION) * self._window
        self._blocked_until = max(self._blocked_until, until)
        fallback = self.policy.fallback_limit
        if fallback is not None and fallback < self._base_limit:
            self._base_limit = fallback
            self.fell_back = True
        self._notify()

    def note_remote_status(
        self,
        limit: int | None,
        remaining: int | None,
        reset_at: datetime | None,
        *,
        now: datetime | None = None,
    ) -> None:
        """Take in what the vendor's ``X-RateLimit-*`` headers said.

        ``remaining == 0`` blocks everyone until ``reset_at`` (plus a little jitter, as the header has
        one-second resolution). A header ``limit`` lower than ours is adopted (the plan is smaller than
        we were told) for as long as the headers say so; a later, higher one lifts it again, never above
        our own policy.
        """
        if limit is not None and limit > 0:
            self._remote_limit = limit
        if remaining is not None and remaining <= 0 and reset_at is not None:
            wall_now = now or datetime.now(UTC)
            seconds = (reset_at - wall_now).total_seconds()
            if seconds > 0:
                until = self._clock() + seconds + random.uniform(0, RESET_JITTER_SECONDS)
                self._blocked_until = max(self._blocked_until, until)
        self._notify()

    def reconfigure(self, policy: RatePolicy) -> None:
        """Adopt a new policy (the operator changed a declared quota); a fallback already taken stays."""
        if policy == self.policy:
            return
        self.policy = policy
        self._window = policy.window.total_seconds() / self._time_scale
        self._margin = release_margin(self._window)
        limit = policy.limit
        if self.fell_back and policy.fallback_limit is not None:
            limit = min(limit, policy.fallback_limit)
        self._base_limit = limit
        self._notify()

    # ----------------------------------------------------------------------------------------------
    # Internals

    def _prune(self, now: float) -> None:
        hold = self._window + self._margin
        while self._starts and self._starts[0] + hold <= now:
            self._starts.popleft()

    def _delay(self, now: float) -> float:
        self._prune(now)
        delay = max(0.0, self._blocked_until - now)
        excess = len(self._starts) - self.current_limit
        if excess >= 0:
            # The slot that frees next is the one whose release brings the count to limit - 1.
            delay = max(delay, self._starts[excess] + self._window + self._margin - now)
        return delay

    def _is_next(self, ticket: object) -> bool:
        if self._interactive:
            return self._interactive[0] is ticket
        return bool(self._background) and self._background[0] is ticket

    def _record(self, now: float, waited: float) -> Slot:
        self._starts.append(now)
        self.requests_total += 1
        self.waited_seconds_total += waited
        return Slot(self, now, waited)

    def _refund(self, started_at: float) -> None:
        with contextlib.suppress(ValueError):
            self._starts.remove(started_at)
            self.refunded_total += 1
        self._notify()

    def _notify(self) -> None:
        """Wake every waiter so each re-checks whether it is next and how long to sleep."""
        wakeups, self._wakeups = self._wakeups, []
        for wakeup in wakeups:
            if not wakeup.done():
                wakeup.set_result(None)


class LimiterRegistry:
    """The process's limiters, one per (connection key, endpoint class); see the module docstring."""

    def __init__(self, time_scale: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = time_scale
        self.clock = clock
        self._limiters: dict[tuple[str, str], RateLimiter] = {}

    def __repr__(self) -> str:
        return f"LimiterRegistry(time_scale={self.time_scale}, limiters={len(self._limiters)})"

    def get(self, connection_key: str, endpoint_class: str, policy: RatePolicy) -> RateLimiter:
        """The limiter for this connection and endpoint class, created on first use.

        A later call with a different policy reconfigures the same limiter (a declared quota changed),
        so callers that hold it keep pacing together.
        """
        key = (connection_key, endpoint_class)
        limiter = self._limiters.get(key)
        if limiter is None:
            limiter = RateLimiter(
                policy,
                time_scale=self.time_scale,
                clock=self.clock,
                name=f"{connection_key}/{endpoint_class}",
            )
            self._limiters[key] = limiter
        else:
            limiter.reconfigure(policy)
        return limiter

    def limiters(self) -> dict[tuple[str, str], RateLimiter]:
        """Every limiter by (connection key, endpoint class), for metrics and headroom reports."""
        return dict(self._limiters)

    def forget(self, connection_key: str) -> None:
        """Drop a connection's limiters (it was disconnected)."""
        for key in [key for key in self._limiters if key[0] == connection_key]:
            del self._limiters[key]

    def scaled(self, seconds: float) -> float:
        """``seconds`` of vendor time in seconds of our clock."""
        return seconds / self.time_scale

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of vendor time (scaled); cancellable like any sleep."""
        await asyncio.sleep(max(0.0, self.scaled(seconds)))
