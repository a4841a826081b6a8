"""GitHub Copilot: seats, AI-credit (or legacy premium-request) usage in dollars, and Copilot budgets.

Reference: ``docs/vendors/copilot.md`` (what was confirmed in GitHub's published docs and what was not).
Every call sends a Bearer token with ``Accept: application/vnd.github+json`` and
``X-GitHub-Api-Version`` (``AuthStyle.GITHUB``). The connection's ``account`` is the organization, or
``enterprise:<slug>`` for the enterprise endpoints of the same reports.

Money comes from the billing usage reports, whose amounts are **US dollars as JSON floats**; they are
parsed as exact Decimals (``parsing.loads``) and kept as cents. ``netAmount`` (after the plan's included
credits) is what is counted as spend. A report answers one period (a day here) as one aggregate and
filters by one ``user``, so a person's day costs one request: only people whose seat was active on or
after that day (``last_activity_at``) are asked, and whatever the organisation's total holds beyond
their sum (people without a seat any more) is booked under no one, so totals stay exact.

GitHub's limits: a primary limit per hour per token (5,000; 15,000 for a GHEC GitHub App) and a
secondary limit of 900 points a minute for REST (one point a GET). The per-minute one is the primary
limiter (a secondary-limit 403 without ``retry-after`` means "wait a minute"); the hourly one is a
second limiter every call also goes through. 403s that are rate limits are retried by the transport.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from bot.domain.usage import Granularity, Member, SpendRow, Unit, Vendor
from bot.vendors.base import AuthStyle, ClientBase, ConnectionConfig, LimitSpec
from bot.vendors.errors import RequestRejected, SchemaError
from bot.vendors.limiter import RatePolicy
from bot.vendors.parsing import (
    ZERO,
    as_int,
    as_list,
    as_object,
    as_str,
    decimal_field,
    optional_bool,
    optional_decimal,
    optional_moment,
    optional_str,
    schema_context,
)

__all__ = ["COPILOT_SKUS", "SECONDARY_PER_MINUTE", "CopilotBudget", "CopilotClient", "CopilotSeat"]

#: GitHub's secondary limit for REST: 900 points a minute, one point a GET.
SECONDARY_PER_MINUTE = 900
SEATS_PAGE_SIZE = 100
#: A guard against a server that never sends a short page (a million seat objects).
MAX_SEAT_PAGES = 10_000
BUDGETS_PAGE_SIZE = 100
#: The products and SKUs of a Copilot budget (a budget on Actions or Packages is not ours to show).
COPILOT_SKUS = frozenset(
    {"ai_credits", "copilot", "copilot_ai_credit", "copilot_premium_request", "premium_requests"}
)
#: The scopes of a budget on the whole account ("multi_user_customer": the default budget every member
#: shares); user, cost-center and repository budgets are not the account's pool.
ACCOUNT_SCOPES = frozenset({"organization", "enterprise", "multi_user_customer"})
_HUNDRED = Decimal(100)
_AI_CREDIT = "ai_credit"
_PREMIUM_REQUEST = "premium_request"


@dataclass(frozen=True, slots=True)
class CopilotSeat:
    """One assigned Copilot seat: who (login; public email when the profile shows one) and when active."""

    login: str
    email: str | None
    plan_type: str | None
    created_at: datetime | None
    last_activity_at: datetime | None
    last_authenticated_at: datetime | None
    pending_cancellation: bool

    @property
    def person(self) -> str:
        """The key a person's rows are stored under: their public email, else their login (which
        ``SPENDBOT_PERSON_ALIASES`` can map to an email)."""
        return (self.email or self.login).lower()

    @property
    def last_seen(self) -> datetime | None:
        """The later of its last activity and its last authentication: ``last_activity_at`` stays
        empty for IDE use without telemetry, but using Copilot at all authenticates."""
        moments = [m for m in (self.last_activity_at, self.last_authenticated_at) if m is not None]
        return max(moments, default=None)

    def may_have_used(self, day: date) -> bool:
        """Whether the seat can hold usage on ``day``: it was last seen that day or later."""
        seen = self.last_seen
        return seen is not None and seen.date() >= day


@dataclass(frozen=True, slots=True)
class CopilotBudget:
    """The organisation's (or enterprise's) Copilot budget: whole dollars, and whether usage stops at it."""

    amount_cents: Decimal
    prevent_further_usage: bool
    sku: str
    consumed_cents: Decimal | None
    """What GitHub says the budget has consumed, when the budget carries ``consumed_amount``."""


def parse_usage_items(body: Mapping[str, Any]) -> dict[str, Decimal]:
    """Net cents per model (or SKU, for an item without one) of one billing usage report."""
    totals: dict[str, Decimal] = {}
    for raw in as_list(body.get("usageItems"), "usageItems"):
        item = as_object(raw, "usageItems[]")
        if "netAmount" not in item:
            raise SchemaError("missing", field="usageItems[].netAmount")
        dollars = decimal_field(item, "netAmount", "usageItems[].netAmount")
        label = (
            optional_str(item, "model", "usageItems[].model")
            or optional_str(item, "sku", "usageItems[].sku")
            or "Copilot"
        )
        totals[label] = totals.get(label, ZERO) + dollars * _HUNDRED
    return totals


def seat_member(seat: CopilotSeat) -> Member:
    """A seat as a member: its person key, login as name, plan as role; a seat pending cancellation is
    not active. Its last use is ``last_activity_at``, or its last authentication where GitHub has no
    activity (``last_activity_at`` needs IDE telemetry): a seat in use is never called idle for that."""
    return Member(
        email=seat.person,
        name=seat.login,
        role=seat.plan_type,
        active=not seat.pending_cancellation,
        last_active_at=seat.last_activity_at or seat.last_authenticated_at,
    )


def parse_seat(raw: object) -> CopilotSeat:
    """One entry of ``seats[]``."""
    seat = as_object(raw, "seats[]")
    assignee = as_object(seat.get("assignee"), "seats[].assignee")
    return CopilotSeat(
        login=as_str(assignee.get("login"), "seats[].assignee.login"),
        email=optional_str(assignee, "email", "seats[].assignee.email") or None,
        plan_type=optional_str(seat, "plan_type", "seats[].plan_type"),
        created_at=optional_moment(seat, "created_at", "seats[].created_at"),
        last_activity_at=optional_moment(seat, "last_activity_at", "seats[].last_activity_at"),
        last_authenticated_at=optional_moment(seat, "last_authenticated_at", "seats[].last_authenticated_at"),
        pending_cancellation=seat.get("pending_cancellation_date") is not None,
    )


def one_seat_per_login(seats: list[CopilotSeat]) -> list[CopilotSeat]:
    """One seat per person: an enterprise lists a seat per organization granting it (total_seats counts
    the person once); the one last seen stands for them."""
    best: dict[str, CopilotSeat] = {}
    floor = datetime.min.replace(tzinfo=UTC)
    for seat in seats:
        kept = best.get(seat.login.lower())
        if kept is None or (seat.last_seen or floor) > (kept.last_seen or floor):
            best[seat.login.lower()] = seat
    return list(best.values())


def parse_budget(raw: object) -> CopilotBudget | None:
    """A Copilot budget on the whole organisation or enterprise; None for any other budget."""
    budget = as_object(raw, "budgets[]")
    scope = optional_str(budget, "budget_scope", "budgets[].budget_scope")
    sku = (optional_str(budget, "budget_product_sku", "budgets[].budget_product_sku") or "").lower()
    if scope not in ACCOUNT_SCOPES or sku not in COPILOT_SKUS:
        return None
    dollars = decimal_field(budget, "budget_amount", "budgets[].budget_amount")
    stops = optional_bool(budget, "prevent_further_usage", "budgets[].prevent_further_usage")
    consumed = optional_decimal(budget, "consumed_amount", "budgets[].consumed_amount")
    return CopilotBudget(
        amount_cents=dollars * _HUNDRED,
        prevent_further_usage=bool(stops),
        sku=sku,
        consumed_cents=None if consumed is None else consumed * _HUNDRED,
    )


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


class CopilotClient(ClientBase):
    """One GitHub organization's (or enterprise's) Copilot seats, usage and budgets, for one token."""

    vendor: ClassVar[Vendor] = Vendor.COPILOT

    auth: ClassVar[AuthStyle] = AuthStyle.GITHUB

    def __init__(self, config: ConnectionConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        account = config.account.strip()
        self.enterprise = account.lower().startswith("enterprise:")
        self.account = account.split(":", 1)[1].strip() if self.enterprise else account
        if not self.account or "/" in self.account:
            raise ValueError("a Copilot connection needs its GitHub organization (or enterprise:<slug>)")
        #: Which billing report the account answers: AI credits, or premium requests on a legacy plan.
        self.billing = _AI_CREDIT

    def limit_classes(self, config: ConnectionConfig) -> dict[str, list[LimitSpec]]:
        """Every call goes through the secondary (per-minute) limit and the token's hourly limit."""
        return {
            self.endpoint_class: [
                LimitSpec(self.endpoint_class, RatePolicy(SECONDARY_PER_MINUTE, timedelta(minutes=1))),
                LimitSpec("hourly", RatePolicy(config.requests_per_hour, timedelta(hours=1))),
            ]
        }

    # ----- paths --------------------------------------------------------------------------------------

    def _seats_path(self) -> str:
        owner = f"enterprises/{self.account}" if self.enterprise else f"orgs/{self.account}"
        return f"/{owner}/copilot/billing/seats"

    def _billing_path(self, report: str) -> str:
        owner = f"enterprises/{self.account}" if self.enterprise else f"organizations/{self.account}"
        return f"/{owner}/settings/billing/{report}"

    # ----- calls --------------------------------------------------------------------------------------

    async def probe(self) -> None:
        """Validate the token with one seats page and this month's usage (the two permissions we need)."""
        body = await self._get_json(self._seats_path(), {"page": 1, "per_page": 1})
        with schema_context(self.vendor.value, self._seats_path()):
            for raw in as_list(body.get("seats"), "seats"):
                parse_seat(raw)
        today = self._clock().date()
        await self.usage(today.year, today.month)

    async def seats(self) -> list[CopilotSeat]:
        """Every assigned seat, one per person, 100 a page until a short page.

        ``total_seats`` is not a stop rule: an enterprise counts a person once but lists a seat for
        each organization that grants one, so the list can be longer than the total.
        """
        found: list[CopilotSeat] = []
        for page in range(1, MAX_SEAT_PAGES + 1):
            body = await self._get_json(self._seats_path(), {"page": page, "per_page": SEATS_PAGE_SIZE})
            with schema_context(self.vendor.value, self._seats_path()):
                as_int(body.get("total_seats"), "total_seats")
                batch = [parse_seat(raw) for raw in as_list(body.get("seats"), "seats")]
            found += batch
            if len(batch) < SEATS_PAGE_SIZE:
                return one_seat_per_login(found)
        raise SchemaError(f"more than {MAX_SEAT_PAGES} pages", field="seats")

    async def members(self) -> list[Member]:
        """Seat holders as members: their person key, login as name, plan as role."""
        return [seat_member(seat) for seat in await self.seats()]

    async def usage(
        self, year: int, month: int, day: int | None = None, user: str | None = None
    ) -> dict[str, Decimal]:
        """Net cents per model of one month (or one day of it), for the account or one login.

        The first 404 of the AI-credit report means a legacy plan: the premium-request report, which
        has the same shape, is asked from then on.
        """
        params: dict[str, str | int] = {"year": year, "month": month}
        if day is not None:
            params["day"] = day
        if user is not None:
            params["user"] = user
        try:
            body = await self._get_json(self._billing_path(f"{self.billing}/usage"), params)
        except RequestRejected as error:
            if error.status != 404 or self.billing != _AI_CREDIT:
                raise
            self.billing = _PREMIUM_REQUEST
            body = await self._get_json(self._billing_path(f"{self.billing}/usage"), params)
        with schema_context(self.vendor.value, self._billing_path(f"{self.billing}/usage")):
            return parse_usage_items(body)

    async def daily_spend(self, day: date, seats: list[CopilotSeat]) -> list[SpendRow]:
        """One UTC day's net cents per person and model; what the account's total holds beyond the
        people asked (former seats) is the team's, so the day's rows add up to the account's total."""
        team = await self.usage(day.year, day.month, day.day)
        rows: list[SpendRow] = []
        rest = dict(team)
        if any(team.values()):
            for seat in seats:
                if not seat.may_have_used(day):
                    continue
                for model, cents in (await self.usage(day.year, day.month, day.day, seat.login)).items():
                    rows.append(self._row(day, seat.person, model, cents))
                    rest[model] = rest.get(model, ZERO) - cents
        rows += [self._row(day, None, model, cents) for model, cents in rest.items() if cents > 0]
        return rows

    def _row(self, day: date, person: str | None, model: str, cents: Decimal) -> SpendRow:
        return SpendRow(
            vendor=Vendor.COPILOT,
            bucket_start=_day_start(day),
            granularity=Granularity.DAY,
            user_email=person,
            model=model,
            amount=cents,
            unit=Unit.USD_CENTS,
        )

    async def budget(self) -> CopilotBudget | None:
        """The account's Copilot budget (the first, if several), or None when it has none."""
        page = 1
        while True:
            path = self._billing_path("budgets")
            body = await self._get_json(path, {"page": page, "per_page": BUDGETS_PAGE_SIZE})
            with schema_context(self.vendor.value, path):
                for raw in as_list(body.get("budgets"), "budgets"):
                    if (found := parse_budget(raw)) is not None:
                        return found
                if body.get("has_next_page") is not True:
                    return None
            page += 1
