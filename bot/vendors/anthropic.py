"""Anthropic Admin API (cost report, messages usage report, Claude Code analytics, spend limits, users).

Reference: ``docs/vendors/anthropic.md`` (what was confirmed in Anthropic's published docs and what was
not). Every call sends the Admin key in ``x-api-key`` with ``anthropic-version`` (``AuthStyle.X_API_KEY``).
Money comes only from ``/organizations/cost_report``, whose ``amount`` is a decimal **string** in the
currency's lowest unit: "123.45" USD is 123.45 cents ($1.23). It is read as an exact ``Decimal`` (a
JSON number too) and kept as cents, so no float ever touches an amount. The cost report cannot be
grouped by person; the Claude Code report can, so people get their Claude Code sessions as their count
and the team gets the money (the same honest split as OpenAI's). Tokens come from the messages usage
report, by model and by ``account_id`` (a member's user id; API-key traffic has none and is the
team's). Claude Code's estimated cost per person is not read: its field names and unit are unconfirmed.

Anthropic publishes no numeric limit for the Admin API, so every endpoint shares one limiter at the
operator's pace (``requests_per_minute``, 30 by default): an assumption, named as such in the doc.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.domain.usage import (
    CountCells,
    CycleSpend,
    CycleSpendReport,
    Granularity,
    Member,
    SpendRow,
    Unit,
    Vendor,
    add_counts,
    count_rows,
)
from bot.vendors.base import AuthStyle, ClientBase
from bot.vendors.errors import PermissionDenied, RequestRejected, SchemaError
from bot.vendors.pagination import pages_by_cursor
from bot.vendors.parsing import (
    ZERO,
    as_date,
    as_decimal,
    as_list,
    as_object,
    as_str,
    decimal_field,
    int_field,
    optional_str,
    schema_context,
)

__all__ = ["CLAUDE_CODE_MODEL", "COST_PAGE_DAYS", "AnthropicClient"]

#: The one endpoint class: Anthropic documents a 429 on every Admin endpoint but no numbers.
ENDPOINT_CLASS = "admin"
#: Documented maximum of ``limit`` (daily buckets per page) of the cost report and, with
#: ``bucket_width=1d``, of the messages usage report.
COST_PAGE_DAYS = 31
#: Token counts of a messages usage result whose sum is its tokens; cache writes are added from
#: ``cache_creation`` (documented nesting by TTL) or, failing that, flat ``cache_creation_*`` fields.
MESSAGE_TOKEN_FIELDS = ("uncached_input_tokens", "cache_read_input_tokens", "output_tokens")
FLAT_CACHE_CREATION_FIELDS = (
    "cache_creation_input_tokens",
    "cache_creation_5m_input_tokens",
    "cache_creation_1h_input_tokens",
)
#: Documented maximum of ``limit`` (records per page) of the Claude Code report.
CLAUDE_CODE_PAGE_SIZE = 1000
USERS_PAGE_SIZE = 100
SPEND_LIMITS_PAGE_SIZE = 100
#: The model a person's Claude Code sessions are counted under (the report's per-model breakdown is
#: unconfirmed, so sessions are not split by model).
CLAUDE_CODE_MODEL = "Claude Code"
_DAY = timedelta(days=1)


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _rfc3339(day: date) -> str:
    return _day_start(day).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cost_label(result: Mapping[str, Any]) -> str:
    """What a cost item is spent on: its model, else its cost type (web search...), else its description."""
    for key in ("model", "cost_type", "description"):
        value = optional_str(result, key, f"data[].results[].{key}")
        if value:
            return value
    return "other"


def parse_cost_page(body: Mapping[str, Any], first: date, last: date) -> dict[tuple[date, str], Decimal]:
    """Cents per (UTC day, model or cost type) of one ``/organizations/cost_report`` page."""
    totals: dict[tuple[date, str], Decimal] = {}
    for raw in as_list(body.get("data"), "data"):
        bucket = as_object(raw, "data[]")
        day = as_date(bucket.get("starting_at"), "data[].starting_at")
        for item in as_list(bucket.get("results"), "data[].results"):
            result = as_object(item, "data[].results[]")
            currency = optional_str(result, "currency", "data[].results[].currency") or "USD"
            if currency.upper() != "USD":
                raise SchemaError("expected US dollars", field="data[].results[].currency")
            # Documented as a decimal string; a JSON number is read just as exactly (parsing.loads).
            cents = as_decimal(result.get("amount"), "data[].results[].amount")
            if not first <= day <= last:
                continue
            key = (day, _cost_label(result))
            totals[key] = totals.get(key, ZERO) + cents
    return totals


def message_tokens(result: Mapping[str, Any]) -> int:
    """Every token of one messages usage result: input (uncached, cache reads, cache writes) and output."""
    if not any(name in result for name in MESSAGE_TOKEN_FIELDS):
        raise SchemaError("missing", field="data[].results[].output_tokens")
    tokens = sum(int_field(result, name, f"data[].results[].{name}") for name in MESSAGE_TOKEN_FIELDS)
    nested = result.get("cache_creation")
    if nested is not None:
        creation = as_object(nested, "data[].results[].cache_creation")
        return tokens + sum(
            int_field(creation, name, f"data[].results[].cache_creation.{name}") for name in creation
        )
    return tokens + sum(
        int_field(result, name, f"data[].results[].{name}") for name in FLAT_CACHE_CREATION_FIELDS
    )


def parse_messages_page(
    body: Mapping[str, Any], first: date, last: date
) -> dict[tuple[date, str | None, str], int]:
    """Tokens per (UTC day, account id or None, model) of one ``usage_report/messages`` page."""
    totals: dict[tuple[date, str | None, str], int] = {}
    for raw in as_list(body.get("data"), "data"):
        bucket = as_object(raw, "data[]")
        day = as_date(bucket.get("starting_at"), "data[].starting_at")
        for item in as_list(bucket.get("results"), "data[].results"):
            result = as_object(item, "data[].results[]")
            tokens = message_tokens(result)
            if not first <= day <= last:
                continue
            account = optional_str(result, "account_id", "data[].results[].account_id")
            model = optional_str(result, "model", "data[].results[].model") or "other"
            key = (day, account, model)
            totals[key] = totals.get(key, 0) + tokens
    return totals


def parse_claude_code_page(body: Mapping[str, Any]) -> dict[str | None, Decimal]:
    """Sessions per user email (None: API-key actors, the team's) of one Claude Code report page."""
    totals: dict[str | None, Decimal] = {}
    for raw in as_list(body.get("data"), "data"):
        record = as_object(raw, "data[]")
        actor = as_object(record.get("actor"), "data[].actor")
        kind = as_str(actor.get("type"), "data[].actor.type")
        email = None
        if kind == "user_actor":
            email = as_str(actor.get("email_address"), "data[].actor.email_address").lower()
        metrics = as_object(record.get("core_metrics"), "data[].core_metrics")
        if "num_sessions" not in metrics:
            raise SchemaError("missing", field="data[].core_metrics.num_sessions")
        sessions = decimal_field(metrics, "num_sessions", "data[].core_metrics.num_sessions")
        totals[email] = totals.get(email, ZERO) + sessions
    return totals


def parse_effective_limit(raw: object, emails: Mapping[str, str]) -> CycleSpend | None:
    """A member's monthly limit and month-to-date spend from one ``spend_limits/effective`` row.

    None for a row that is no member's (a scoped API key), a member not in the users list, a daily or
    weekly limit (not the calendar month the answers count), or a spend that reads "0": Anthropic
    documents "0" as "temporarily unavailable", so it is never taken as zero (and never alerts).
    """
    row = as_object(raw, "data[]")
    actor = as_object(row.get("actor"), "data[].actor")
    if actor.get("type") != "user" or optional_str(row, "period", "data[].period") != "monthly":
        return None
    user_id = optional_str(actor, "user_id", "data[].actor.user_id") or optional_str(
        actor, "id", "data[].actor.id"
    )
    email = emails.get(user_id or "")
    currency = (optional_str(row, "currency", "data[].currency") or "USD").upper()
    if email is None or currency != "USD":
        return None
    spent = as_decimal(row.get("period_to_date_spend"), "data[].period_to_date_spend")
    if spent == ZERO:
        return None
    amount = row.get("amount")
    limit = None if amount is None else as_decimal(amount, "data[].amount")
    return CycleSpend(user_email=email, name=None, total_cents=spent, on_demand_cents=None, limit_cents=limit)


class AnthropicClient(ClientBase):
    """Anthropic's organization Admin API for one Admin key."""

    vendor = Vendor.ANTHROPIC

    auth = AuthStyle.X_API_KEY

    endpoint_class = ENDPOINT_CLASS

    async def probe(self) -> None:
        """Validate the key with one cheap call: yesterday's costs, one bucket (the figures we exist for)."""
        today = self._clock().date()
        params: dict[str, str | int] = {
            "starting_at": _rfc3339(today - _DAY),
            "ending_at": _rfc3339(today),
            "limit": 1,
        }
        body = await self._get_json("/organizations/cost_report", params)
        with schema_context(self.vendor.value, "/organizations/cost_report"):
            parse_cost_page(body, today - _DAY, today)

    async def members(self) -> list[Member]:
        """Everyone in the organization (``/organizations/users``, 100 a page by ``after_id``)."""
        members: list[Member] = []

        async def fetch(after: str | None) -> Mapping[str, Any]:
            params: dict[str, Any] = {"limit": USERS_PAGE_SIZE}
            if after is not None:
                params["after_id"] = after
            return await self._get_json("/organizations/users", params)

        async for body in pages_by_cursor(fetch, cursor_key="last_id"):
            with schema_context(self.vendor.value, "/organizations/users"):
                for raw in as_list(body.get("data"), "data"):
                    item = as_object(raw, "data[]")
                    members.append(
                        Member(
                            email=as_str(item.get("email"), "data[].email").lower(),
                            name=optional_str(item, "name", "data[].name"),
                            role=optional_str(item, "role", "data[].role"),
                            vendor_user_id=as_str(item.get("id"), "data[].id"),
                        )
                    )
        return members

    async def user_emails(self) -> dict[str, str]:
        """Anthropic user id → email of everyone in the organization."""
        return {
            member.vendor_user_id: member.email for member in await self.members() if member.vendor_user_id
        }

    async def spend_limits(self) -> CycleSpendReport | None:
        """This calendar month's limit and spend of each member (``spend_limits/effective``), or None
        when the key may not read spend limits (the scope or the organization's preview is missing)."""
        emails = await self.user_emails()
        path = "/organizations/spend_limits/effective"
        found: list[CycleSpend] = []
        try:
            async for body in self._cursor_pages(path, {"limit": SPEND_LIMITS_PAGE_SIZE}):
                with schema_context(self.vendor.value, path):
                    for raw in as_list(body.get("data"), "data"):
                        if (row := parse_effective_limit(raw, emails)) is not None:
                            found.append(row)
        except (PermissionDenied, RequestRejected) as error:
            if isinstance(error, RequestRejected) and error.status != 404:
                raise
            return None
        today = self._clock().date()
        start = _day_start(today.replace(day=1))
        end = _day_start((today.replace(day=1) + timedelta(days=32)).replace(day=1))
        return CycleSpendReport(cycle_start=start, cycle_end=end, rows=tuple(found))

    async def set_user_spend_limit(self, email: str, dollars: int | None) -> str:
        """Set (whole dollars) or lift (None: an explicit no-limit override) a member's monthly spend
        limit; returns what Anthropic now holds, in words.

        ``POST /organizations/spend_limits`` is an upsert on (scope, period) that needs
        ``write:spend_limits``; only a Claude Enterprise organization sets ``user`` limits (a Console
        one answers 400, raised as RequestRejected). The scope names the member's user id, looked up by
        email in the users list.
        """
        if dollars is not None and (isinstance(dollars, bool) or not isinstance(dollars, int) or dollars < 0):
            raise ValueError("a spend limit is a whole, non-negative number of dollars, or None")
        ids = {member_email: user_id for user_id, member_email in (await self.user_emails()).items()}
        user_id = ids.get(email.lower())
        if user_id is None:
            raise RequestRejected(
                f"{email} is not a member of this Anthropic organization", vendor="anthropic"
            )
        body = {
            "scope": {"type": "user", "user_id": user_id},
            "period": "monthly",
            "amount": None if dollars is None else str(dollars * 100),
        }
        path = "/organizations/spend_limits"
        response = await self.transport.request("POST", path, endpoint_class=ENDPOINT_CLASS, json=body)
        with schema_context(self.vendor.value, path):
            held = as_object(response.data, "body").get("amount")
            if held is None:
                return f"Monthly spend limit lifted for {email}."
            cents = as_decimal(held, "amount")
        return f"Monthly spend limit set to ${cents / 100:,.2f} for {email}."

    async def daily_costs(self, first: date, last: date) -> list[SpendRow]:
        """Team cents per UTC day and model (or cost type), ``first..last`` (both included)."""
        params = {
            "starting_at": _rfc3339(first),
            "ending_at": _rfc3339(last + _DAY),
            "bucket_width": "1d",
            "group_by[]": ["description"],
            "limit": min(COST_PAGE_DAYS, (last - first).days + 1),
        }
        totals: dict[tuple[date, str], Decimal] = {}
        async for body in self._cursor_pages("/organizations/cost_report", params):
            with schema_context(self.vendor.value, "/organizations/cost_report"):
                for key, cents in parse_cost_page(body, first, last).items():
                    totals[key] = totals.get(key, ZERO) + cents
        return [
            SpendRow(
                vendor=Vendor.ANTHROPIC,
                bucket_start=_day_start(day),
                granularity=Granularity.DAY,
                user_email=None,
                model=model,
                amount=cents,
                unit=Unit.USD_CENTS,
            )
            for (day, model), cents in sorted(totals.items())
        ]

    async def daily_tokens(
        self, first: date, last: date, emails: Mapping[str, str] | None = None
    ) -> list[SpendRow]:
        """Tokens per UTC day, person and model, ``first..last``, from the messages usage report.

        ``emails`` maps user ids (the report's ``account_id``) to emails, from :meth:`user_emails` when
        not given. Rows carry no money (``amount`` 0); tokens of API keys, or of an account not in the
        organization any more, are the team's (``user_email`` None).
        """
        directory = emails if emails is not None else await self.user_emails()
        params = {
            "starting_at": _rfc3339(first),
            "ending_at": _rfc3339(last + _DAY),
            "bucket_width": "1d",
            "group_by[]": ["model", "account_id"],
            "limit": min(COST_PAGE_DAYS, (last - first).days + 1),
        }
        totals: CountCells = {}
        path = "/organizations/usage_report/messages"
        async for body in self._cursor_pages(path, params):
            with schema_context(self.vendor.value, path):
                for (day, account, model), tokens in parse_messages_page(body, first, last).items():
                    email = None if account is None else directory.get(account)
                    add_counts(totals, (day, email, model), tokens=tokens)
        return count_rows(Vendor.ANTHROPIC, totals)

    async def claude_code_sessions(self, day: date) -> list[SpendRow]:
        """Claude Code sessions per person on one UTC day (the report takes one day a request).

        Rows carry no money (``amount`` 0) and count sessions as requests; sessions of API-key actors
        have no person and are the team's (``user_email`` None).
        """
        params = {"starting_at": day.isoformat(), "limit": CLAUDE_CODE_PAGE_SIZE}
        totals: CountCells = {}
        async for body in self._cursor_pages("/organizations/usage_report/claude_code", params):
            with schema_context(self.vendor.value, "/organizations/usage_report/claude_code"):
                for email, sessions in parse_claude_code_page(body).items():
                    add_counts(totals, (day, email, CLAUDE_CODE_MODEL), requests=sessions)
        return count_rows(Vendor.ANTHROPIC, totals)
