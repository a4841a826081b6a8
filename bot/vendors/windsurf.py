"""Windsurf (Codeium) Enterprise API v1, read into the normalised model.

Reference: ``shared/reference/windsurf-api.md``. Every call is a POST with ``service_key`` in the JSON
body. Responses are protobuf-JSON: 64-bit counters arrive as strings and zero fields are omitted, so
every missing number is 0. Credit figures reported in hundredths (``promptsUsed``,
``promptCreditsUsed``, Custom Analytics ``prompts_used`` / ``flex_credits_used``) are divided by 100
here; ``GetTeamCreditBalance`` reports whole credits.

Windsurf publishes no numeric limit, so all endpoints share one limiter at the operator's pace
(``requests_per_minute``, 30 by default).

``userTableStats[].apiKey`` is, in the newest docs, the user's raw API key: it is a secret. It is only
ever hashed into an :class:`ApiKeyDirectory`, never stored, logged or returned.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.domain.usage import (
    CreditBalance,
    CreditPool,
    DailyLines,
    Granularity,
    Member,
    SpendRow,
    Unit,
    Vendor,
)
from bot.vendors.base import (
    AuthStyle,
    ClientBase,
)
from bot.vendors.errors import SchemaError
from bot.vendors.parsing import (
    ZERO,
    as_date,
    as_datetime,
    as_decimal,
    as_list,
    as_object,
    as_str,
    decimal_field,
    int_field,
    optional_moment,
    optional_str,
    schema_context,
)

__all__ = [
    "CASCADE_DATA_SOURCE",
    "ApiKeyDirectory",
    "WindsurfClient",
    "parse_cascade_runs",
    "parse_credit_balance_fields",
    "parse_usage_cap",
    "parse_user_table",
]

#: The one endpoint class: Windsurf documents no per-endpoint limits.
ENDPOINT_CLASS = "api"
#: Custom Analytics source with per-user per-day credits; undocumented (seen in Windsurf's samples).
CASCADE_DATA_SOURCE = "QUERY_DATA_SOURCE_CASCADE_DATA"
_HUNDRED = Decimal(100)
_APPROVED = "USER_TEAM_STATUS_APPROVED"
#: ``userTableStats[]`` times of last use; the latest is the person's last activity ("" for never).
LAST_USE_FIELDS = ("lastUpdateTime", "lastAutocompleteUsageTime", "lastChatUsageTime", "lastCommandUsageTime")


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _digest(api_key: str) -> bytes:
    return hashlib.sha256(api_key.encode()).digest()


class ApiKeyDirectory:
    """Which email a Windsurf user API key belongs to, holding only SHA-256 digests of the keys.

    Analytics rows name users by ``api_key`` (possibly the raw key); this resolves them to emails
    without the keys being kept anywhere a log line, a repr or a crash dump could show them.
    """

    __slots__ = ("_emails",)

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self._emails: dict[bytes, str] = {_digest(api_key): email for api_key, email in pairs}

    def email_for(self, api_key: str) -> str | None:
        """The email of the user with this key, None when unknown."""
        return self._emails.get(_digest(api_key))

    def __len__(self) -> int:
        return len(self._emails)

    def __repr__(self) -> str:
        return f"ApiKeyDirectory({len(self._emails)} users)"


def parse_user_table(body: Mapping[str, Any]) -> tuple[list[Member], ApiKeyDirectory, Decimal | None]:
    """``/UserPageAnalytics``: members, the key directory, and Σ ``promptCreditsUsed`` in credits.

    The credit sum is None when no row carries ``promptCreditsUsed`` (older doc versions had no such
    field; newer ones omit it when zero, which the caller's fallback also answers correctly).
    """
    members: list[Member] = []
    pairs: list[tuple[str, str]] = []
    used_hundredths = ZERO
    seen_credits = False
    for raw in as_list(body.get("userTableStats"), "userTableStats"):
        item = as_object(raw, "userTableStats[]")
        email = as_str(item.get("email"), "userTableStats[].email")
        status = optional_str(item, "teamStatus", "userTableStats[].teamStatus")
        members.append(
            Member(
                email=email,
                name=optional_str(item, "name", "userTableStats[].name"),
                role=optional_str(item, "role", "userTableStats[].role"),
                active=status is None or status in {_APPROVED, "APPROVED"},
                vendor_user_id=None,  # apiKey may be a raw user key: never an identifier we keep
                last_active_at=max(
                    (
                        moment
                        for key in LAST_USE_FIELDS
                        if (moment := optional_moment(item, key, f"userTableStats[].{key}")) is not None
                    ),
                    default=None,
                ),
            )
        )
        api_key = item.get("apiKey")
        if isinstance(api_key, str) and api_key:
            pairs.append((api_key, email))
        if "promptCreditsUsed" in item:
            seen_credits = True
            used_hundredths += decimal_field(item, "promptCreditsUsed", "userTableStats[].promptCreditsUsed")
    used = used_hundredths / _HUNDRED if seen_credits else None
    return members, ApiKeyDirectory(pairs), used


def parse_credit_balance_fields(
    body: Mapping[str, Any],
) -> tuple[Decimal, Decimal, Decimal, Decimal, datetime | None, datetime | None]:
    """``/GetTeamCreditBalance``: (seats, credits per seat, add-on available, add-on used, start, end).

    Numbers default to 0, but a body with neither seats nor cycle bounds is not a credit balance.
    """
    if not any(key in body for key in ("numSeats", "promptCreditsPerSeat", "billingCycleStart")):
        raise SchemaError("no seats, credits per seat or cycle start in the credit balance", field="numSeats")
    start_raw = body.get("billingCycleStart")
    end_raw = body.get("billingCycleEnd")
    return (
        decimal_field(body, "numSeats", "numSeats"),
        decimal_field(body, "promptCreditsPerSeat", "promptCreditsPerSeat"),
        decimal_field(body, "addOnCreditsAvailable", "addOnCreditsAvailable"),
        decimal_field(body, "addOnCreditsUsed", "addOnCreditsUsed"),
        None if start_raw is None else as_datetime(start_raw, "billingCycleStart"),
        None if end_raw is None else as_datetime(end_raw, "billingCycleEnd"),
    )


def _query_result(body: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """The ``queryResults`` element holding ``key`` (``cascadeRuns``...), found by key, not position.

    Elements that are entirely empty (protobuf-JSON omits empty results) mean no rows; any other
    element without the key means the shape changed.
    """
    results = as_list(body.get("queryResults"), "queryResults")
    for index, raw in enumerate(results):
        element = as_object(raw, f"queryResults[{index}]")
        if key in element:
            return as_object(element[key], f"queryResults[].{key}")
    if all(not element for element in results):
        return {}
    raise SchemaError("missing", field=f"queryResults[].{key}")


def parse_cascade_runs(body: Mapping[str, Any]) -> list[tuple[date, str, Decimal, Decimal]]:
    """``cascade_runs`` rows as (day, model, credits, messages); several rows may share a day/model."""
    runs = _query_result(body, "cascadeRuns")
    rows = []
    for raw in as_list(runs.get("cascadeRuns", []), "cascadeRuns.cascadeRuns"):
        item = as_object(raw, "cascadeRuns[]")
        rows.append(
            (
                as_date(item.get("day"), "cascadeRuns[].day"),
                optional_str(item, "model", "cascadeRuns[].model") or "unknown",
                decimal_field(item, "promptsUsed", "cascadeRuns[].promptsUsed") / _HUNDRED,
                decimal_field(item, "messagesSent", "cascadeRuns[].messagesSent"),
            )
        )
    return rows


def parse_usage_cap(body: Mapping[str, Any]) -> Decimal | None:
    """``/GetUsageConfig``: the cap under either spelling (``addOnCreditCap`` newer, ``add_on_credit_cap``
    older); ``{}`` means no cap at that scope."""
    for key in ("addOnCreditCap", "add_on_credit_cap"):
        value = body.get(key)
        if value is not None:
            return as_decimal(value, key)
    return None


def _scope(user_email: str | None, team: bool, group_id: str | None) -> dict[str, Any]:
    """Exactly one scope field, as ``/UsageConfig`` and ``/GetUsageConfig`` require."""
    scopes: dict[str, Any] = {}
    if user_email is not None:
        scopes["user_email"] = user_email
    if team:
        scopes["team_level"] = True
    if group_id is not None:
        scopes["group_id"] = group_id
    if len(scopes) != 1:
        raise ValueError("give exactly one of user_email, team=True or group_id")
    return scopes


class WindsurfClient(ClientBase):
    """Windsurf Enterprise API v1 for one service key."""

    vendor = Vendor.WINDSURF

    auth = AuthStyle.BODY

    endpoint_class = ENDPOINT_CLASS

    async def _post(
        self, path: str, body: Mapping[str, Any] | None = None, *, allow_empty: bool = False
    ) -> Mapping[str, Any]:
        response = await self.transport.request(
            "POST", path, endpoint_class=ENDPOINT_CLASS, json=body or {}, allow_empty=allow_empty
        )
        with schema_context(self.vendor.value, path):
            return as_object(response.data, "body")

    async def probe(self) -> None:
        """Validate the key with one cheap call.

        ``/GetTeamCreditBalance``: the smallest answer (no per-user rows, unlike
        ``/UserPageAnalytics``), and it needs Billing Read, which the credit figures the bot exists for
        need too, so a key that passes can serve the credit-low alert.
        """
        body = await self._post("/GetTeamCreditBalance")
        with schema_context(self.vendor.value, "/GetTeamCreditBalance"):
            parse_credit_balance_fields(body)

    async def _user_table(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> tuple[list[Member], ApiKeyDirectory, Decimal | None, Mapping[str, Any]]:
        request: dict[str, Any] = {}
        if start is not None:
            request["start_timestamp"] = _rfc3339(start)
        if end is not None:
            request["end_timestamp"] = _rfc3339(end)
        body = await self._post("/UserPageAnalytics", request)
        with schema_context(self.vendor.value, "/UserPageAnalytics"):
            members, directory, used = parse_user_table(body)
        return members, directory, used, body

    async def members(self) -> list[Member]:
        """Everyone on the team; only APPROVED (or status-less, older docs) members are active."""
        members, _, _, _ = await self._user_table()
        return members

    async def user_directory(self) -> ApiKeyDirectory:
        """The apiKey → email map of every user, holding key digests only (see the module docstring)."""
        _, directory, _, _ = await self._user_table()
        return directory

    async def credit_balance(self) -> CreditBalance:
        """The two credit pools of the current cycle.

        Prompt pool: seats × credits per seat; used = Σ ``promptCreditsUsed`` / 100 from
        ``/UserPageAnalytics`` over the cycle bounds (passed explicitly: right under both documented
        readings of its timestamps). Add-on pool: ``addOnCreditsAvailable`` with ``addOnCreditsUsed``
        used; we read "available" as the cycle's pool size (newest docs: "available for the current
        cycle"), so remaining = available − used.

        When no user row carries ``promptCreditsUsed`` (older doc versions), prompt-pool usage is
        Σ ``cascade_runs`` promptsUsed / 100 over the cycle minus the add-on credits used: cascade
        runs count every credit spent, and add-on credits are spent only once the prompt pool is gone.
        """
        balance = await self._post("/GetTeamCreditBalance")
        with schema_context(self.vendor.value, "/GetTeamCreditBalance"):
            seats, per_seat, add_on_size, add_on_used, start, end = parse_credit_balance_fields(balance)
        _, _, prompt_used, table = await self._user_table(start, end)
        if start is None or end is None:
            with schema_context(self.vendor.value, "/UserPageAnalytics"):
                start = start or _optional_datetime(table, "billingCycleStart")
                end = end or _optional_datetime(table, "billingCycleEnd")
        if prompt_used is None:
            prompt_used = await self._prompt_credits_from_runs(start, end, add_on_used)
        return CreditBalance(
            cycle_start=start,
            cycle_end=end,
            pools=(
                CreditPool(name="prompt", size=seats * per_seat, used=prompt_used),
                CreditPool(name="add-on", size=add_on_size, used=add_on_used),
            ),
            unit=Unit.CREDITS,
            observed_at=self._clock(),
        )

    async def _prompt_credits_from_runs(
        self, start: datetime | None, end: datetime | None, add_on_used: Decimal
    ) -> Decimal:
        if start is None or end is None:
            raise SchemaError(
                "cannot compute prompt credits used without the billing cycle bounds",
                field="billingCycleStart",
                vendor=self.vendor.value,
                endpoint="/GetTeamCreditBalance",
            )
        body = await self._cascade(start, end, [{"cascade_runs": {}}])
        with schema_context(self.vendor.value, "/CascadeAnalytics"):
            total = sum((credits for _, _, credits, _ in parse_cascade_runs(body)), ZERO)
        return max(total - add_on_used, ZERO)

    async def _cascade(
        self, start: datetime, end: datetime, query_requests: Sequence[Mapping[str, Any]]
    ) -> Mapping[str, Any]:
        return await self._post(
            "/CascadeAnalytics",
            {
                "start_timestamp": _rfc3339(start),
                "end_timestamp": _rfc3339(end),
                "query_requests": list(query_requests),
            },
        )

    async def team_daily_credits(self, start_day: date, end_day: date) -> list[SpendRow]:
        """Team credits per UTC day and model for ``start_day..end_day`` (both included).

        Σ ``cascade_runs`` promptsUsed / 100 per (day, model): one conversation and day may be split
        over several rows. ``requests`` is Σ messagesSent.
        """
        body = await self._cascade(
            _day_start(start_day), _day_start(end_day + timedelta(days=1)), [{"cascade_runs": {}}]
        )
        totals: dict[tuple[date, str], list[Decimal]] = {}
        with schema_context(self.vendor.value, "/CascadeAnalytics"):
            for day, model, credits, messages in parse_cascade_runs(body):
                if not start_day <= day <= end_day:
                    continue
                total = totals.setdefault((day, model), [ZERO, ZERO])
                total[0] += credits
                total[1] += messages
        return [
            SpendRow(
                vendor=Vendor.WINDSURF,
                bucket_start=_day_start(day),
                granularity=Granularity.DAY,
                user_email=None,
                model=model,
                amount=credits,
                unit=Unit.CREDITS,
                requests=messages,
            )
            for (day, model), (credits, messages) in sorted(totals.items())
        ]

    async def cascade_lines(self, start_day: date, end_day: date) -> list[DailyLines]:
        """Lines suggested and accepted per UTC day (``cascade_lines``), ``start_day..end_day``."""
        body = await self._cascade(
            _day_start(start_day), _day_start(end_day + timedelta(days=1)), [{"cascade_lines": {}}]
        )
        totals: dict[date, list[int]] = {}
        with schema_context(self.vendor.value, "/CascadeAnalytics"):
            lines = _query_result(body, "cascadeLines")
            for raw in as_list(lines.get("cascadeLines", []), "cascadeLines.cascadeLines"):
                item = as_object(raw, "cascadeLines[]")
                day = as_date(item.get("day"), "cascadeLines[].day")
                if not start_day <= day <= end_day:
                    continue
                total = totals.setdefault(day, [0, 0])
                total[0] += int_field(item, "linesSuggested", "cascadeLines[].linesSuggested")
                total[1] += int_field(item, "linesAccepted", "cascadeLines[].linesAccepted")
        return [DailyLines(day, suggested, accepted) for day, (suggested, accepted) in sorted(totals.items())]

    async def custom_query(
        self, query_requests: Sequence[Mapping[str, Any]], *, group_name: str | None = None
    ) -> list[list[dict[str, str]]]:
        """``/Analytics``: one list of result items per query, every value a string (as Windsurf sends).

        ``query_requests`` are passed through as documented (data_source, selections, filters,
        aggregations); the caller names every selection explicitly.
        """
        if not query_requests:
            raise ValueError("at least one query request is needed")
        request: dict[str, Any] = {"query_requests": list(query_requests)}
        if group_name is not None:
            request["group_name"] = group_name
        body = await self._post("/Analytics", request)
        with schema_context(self.vendor.value, "/Analytics"):
            results = as_list(body.get("queryResults"), "queryResults")
            if len(results) != len(query_requests):
                raise SchemaError(
                    f"expected {len(query_requests)} query results, got {len(results)}", field="queryResults"
                )
            parsed: list[list[dict[str, str]]] = []
            for index, raw in enumerate(results):
                result = as_object(raw, f"queryResults[{index}]")
                items = []
                for entry in as_list(result.get("responseItems", []), f"queryResults[{index}].responseItems"):
                    item = as_object(
                        as_object(entry, "responseItems[]").get("item", {}), "responseItems[].item"
                    )
                    items.append({key: _as_text(value) for key, value in item.items()})
                parsed.append(items)
        return parsed

    async def user_daily_credits(self, start_day: date, end_day: date) -> list[SpendRow]:
        """Credits per person per UTC day and model, ``start_day..end_day`` (both included).

        Custom Analytics over the undocumented ``QUERY_DATA_SOURCE_CASCADE_DATA`` source: SUM of
        ``prompts_used`` and of ``flex_credits_used`` (both hundredths; Windsurf's own samples report
        them as two separate kinds of credit, so a row's amount is their sum) grouped by api_key, date
        and model. Users are named by joining api_key to ``/UserPageAnalytics``; a key no user has is
        reported as ``unknown``. Raises RequestRejected when the vendor refuses the source. Sync uses
        these rows only for the days they add up to :meth:`team_daily_credits` (``bot.domain.reconcile``).
        """

        (items,) = await self.custom_query([_cascade_credits_query(start_day, end_day)])
        directory = await self.user_directory()
        with schema_context(self.vendor.value, "/Analytics"):
            totals = _credits_per_person(items, directory, start_day, end_day)
        return [
            SpendRow(
                vendor=Vendor.WINDSURF,
                bucket_start=_day_start(day),
                granularity=Granularity.DAY,
                user_email=email,
                model=model,
                amount=credits,
                unit=Unit.CREDITS,
            )
            for (day, email, model), credits in sorted(totals.items())
        ]

    async def get_usage_config(
        self, *, user_email: str | None = None, team: bool = False, group_id: str | None = None
    ) -> Decimal | None:
        """The add-on credit cap at exactly one scope (a user, the team, or a group); None = no cap."""
        body = await self._post("/GetUsageConfig", _scope(user_email, team, group_id))
        with schema_context(self.vendor.value, "/GetUsageConfig"):
            return parse_usage_cap(body)

    async def set_usage_config(
        self,
        cap: int | None,
        *,
        user_email: str | None = None,
        team: bool = False,
        group_id: str | None = None,
    ) -> None:
        """Set (whole credits) or clear (None) the per-user add-on credit cap at exactly one scope.

        Windsurf answers an empty body (or ``{}``) on success; both are accepted.
        """
        scope = _scope(user_email, team, group_id)
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 0):
            raise ValueError("a cap is a whole, non-negative number of credits, or None")
        change: dict[str, Any] = (
            {"clear_add_on_credit_cap": True} if cap is None else {"set_add_on_credit_cap": cap}
        )
        await self._post("/UsageConfig", {**change, **scope}, allow_empty=True)


def _optional_datetime(body: Mapping[str, Any], key: str) -> datetime | None:
    value = body.get(key)
    return None if value is None else as_datetime(value, key)


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _cascade_credits_query(start_day: date, end_day: date) -> dict[str, Any]:
    """The Custom Analytics query behind :meth:`WindsurfClient.user_daily_credits`."""

    def total(name: str) -> dict[str, str]:
        return {"field": name, "name": name, "aggregation_function": "QUERY_AGGREGATION_SUM"}

    return {
        "data_source": CASCADE_DATA_SOURCE,
        "selections": [total("prompts_used"), total("flex_credits_used")],
        "filters": [
            {"name": "date", "filter": "QUERY_FILTER_GE", "value": start_day.isoformat()},
            {"name": "date", "filter": "QUERY_FILTER_LE", "value": end_day.isoformat()},
        ],
        "aggregations": [
            {"field": "api_key", "name": "api_key"},
            {"field": "date", "name": "date"},
            {"field": "model", "name": "model"},
        ],
    }


def _credits_per_person(
    items: list[dict[str, str]], directory: ApiKeyDirectory, start_day: date, end_day: date
) -> dict[tuple[date, str, str], Decimal]:
    """Credits (prompt + flex, from hundredths) per (UTC day, email, model) within the days asked."""
    totals: dict[tuple[date, str, str], Decimal] = {}
    for item in items:
        day = as_date(item.get("date"), "item.date")
        if not start_day <= day <= end_day:
            continue
        email = directory.email_for(item.get("api_key", "")) or "unknown"
        model = item.get("model") or "unknown"
        credits = (
            decimal_field(item, "prompts_used", "item.prompts_used")
            + decimal_field(item, "flex_credits_used", "item.flex_credits_used")
        ) / _HUNDRED
        key = (day, email, model)
        totals[key] = totals.get(key, ZERO) + credits
    return totals
