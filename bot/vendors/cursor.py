"""Cursor Admin and Analytics APIs, read into the normalised model.

Reference: ``shared/reference/cursor-api.md``. Every documented version of each payload is accepted
(section 10 there): members with no id, a numeric id or a ``user_…`` id; spend rows with or without
``overallSpendCents`` and the dollar limit fields; events priced by ``chargedCents`` or by
``tokenUsage.totalCents`` + ``cursorTokenFee``. Money is converted to Decimal cents here and nowhere
else; whole-dollar limits become cents.

Limits are per team per minute, one limiter per endpoint class (see :data:`CURSOR_LIMITS`). Where the
documents raised a limit over time we start at the newer figure and fall back to the older after a 429.
"""

from __future__ import annotations

import calendar
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from bot.domain.usage import (
    ActiveUsers,
    CycleSpend,
    CycleSpendReport,
    DailyActivity,
    Granularity,
    Member,
    ModelMessages,
    SpendRow,
    Unit,
    UsageEvent,
    Vendor,
)
from bot.vendors.base import (
    AuthStyle,
    ClientBase,
    ConnectionConfig,
    LimitSpec,
    RetryPolicy,
    TransportObserver,
    utc_now,
)
from bot.vendors.errors import SchemaError
from bot.vendors.limiter import LimiterRegistry, RatePolicy
from bot.vendors.pagination import pages_by_has_next_page, pages_by_total_pages
from bot.vendors.parsing import (
    EPOCH,
    ZERO,
    as_date,
    as_int,
    as_list,
    as_object,
    as_str,
    decimal_field,
    epoch_ms_to_datetime,
    int_field,
    optional_bool,
    optional_decimal,
    optional_str,
    schema_context,
)

__all__ = [
    "CURSOR_LIMITS",
    "CursorClient",
    "SpendRowAccumulator",
    "parse_cycle_spend_page",
    "parse_members",
    "parse_usage_event",
    "usage_event_windows",
]

_MINUTE = timedelta(minutes=1)

#: Endpoint classes and their documented limits (per team per minute).
CURSOR_LIMITS: Mapping[str, RatePolicy] = {
    # members, spend, daily-usage-data: "most endpoints" in every doc version
    "admin": RatePolicy(20, _MINUTE),
    # filtered-usage-events: 20 in the old docs, 60 in the newest
    "usage_events": RatePolicy(60, _MINUTE, fallback_limit=20),
    # user-spend-limit: 60 in the old docs and the seed, 250 in newer ones
    "spend_limit": RatePolicy(250, _MINUTE, fallback_limit=60),
    "analytics_team": RatePolicy(100, _MINUTE),
    "analytics_by_user": RatePolicy(50, _MINUTE),
}

#: The longest range one events or daily-usage request may cover.
MAX_WINDOW = timedelta(days=30)
#: ``tokenUsage`` counts whose sum is an event's tokens (cache reads and writes are input too).
TOKEN_FIELDS = ("inputTokens", "outputTokens", "cacheWriteTokens", "cacheReadTokens")
_HUNDRED = Decimal(100)
_QUARTER_HOUR = 15


# --------------------------------------------------------------------------------------------------
# Pure parsing, usable without a client (and tested against the documented examples)


def parse_members(body: Mapping[str, Any]) -> list[Member]:
    """``GET /teams/members``: every version of ``teamMembers``; ``isRemoved`` makes a member inactive."""
    members = []
    for raw in as_list(body.get("teamMembers"), "teamMembers"):
        item = as_object(raw, "teamMembers[]")
        raw_id = item.get("id")
        if raw_id is None:
            vendor_user_id = None
        elif isinstance(raw_id, str):
            vendor_user_id = raw_id
        else:
            vendor_user_id = str(as_int(raw_id, "teamMembers[].id"))
        removed = optional_bool(item, "isRemoved", "teamMembers[].isRemoved")
        members.append(
            Member(
                email=as_str(item.get("email"), "teamMembers[].email"),
                name=optional_str(item, "name", "teamMembers[].name"),
                role=optional_str(item, "role", "teamMembers[].role"),
                active=not removed,
                vendor_user_id=vendor_user_id,
            )
        )
    return members


def _dollars_to_cents(value: Decimal) -> Decimal:
    return value * _HUNDRED


def _member_limit_cents(item: Mapping[str, Any]) -> Decimal | None:
    """The limit actually enforced on a member, in cents; None when there is none.

    Newest docs: ``effectivePerUserLimitDollars`` is the enforced limit, derived from
    ``monthlyLimitDollars`` (null = no limit) and ``hardLimitOverrideDollars`` (0 = no override).
    An effective limit of 0 is read as "no limit" unless ``monthlyLimitDollars`` is an explicit 0,
    because teams without any limit would otherwise show everyone over a $0 limit.
    Older responses only carry ``hardLimitOverrideDollars``, used when positive.
    """
    prefix = "teamMemberSpend[]."
    effective = optional_decimal(
        item, "effectivePerUserLimitDollars", prefix + "effectivePerUserLimitDollars"
    )
    monthly = optional_decimal(item, "monthlyLimitDollars", prefix + "monthlyLimitDollars")
    override = decimal_field(item, "hardLimitOverrideDollars", prefix + "hardLimitOverrideDollars")
    if effective is not None and (effective > 0 or monthly == 0):
        return _dollars_to_cents(effective)
    if monthly is not None:
        return _dollars_to_cents(monthly)
    if override > 0:
        return _dollars_to_cents(override)
    return None


def parse_cycle_spend_row(raw: object) -> CycleSpend:
    """One ``teamMemberSpend`` row, in any documented version."""
    prefix = "teamMemberSpend[]."
    item = as_object(raw, "teamMemberSpend[]")
    spend = decimal_field(item, "spendCents", prefix + "spendCents")
    overall = optional_decimal(item, "overallSpendCents", prefix + "overallSpendCents")
    if overall is not None:
        # Newest semantics: overall is everything this cycle, spendCents the on-demand part of it.
        total, on_demand, fallback = overall, spend, False
    else:
        # Older responses: spendCents was the month's spend; we cannot split out on-demand.
        total, on_demand, fallback = spend, None, True
    return CycleSpend(
        user_email=as_str(item.get("email"), prefix + "email"),
        name=optional_str(item, "name", prefix + "name"),
        total_cents=total,
        on_demand_cents=on_demand,
        limit_cents=_member_limit_cents(item),
        total_is_fallback=fallback,
        premium_requests=int_field(item, "fastPremiumRequests", prefix + "fastPremiumRequests"),
    )


def parse_cycle_spend_page(body: Mapping[str, Any]) -> tuple[datetime | None, list[CycleSpend]]:
    """One page of ``POST /teams/spend``: the cycle start and its rows."""
    rows = [parse_cycle_spend_row(raw) for raw in as_list(body.get("teamMemberSpend", []), "teamMemberSpend")]
    start_raw = body.get("subscriptionCycleStart")
    cycle_start = None if start_raw is None else epoch_ms_to_datetime(start_raw, "subscriptionCycleStart")
    return cycle_start, rows


def _add_one_month(moment: datetime) -> datetime:
    """The same day and time one calendar month later, clamped to the month's last day."""
    year = moment.year + moment.month // 12
    month = moment.month % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def parse_usage_event(raw: object) -> UsageEvent:
    """One ``usageEvents`` item, priced in cents.

    Cost: ``chargedCents`` (newest, authoritative) if present; else ``tokenUsage.totalCents`` +
    ``cursorTokenFee`` (older docs: the dashboard total was the two added), either of which may be
    absent; else 0 and ``priced=False``.
    """
    prefix = "usageEvents[]."
    item = as_object(raw, "usageEvents[]")
    charged = optional_decimal(item, "chargedCents", prefix + "chargedCents")
    token_usage_raw = item.get("tokenUsage")
    token_usage = {} if token_usage_raw is None else as_object(token_usage_raw, prefix + "tokenUsage")
    tokens = sum(int_field(token_usage, name, f"{prefix}tokenUsage.{name}") for name in TOKEN_FIELDS)
    priced = True
    if charged is not None:
        cents = charged
    else:
        model_cost = optional_decimal(token_usage, "totalCents", prefix + "tokenUsage.totalCents")
        fee = optional_decimal(item, "cursorTokenFee", prefix + "cursorTokenFee")
        if model_cost is None and fee is None:
            cents, priced = ZERO, False
        else:
            cents = (model_cost or ZERO) + (fee or ZERO)
    email_raw = item.get("userEmail")
    if email_raw is not None:
        email = as_str(email_raw, prefix + "userEmail")
    else:
        # Newest docs: service-account and automation events may carry no person.
        account = item.get("serviceAccountName") or item.get("serviceAccountId")
        if account is None:
            raise SchemaError("missing", field=prefix + "userEmail")
        email = f"service-account:{as_str(account, prefix + 'serviceAccountName')}"
    kind = item.get("kind", item.get("kindLabel"))
    return UsageEvent(
        timestamp=epoch_ms_to_datetime(item.get("timestamp"), prefix + "timestamp"),
        user_email=email,
        model=optional_str(item, "model", prefix + "model") or "unknown",
        cents=cents,
        requests=decimal_field(item, "requestsCosts", prefix + "requestsCosts"),
        priced=priced,
        chargeable=optional_bool(item, "isChargeable", prefix + "isChargeable"),
        kind=None if kind is None else as_str(kind, prefix + "kind"),
        tokens=tokens,
    )


def _epoch_ms_ceiling(moment: datetime) -> int:
    """The first whole millisecond at or after ``moment`` (events carry millisecond timestamps)."""
    if moment.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    delta = moment - EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return -(-micros // 1000)


def usage_event_windows(start: datetime, end: datetime) -> list[tuple[int, int]]:
    """Split ``[start, end)`` into request windows of at most 30 days, as INCLUSIVE epoch-ms bounds.

    Each window ends one millisecond before the next begins, so an event on a boundary belongs to
    exactly one window (the newest docs say both bounds are inclusive).
    """
    first = _epoch_ms_ceiling(start)
    stop = _epoch_ms_ceiling(end)
    span = int(MAX_WINDOW.total_seconds() * 1000)
    windows = []
    while first < stop:
        last_exclusive = min(first + span, stop)
        windows.append((first, last_exclusive - 1))
        first = last_exclusive
    return windows


def _day_windows(start_day: date, end_day: date) -> list[tuple[date, date]]:
    """Inclusive day ranges of at most 30 days covering ``start_day..end_day``."""
    windows = []
    first = start_day
    while first <= end_day:
        last = min(first + timedelta(days=MAX_WINDOW.days - 1), end_day)
        windows.append((first, last))
        first = last + timedelta(days=1)
    return windows


def _day_start_ms(day: date) -> int:
    return _epoch_ms_ceiling(datetime(day.year, day.month, day.day, tzinfo=UTC))


def _quarter_hour(moment: datetime) -> datetime:
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % _QUARTER_HOUR, second=0, microsecond=0)


class SpendRowAccumulator:
    """Sums events into quarter-hour spend rows per (bucket, user, model) as they stream past.

    Only one running total per key is kept, never the events, so a million events cost a dict of a few
    thousand keys. ``requests`` on a row is the number of events (requests made); the request *units*
    Cursor bills on request-based plans stay on each :class:`UsageEvent`.
    """

    __slots__ = ("_totals",)

    def __init__(self) -> None:
        self._totals: dict[tuple[datetime, str, str], list[Any]] = {}

    def add(self, event: UsageEvent) -> None:
        key = (_quarter_hour(event.timestamp), event.user_email, event.model)
        total = self._totals.get(key)
        if total is None:
            self._totals[key] = [event.cents, 1, event.tokens]
        else:
            total[0] += event.cents
            total[1] += 1
            total[2] += event.tokens

    def extend(self, events: Iterable[UsageEvent]) -> None:
        for event in events:
            self.add(event)

    def __len__(self) -> int:
        return len(self._totals)

    def rows(self, *, ordered: bool = True) -> list[SpendRow]:
        """The rows so far, ordered by bucket, user and model unless ``ordered`` is False (cheaper)."""
        items = sorted(self._totals.items()) if ordered else self._totals.items()
        return [
            SpendRow(
                vendor=Vendor.CURSOR,
                bucket_start=bucket,
                granularity=Granularity.QUARTER_HOUR,
                user_email=email,
                model=model,
                amount=total[0],
                unit=Unit.USD_CENTS,
                requests=Decimal(total[1]),
                tokens=total[2],
            )
            for (bucket, email, model), total in items
        ]


def _activity_row(raw: object) -> DailyActivity:
    prefix = "data[]."
    item = as_object(raw, "data[]")
    if item.get("day") is not None:
        day = as_date(item["day"], prefix + "day")
    elif item.get("date") is not None:
        day = epoch_ms_to_datetime(item["date"], prefix + "date").date()
    else:
        day = as_date(None, prefix + "date")

    def count(key: str) -> int:
        return int_field(item, key, prefix + key)

    counters = {
        "agent_requests": count("agentRequests"),
        "chat_requests": count("chatRequests"),
        "composer_requests": count("composerRequests"),
        "cmdk_usages": count("cmdkUsages"),
        "bugbot_usages": count("bugbotUsages"),
        "tabs_accepted": count("totalTabsAccepted"),
        "lines_added": count("totalLinesAdded"),
        "accepted_lines_added": count("acceptedLinesAdded"),
        "included_requests": count("subscriptionIncludedReqs"),
        "usage_based_requests": count("usageBasedReqs"),
        "api_key_requests": count("apiKeyReqs"),
    }
    active = optional_bool(item, "isActive", prefix + "isActive")
    if active is None:
        # Older responses only listed active users and had no flag; any activity counts.
        active = any(value > 0 for value in counters.values()) or count("totalApplies") > 0
    return DailyActivity(
        day=day,
        user_email=as_str(item.get("email"), prefix + "email"),
        active=active,
        most_used_model=optional_str(item, "mostUsedModel", prefix + "mostUsedModel"),
        **counters,
    )


def _model_breakdown(day: date, raw: object, field: str, user_email: str | None) -> Iterator[ModelMessages]:
    breakdown = as_object(raw if raw is not None else {}, field)
    for model, stats_raw in breakdown.items():
        stats = as_object(stats_raw, f"{field}.<model>")
        yield ModelMessages(
            day=day,
            model=model,
            messages=int_field(stats, "messages", f"{field}.<model>.messages"),
            users=int_field(stats, "users", f"{field}.<model>.users"),
            user_email=user_email,
        )


# --------------------------------------------------------------------------------------------------
# The client


class CursorClient(ClientBase):
    """Cursor Admin and Analytics APIs for one team key (HTTP Basic, key as user name)."""

    vendor = Vendor.CURSOR

    auth = AuthStyle.BASIC

    def __init__(
        self,
        config: ConnectionConfig,
        *,
        http: httpx.AsyncClient,
        limiters: LimiterRegistry,
        clock: Callable[[], datetime] = utc_now,
        observer: TransportObserver | None = None,
        retry: RetryPolicy | None = None,
        spend_page_size: int = 100,
        daily_usage_page_size: int = 1000,
        analytics_page_size: int = 500,
    ) -> None:
        super().__init__(config, http=http, limiters=limiters, clock=clock, observer=observer, retry=retry)
        self._spend_page_size = spend_page_size
        self._daily_usage_page_size = daily_usage_page_size
        self._analytics_page_size = analytics_page_size

    def limit_classes(self, config: ConnectionConfig) -> dict[str, list[LimitSpec]]:
        return {name: [LimitSpec(name, policy)] for name, policy in CURSOR_LIMITS.items()}

    async def _post(self, path: str, body: Mapping[str, Any], endpoint_class: str) -> Mapping[str, Any]:
        response = await self.transport.request("POST", path, endpoint_class=endpoint_class, json=body)
        with schema_context(self.vendor.value, path):
            return as_object(response.data, "body")

    async def _get(
        self, path: str, params: Mapping[str, str | int], endpoint_class: str, *, conditional: bool = False
    ) -> Mapping[str, Any]:
        response = await self.transport.request(
            "GET", path, endpoint_class=endpoint_class, params=params, conditional=conditional
        )
        with schema_context(self.vendor.value, path):
            return as_object(response.data, "body")

    async def probe(self) -> None:
        """Validate the key with one cheap call (one member's row of ``POST /teams/spend``, a few hundred
        bytes, where the roster of a large team is megabytes); raises the typed errors. Every check of
        the alerts makes it, so a fault of Cursor's shows within a check, not at the next hourly sync."""
        path = "/teams/spend"
        body = await self._post(path, {"page": 1, "pageSize": 1}, "admin")
        with schema_context(self.vendor.value, path):
            parse_cycle_spend_page(body)

    async def members(self) -> list[Member]:
        """The team roster, removed members included (inactive)."""
        body = await self._get("/teams/members", {}, "admin")
        with schema_context(self.vendor.value, "/teams/members"):
            return parse_members(body)

    async def cycle_spend(self) -> CycleSpendReport:
        """Cycle-to-date spend and limit of every member, from every page of ``POST /teams/spend``."""
        path = "/teams/spend"

        async def fetch(page: int) -> Mapping[str, Any]:
            return await self._post(path, {"page": page, "pageSize": self._spend_page_size}, "admin")

        cycle_start: datetime | None = None
        rows: list[CycleSpend] = []
        with schema_context(self.vendor.value, path):
            async for body in pages_by_total_pages(fetch, items_key="teamMemberSpend"):
                page_start, page_rows = parse_cycle_spend_page(body)
                cycle_start = cycle_start or page_start
                rows.extend(page_rows)
        # The API returns only the cycle start; that a cycle lasts one calendar month is what public
        # clients assume, unconfirmed by the docs (reference section 2.4).
        cycle_end = None if cycle_start is None else _add_one_month(cycle_start)
        return CycleSpendReport(cycle_start=cycle_start, cycle_end=cycle_end, rows=tuple(rows))

    async def iter_usage_events(
        self, start: datetime, end: datetime, *, page_size: int = 1000
    ) -> AsyncIterator[list[UsageEvent]]:
        """Usage events in ``[start, end)``, one page at a time (a stream: nothing is kept).

        The range is split into windows of at most 30 days with inclusive millisecond bounds, and each
        event is also checked against its window, so no event is counted twice at a boundary even if
        the server's bounds were looser than documented.
        """
        if not 1 <= page_size <= 1000:
            raise ValueError("page_size must be between 1 and 1000")
        path = "/teams/filtered-usage-events"
        for first_ms, last_ms in usage_event_windows(start, end):
            window_start = EPOCH + timedelta(milliseconds=first_ms)
            window_end = EPOCH + timedelta(milliseconds=last_ms)

            async def fetch(page: int, first_ms: int = first_ms, last_ms: int = last_ms) -> Mapping[str, Any]:
                body = {"startDate": first_ms, "endDate": last_ms, "page": page, "pageSize": page_size}
                return await self._post(path, body, "usage_events")

            pages = pages_by_has_next_page(fetch, items_key="usageEvents", page_count_key="numPages")
            with schema_context(self.vendor.value, path):
                async for body in pages:
                    events = [
                        event
                        for event in map(
                            parse_usage_event, as_list(body.get("usageEvents", []), "usageEvents")
                        )
                        if window_start <= event.timestamp <= window_end
                    ]
                    if events:
                        yield events

    async def daily_usage(self, start_day: date, end_day: date) -> list[DailyActivity]:
        """Per person per UTC day activity for ``start_day..end_day`` (both included).

        Sent with ``page``/``pageSize`` so inactive members come back too (with ``isActive: false``).
        """
        path = "/teams/daily-usage-data"
        rows: list[DailyActivity] = []
        for first, last in _day_windows(start_day, end_day):
            start_ms = _day_start_ms(first)
            end_ms = _day_start_ms(last + timedelta(days=1)) - 1

            async def fetch(page: int, start_ms: int = start_ms, end_ms: int = end_ms) -> Mapping[str, Any]:
                body = {
                    "startDate": start_ms,
                    "endDate": end_ms,
                    "page": page,
                    "pageSize": self._daily_usage_page_size,
                }
                return await self._post(path, body, "admin")

            with schema_context(self.vendor.value, path):
                async for body in pages_by_has_next_page(fetch, items_key="data"):
                    for raw in as_list(body.get("data", []), "data"):
                        row = _activity_row(raw)
                        if first <= row.day <= last:
                            rows.append(row)
        return rows

    async def analytics_dau(self, start_date: date, end_date: date) -> list[ActiveUsers]:
        """Daily active users per UTC day (Analytics; ETag-conditional, 304s are free)."""
        path = "/analytics/team/dau"
        result: list[ActiveUsers] = []
        for first, last in _day_windows(start_date, end_date):
            body = await self._get(path, _analytics_dates(first, last), "analytics_team", conditional=True)
            with schema_context(self.vendor.value, path):
                for raw in as_list(body.get("data", []), "data"):
                    item = as_object(raw, "data[]")
                    result.append(
                        ActiveUsers(
                            day=as_date(item.get("date", item.get("event_date")), "data[].date"),
                            active_users=int_field(item, "dau", "data[].dau"),
                            cli_active_users=int_field(item, "cli_dau", "data[].cli_dau"),
                            cloud_agent_active_users=int_field(
                                item, "cloud_agent_dau", "data[].cloud_agent_dau"
                            ),
                            bugbot_active_users=int_field(item, "bugbot_dau", "data[].bugbot_dau"),
                        )
                    )
        return result

    async def analytics_models(self, start_date: date, end_date: date) -> list[ModelMessages]:
        """Messages per model per UTC day, team-wide (Analytics; ETag-conditional)."""
        path = "/analytics/team/models"
        result: list[ModelMessages] = []
        for first, last in _day_windows(start_date, end_date):
            body = await self._get(path, _analytics_dates(first, last), "analytics_team", conditional=True)
            with schema_context(self.vendor.value, path):
                for raw in as_list(body.get("data", []), "data"):
                    item = as_object(raw, "data[]")
                    day = as_date(item.get("date", item.get("event_date")), "data[].date")
                    result.extend(
                        _model_breakdown(day, item.get("model_breakdown"), "data[].model_breakdown", None)
                    )
        return result

    async def analytics_models_by_user(self, start_date: date, end_date: date) -> list[ModelMessages]:
        """Messages per model per UTC day for each person (Analytics by-user, paged by users)."""
        path = "/analytics/by-user/models"
        result: list[ModelMessages] = []
        for first, last in _day_windows(start_date, end_date):

            async def fetch(page: int, first: date = first, last: date = last) -> Mapping[str, Any]:
                params = {
                    **_analytics_dates(first, last),
                    "page": page,
                    "pageSize": self._analytics_page_size,
                }
                return await self._get(path, params, "analytics_by_user", conditional=True)

            with schema_context(self.vendor.value, path):
                async for body in pages_by_has_next_page(fetch, items_key="data"):
                    by_user = as_object(body.get("data", {}), "data")
                    for email, rows in by_user.items():
                        for raw in as_list(rows, "data.<email>"):
                            item = as_object(raw, "data.<email>[]")
                            day = as_date(item.get("date", item.get("event_date")), "data.<email>[].date")
                            result.extend(
                                _model_breakdown(
                                    day, item.get("model_breakdown"), "data.<email>[].model_breakdown", email
                                )
                            )
        return result

    async def set_user_spend_limit(self, email: str, dollars: int | None) -> str:
        """Set (whole dollars) or remove (None) a member's spend limit; returns Cursor's message.

        ``{"outcome": "error", ...}`` is raised as RequestRejected with Cursor's message.
        """
        if not email or "@" not in email:
            raise ValueError("a member's email is required")
        if dollars is not None and (isinstance(dollars, bool) or not isinstance(dollars, int) or dollars < 0):
            raise ValueError("a spend limit is a whole, non-negative number of dollars, or None")
        path = "/teams/user-spend-limit"
        body = await self._post(path, {"userEmail": email, "spendLimitDollars": dollars}, "spend_limit")
        message = body.get("message")
        return message if isinstance(message, str) else ""


def _analytics_dates(first: date, last: date) -> dict[str, str | int]:
    # Fixed YYYY-MM-DD dates: the docs say they cache (and revalidate) better than timestamps.
    return {"startDate": first.isoformat(), "endDate": last.isoformat()}
