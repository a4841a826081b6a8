"""OpenAI Platform Admin API (organization costs, completions and embeddings usage, users, spend limit).

Reference: ``docs/vendors/openai.md`` (what was confirmed in OpenAI's published spec and what was not).
Every call sends the organization's Admin key as a Bearer token. Money comes only from
``/organization/costs``, whose ``amount.value`` is a JSON number in **dollars**: the body is parsed
with every fraction as an exact ``Decimal`` (``parsing.loads``), then multiplied by 100 into our cents,
so no float ever touches an amount. Costs cannot be grouped by user; usage can, so people get their
requests and tokens and the team gets the money (an honest split, not an estimate).

OpenAI publishes no numeric limit for the Admin API, so every endpoint shares one limiter at the
operator's pace (``requests_per_minute``, 30 by default): an assumption, named as such in the doc.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.domain.usage import CountCells, Granularity, Member, SpendRow, Unit, Vendor, add_counts, count_rows
from bot.vendors.base import (
    AuthStyle,
    ClientBase,
)
from bot.vendors.errors import PermissionDenied, RequestRejected, SchemaError
from bot.vendors.pagination import pages_by_cursor
from bot.vendors.parsing import (
    ZERO,
    as_decimal,
    as_int,
    as_list,
    as_object,
    as_str,
    decimal_field,
    int_field,
    optional_str,
    schema_context,
)

__all__ = ["COSTS_PAGE_DAYS", "USAGE_ENDPOINTS", "USAGE_PAGE_DAYS", "OpenAIClient", "SpendLimit"]

#: The one endpoint class: OpenAI documents a 429 on every Admin endpoint but no numbers.
ENDPOINT_CLASS = "admin"
#: Documented maxima of ``limit`` (buckets per page) with ``bucket_width=1d``.
COSTS_PAGE_DAYS = 180
USAGE_PAGE_DAYS = 31
USERS_PAGE_SIZE = 100
#: The ``/organization/usage/*`` endpoints read, with the result fields whose sum is a row's tokens
#: (``input_tokens`` already includes the cached ones) and the ``group_by`` values each accepts.
USAGE_ENDPOINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("completions", ("input_tokens", "output_tokens")),
    ("embeddings", ("input_tokens",)),
)
_CENTS_PER_DOLLAR = Decimal(100)
_DAY = timedelta(days=1)


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _unix(day: date) -> int:
    return int(_day_start(day).timestamp())


@dataclass(frozen=True, slots=True)
class SpendLimit:
    """The organization's hard monthly spend limit, in cents, and whether OpenAI is enforcing it now."""

    limit_cents: Decimal
    enforcing: bool


def _bucket_day(bucket: Mapping[str, Any], field: str) -> date:
    start = as_int(bucket.get("start_time"), f"{field}.start_time")
    return datetime.fromtimestamp(start, UTC).date()


def parse_cost_page(body: Mapping[str, Any], first: date, last: date) -> dict[tuple[date, str], Decimal]:
    """Cents per (UTC day, line item) of one ``/organization/costs`` page, summed over projects."""
    totals: dict[tuple[date, str], Decimal] = {}
    for raw in as_list(body.get("data"), "data"):
        bucket = as_object(raw, "data[]")
        day = _bucket_day(bucket, "data[]")
        for item in as_list(bucket.get("results"), "data[].results"):
            result = as_object(item, "data[].results[]")
            amount = as_object(result.get("amount"), "data[].results[].amount")
            currency = as_str(amount.get("currency"), "data[].results[].amount.currency")
            if currency.lower() != "usd":
                raise SchemaError("expected US dollars", field="data[].results[].amount.currency")
            if not first <= day <= last:
                continue
            dollars = as_decimal(amount.get("value"), "data[].results[].amount.value")
            line_item = optional_str(result, "line_item", "data[].results[].line_item") or "other"
            key = (day, line_item)
            totals[key] = totals.get(key, ZERO) + dollars * _CENTS_PER_DOLLAR
    return totals


def parse_usage_page(
    body: Mapping[str, Any],
    first: date,
    last: date,
    token_fields: Sequence[str] = ("input_tokens", "output_tokens"),
) -> CountCells:
    """(requests, tokens) per (UTC day, user id or None, model) of one ``/organization/usage/*`` page."""
    totals: CountCells = {}
    for raw in as_list(body.get("data"), "data"):
        bucket = as_object(raw, "data[]")
        day = _bucket_day(bucket, "data[]")
        for item in as_list(bucket.get("results"), "data[].results"):
            result = as_object(item, "data[].results[]")
            if "num_model_requests" not in result:
                raise SchemaError("missing", field="data[].results[].num_model_requests")
            if not first <= day <= last:
                continue
            requests = decimal_field(result, "num_model_requests", "data[].results[].num_model_requests")
            tokens = sum(int_field(result, name, f"data[].results[].{name}") for name in token_fields)
            user_id = optional_str(result, "user_id", "data[].results[].user_id")
            model = optional_str(result, "model", "data[].results[].model") or "unknown"
            add_counts(totals, (day, user_id, model), requests, tokens)
    return totals


def parse_spend_limit(body: Mapping[str, Any]) -> SpendLimit | None:
    """``/organization/spend_limit``; a threshold of 0 (OpenAI's answer when none is set) is no limit."""
    cents = as_decimal(body.get("threshold_amount"), "threshold_amount")
    if cents <= 0:
        return None
    enforcement = body.get("enforcement")
    status = None
    if enforcement is not None:
        status = optional_str(as_object(enforcement, "enforcement"), "status", "enforcement.status")
    return SpendLimit(limit_cents=cents, enforcing=status == "enforcing")


class OpenAIClient(ClientBase):
    """OpenAI's organization Admin API for one Admin key."""

    vendor = Vendor.OPENAI

    auth = AuthStyle.BEARER

    endpoint_class = ENDPOINT_CLASS

    async def probe(self) -> None:
        """Validate the key with one cheap call: yesterday's costs, one bucket (the figures we exist for)."""
        today = self._clock().date()
        params = {"start_time": _unix(today - _DAY), "end_time": _unix(today), "limit": 1}
        body = await self._get_json("/organization/costs", params)
        with schema_context(self.vendor.value, "/organization/costs"):
            parse_cost_page(body, today - _DAY, today)

    async def members(self) -> list[Member]:
        """Everyone in the organization (``/organization/users``, 100 a page by ``after``)."""
        members: list[Member] = []

        async def fetch(after: str | None) -> Mapping[str, Any]:
            params: dict[str, Any] = {"limit": USERS_PAGE_SIZE}
            if after is not None:
                params["after"] = after
            return await self._get_json("/organization/users", params)

        async for body in pages_by_cursor(fetch, cursor_key="last_id"):
            with schema_context(self.vendor.value, "/organization/users"):
                for raw in as_list(body.get("data"), "data"):
                    item = as_object(raw, "data[]")
                    email = optional_str(item, "email", "data[].email")
                    if not email:
                        continue  # service accounts may have none: nothing to join on
                    members.append(
                        Member(
                            email=email.lower(),
                            name=optional_str(item, "name", "data[].name"),
                            role=optional_str(item, "role", "data[].role"),
                            vendor_user_id=as_str(item.get("id"), "data[].id"),
                        )
                    )
        return members

    async def daily_costs(self, first: date, last: date) -> list[SpendRow]:
        """Team cents per UTC day and line item, ``first..last`` (both included), from the costs report."""
        params = {
            "start_time": _unix(first),
            "end_time": _unix(last + _DAY),
            "bucket_width": "1d",
            "group_by": ["line_item", "project_id"],
            "limit": min(COSTS_PAGE_DAYS, (last - first).days + 1),
        }
        totals: dict[tuple[date, str], Decimal] = {}
        async for body in self._cursor_pages("/organization/costs", params):
            with schema_context(self.vendor.value, "/organization/costs"):
                for key, cents in parse_cost_page(body, first, last).items():
                    totals[key] = totals.get(key, ZERO) + cents
        return [
            SpendRow(
                vendor=Vendor.OPENAI,
                bucket_start=_day_start(day),
                granularity=Granularity.DAY,
                user_email=None,
                model=line_item,
                amount=cents,
                unit=Unit.USD_CENTS,
            )
            for (day, line_item), cents in sorted(totals.items())
        ]

    async def daily_usage(
        self, first: date, last: date, emails: Mapping[str, str] | None = None
    ) -> list[SpendRow]:
        """Requests and tokens per UTC day, person and model, ``first..last``, from every endpoint of
        :data:`USAGE_ENDPOINTS` (completions, embeddings).

        ``emails`` maps OpenAI user ids to emails (from :meth:`members`; fetched when not given). Rows
        carry no money (``amount`` 0): usage with no user, or by a user id not in the organization any
        more, is the team's (``user_email`` None).
        """
        directory = emails if emails is not None else await self.user_emails()
        params = {
            "start_time": _unix(first),
            "end_time": _unix(last + _DAY),
            "bucket_width": "1d",
            "group_by": ["user_id", "model"],
            "limit": min(USAGE_PAGE_DAYS, (last - first).days + 1),
        }
        totals: CountCells = {}
        for endpoint, token_fields in USAGE_ENDPOINTS:
            path = f"/organization/usage/{endpoint}"
            async for body in self._cursor_pages(path, params):
                with schema_context(self.vendor.value, path):
                    for (day, user_id, model), (requests, tokens) in parse_usage_page(
                        body, first, last, token_fields
                    ).items():
                        email = None if user_id is None else directory.get(user_id)
                        add_counts(totals, (day, email, model), requests, tokens)
        return count_rows(Vendor.OPENAI, totals)

    async def user_emails(self) -> dict[str, str]:
        """OpenAI user id → email of everyone in the organization."""
        return {
            member.vendor_user_id: member.email
            for member in await self.members()
            if member.vendor_user_id is not None
        }

    async def spend_limit(self) -> SpendLimit | None:
        """The organization's hard spend limit; None when none is set or the key may not read it.

        A 403 or 404 means "not readable" (an older organization or a key without the permission), not a
        failure: the rest of the connection works without it.
        """
        try:
            body = await self._get_json("/organization/spend_limit")
        except (PermissionDenied, RequestRejected) as error:
            if error.status in (403, 404):
                return None
            raise
        with schema_context(self.vendor.value, "/organization/spend_limit"):
            return parse_spend_limit(body)
