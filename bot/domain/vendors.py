"""What each vendor *is*, as data: the one table services and the Slack layer ask instead of naming vendors.

Before this table, "is this Windsurf?" was asked in some seventy places and four name tables disagreed
("REST" vs "REST API"). Now a service asks ``traits(connection.vendor).utc_days`` and adding a vendor is a
client in ``bot.vendors``, a simulator, one entry here, and their tests. Only code that is genuinely about
one vendor's client API still names the vendor: which client a write calls (``services.writes``) and the
connections declared in the environment, one setting per vendor (``services.connections``).

Pure data: no I/O, no settings. Where a trait depends on configuration (the default base URL), the entry
names the setting and the service reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from types import MappingProxyType

from bot.domain.usage import Unit, Vendor


class LimitKind(StrEnum):
    """Which per-person limit an admin can write to the vendor, if any."""

    SPEND_LIMIT = "spend_limit"  # Cursor, Anthropic (Claude Enterprise): a dollar spend limit per member
    CREDIT_CAP = "credit_cap"  # Windsurf: an add-on credit cap per member
    NONE = "none"


class CycleSource(StrEnum):
    """Where a connection's billing cycle comes from."""

    CYCLE_SPEND = "cycle_spend"  # Cursor: the vendor's own cycle total and bounds
    CREDITS_SNAPSHOT = "credits_snapshot"  # Windsurf: the latest credit balance snapshot carries the cycle
    CALENDAR_MONTH = "calendar_month"  # everything else: the calendar month


class CreditsLeft(StrEnum):
    """What "credits left" (``/spend credits``, the digest's credit lines, ``credit-low`` alerts) means."""

    # Windsurf: prepaid credits that run down; OpenAI: the month's hard spend limit; Copilot: its budget
    CREDIT_POOL = "credit_pool"
    SPEND_LIMITS = "spend_limits"  # Cursor, Anthropic: how many members are near their spend limit
    TRACKED_FIGURE = "tracked_figure"  # REST: the JSON figure an operator asked us to track


@dataclass(frozen=True, slots=True)
class VendorTraits:
    """One vendor's facts that services and renderers depend on."""

    vendor: Vendor
    display_name: str
    """The name people see in every message ("Cursor", "Windsurf", "REST")."""
    connect_button: str
    """The App Home button that opens the connect form."""
    unit: Unit
    """The unit its spend is counted in; credits are dollars only with a configured credit price."""
    reports_usage: bool
    """Whether it reports per-person spend (usage rows); a REST connection reports a probe and a reading."""
    reports_request_counts: bool
    """Whether its per-person figures carry a request count (Windsurf's do not)."""
    spend_by_person: bool
    """Whether its money is reported per person; OpenAI and Anthropic report costs for the organisation
    only, and per person only requests (Anthropic: Claude Code sessions), so its spend counts in totals
    under no one and ``user`` shows requests."""
    utc_days: bool
    """Whether its usage arrives as whole UTC days rather than timestamped events."""
    team_quarter_hours: bool
    """Whether the store keeps team totals per quarter hour for it (cheap exact totals over any range)."""
    cycle_source: CycleSource
    main_dataset: str
    """The dataset whose freshness stands for the connection's ("usage", or "probe")."""
    datasets: tuple[str, ...]
    """What a full sync fetches, in order (after a vendor-wide fault at one, the rest are not tried)."""
    live_datasets: tuple[str, ...]
    """What each alert check fetches (every ``SPENDBOT_CHECK_INTERVAL``): the cheap live figures, or a
    ``probe`` call (the key's cheapest request) for a vendor without any. Every vendor has one, so a
    fault of any vendor is seen at the next check, not at the next hourly sync."""
    fresh_for: timedelta
    """How long data stays fresh enough for a command: the vendor aggregates no faster than this."""
    credits_left: CreditsLeft
    near_limit: str
    """What "near a limit" watches for this vendor, in words (for docs and the traits tests)."""
    writable_limit: LimitKind
    quota_windows: tuple[tuple[str, str], ...]
    """The rate-limit classes a ``rate-limit`` alert watches: (window scope, how a message names it)."""
    key_label: str
    """The connect form's label for the key field."""
    permission_hint: str
    """What a key needs, said when the vendor rejects it for lack of permission."""
    has_probe: bool
    """Whether the connect form asks for a probe endpoint, quotas and a tracked field (REST)."""
    base_url_setting: str | None
    """The ``Settings`` attribute holding its default base URL; None when the form requires one."""
    pace_setting: str | None = None
    """The ``Settings`` attribute holding our own pace (requests a minute) for a vendor that publishes
    no limit; None when its client paces itself by documented limits or plan quotas."""
    account_label: str | None = None
    """The connect form's label for the vendor account a key reads (Copilot's organization); None when
    the key alone names it."""
    team_remainder: str | None = None
    """Why part of a per-person vendor's spend is under no one when that is normal (Copilot: people
    without a seat any more); None when spend under no one means per-person figures were unavailable."""
    seat_price_setting: str | None = None
    """The ``Settings`` attribute holding what a seat costs a month, for a vendor sold by the seat (its
    members are seats, which ``idle`` lists when unused); None for vendors without seats."""
    limits_dataset: str | None = None
    """The dataset that reads people's spend limits back, synced again after one is written; None when
    none does."""


_ENTRIES = (
    VendorTraits(
        vendor=Vendor.CURSOR,
        display_name="Cursor",
        connect_button="Connect Cursor",
        unit=Unit.USD_CENTS,
        reports_usage=True,
        reports_request_counts=True,
        spend_by_person=True,
        utc_days=False,
        team_quarter_hours=True,
        cycle_source=CycleSource.CYCLE_SPEND,
        main_dataset="usage",
        datasets=("probe", "members", "cycle_spend", "usage"),
        live_datasets=("probe",),
        fresh_for=timedelta(hours=1),
        credits_left=CreditsLeft.SPEND_LIMITS,
        near_limit="a member's spend against their spend limit",
        writable_limit=LimitKind.SPEND_LIMIT,
        limits_dataset="cycle_spend",
        quota_windows=(),
        key_label="Admin API key",
        permission_hint="Cursor's Admin API needs an admin API key of a team whose plan includes the API.",
        has_probe=False,
        base_url_setting="cursor_api_url",
        seat_price_setting="cursor_seat_price",
    ),
    VendorTraits(
        vendor=Vendor.WINDSURF,
        display_name="Windsurf",
        connect_button="Connect Windsurf",
        unit=Unit.CREDITS,
        reports_usage=True,
        reports_request_counts=False,
        spend_by_person=True,
        utc_days=True,
        team_quarter_hours=False,
        cycle_source=CycleSource.CREDITS_SNAPSHOT,
        main_dataset="usage",
        datasets=("members", "credits", "usage"),
        live_datasets=("credits",),
        fresh_for=timedelta(hours=3),
        credits_left=CreditsLeft.CREDIT_POOL,
        near_limit="the team's prompt and add-on credits left, and a member's credits against their cap",
        writable_limit=LimitKind.CREDIT_CAP,
        quota_windows=(),
        key_label="Service key",
        permission_hint="The service key needs the Billing Read and Teams Read-Only permissions.",
        has_probe=False,
        base_url_setting="windsurf_api_url",
        seat_price_setting="windsurf_seat_price",
        pace_setting="windsurf_requests_per_minute",
    ),
    VendorTraits(
        vendor=Vendor.OPENAI,
        display_name="OpenAI",
        connect_button="Connect OpenAI",
        unit=Unit.USD_CENTS,
        reports_usage=True,
        reports_request_counts=True,
        spend_by_person=False,
        utc_days=True,
        team_quarter_hours=False,
        cycle_source=CycleSource.CALENDAR_MONTH,
        main_dataset="usage",
        datasets=("members", "usage", "spend_limit"),
        live_datasets=("spend_limit",),
        fresh_for=timedelta(hours=3),
        credits_left=CreditsLeft.CREDIT_POOL,
        near_limit="the month's spend against the organization's hard spend limit, where the key can read it",
        writable_limit=LimitKind.NONE,
        quota_windows=(),
        key_label="Admin API key",
        permission_hint=(
            "OpenAI's costs and usage need an organization Admin API key (Settings → Organization → "
            "Admin keys); a read-only one is enough."
        ),
        has_probe=False,
        base_url_setting="openai_api_url",
        pace_setting="openai_requests_per_minute",
    ),
    VendorTraits(
        vendor=Vendor.ANTHROPIC,
        display_name="Anthropic",
        connect_button="Connect Anthropic",
        unit=Unit.USD_CENTS,
        reports_usage=True,
        reports_request_counts=True,
        spend_by_person=False,
        utc_days=True,
        team_quarter_hours=False,
        cycle_source=CycleSource.CALENDAR_MONTH,
        main_dataset="usage",
        datasets=("probe", "members", "usage", "spend_limits"),
        live_datasets=("probe",),
        fresh_for=timedelta(hours=3),
        credits_left=CreditsLeft.SPEND_LIMITS,
        near_limit="a member's spend this month against their monthly spend limit, where the key can read it",
        writable_limit=LimitKind.SPEND_LIMIT,
        limits_dataset="spend_limits",
        quota_windows=(),
        key_label="Admin API key",
        permission_hint=(
            "Anthropic's cost and Claude Code reports need an organization Admin API key "
            "(sk-ant-admin…, Console → Settings → Admin keys); workspace keys are refused."
        ),
        has_probe=False,
        base_url_setting="anthropic_api_url",
        pace_setting="anthropic_requests_per_minute",
    ),
    VendorTraits(
        vendor=Vendor.COPILOT,
        display_name="Copilot",
        connect_button="Connect GitHub Copilot",
        unit=Unit.USD_CENTS,
        reports_usage=True,
        reports_request_counts=False,
        spend_by_person=True,
        utc_days=True,
        team_quarter_hours=False,
        cycle_source=CycleSource.CALENDAR_MONTH,
        main_dataset="usage",
        datasets=("members", "usage", "budget"),
        live_datasets=("budget",),
        fresh_for=timedelta(hours=3),
        credits_left=CreditsLeft.CREDIT_POOL,
        near_limit="the month's Copilot spend against the organization's Copilot budget",
        writable_limit=LimitKind.NONE,
        quota_windows=(),
        key_label="GitHub token",
        permission_hint=(
            "The token needs the organization's Administration permission (read) for billing usage and "
            "budgets, and GitHub Copilot Business (read) for seats (a classic token: manage_billing:copilot "
            "and read:org); an enterprise needs an enterprise owner's or billing manager's token."
        ),
        has_probe=False,
        base_url_setting="copilot_api_url",
        seat_price_setting="copilot_seat_price",
        account_label="GitHub organization (or enterprise:SLUG)",
        team_remainder="spent by people who no longer hold a Copilot seat, or whose seat shows no activity",
    ),
    VendorTraits(
        vendor=Vendor.REST,
        display_name="REST",
        connect_button="Connect a REST API",
        unit=Unit.USD_CENTS,
        reports_usage=False,
        reports_request_counts=False,
        spend_by_person=False,
        utc_days=False,
        team_quarter_hours=False,
        cycle_source=CycleSource.CALENDAR_MONTH,
        main_dataset="probe",
        datasets=("probe", "tracked"),
        live_datasets=("probe", "tracked"),
        fresh_for=timedelta(minutes=5),
        credits_left=CreditsLeft.TRACKED_FIGURE,
        near_limit="rate-limit headroom of its plan's quotas, and the tracked figure against a threshold",
        writable_limit=LimitKind.NONE,
        quota_windows=(
            ("headers", "the API's own window"),
            ("minute", "the per-minute quota"),
            ("day", "the daily quota"),
        ),
        key_label="API key (sent as a Bearer token)",
        permission_hint="The key needs read access to the probe endpoint.",
        has_probe=True,
        base_url_setting=None,
    ),
)

TRAITS: Mapping[Vendor, VendorTraits] = MappingProxyType({entry.vendor: entry for entry in _ENTRIES})
"""Every vendor's traits, in the order vendors are offered (the App Home's connect buttons)."""


def traits(vendor: Vendor | str) -> VendorTraits:
    """The traits of ``vendor`` (a :class:`Vendor` or its stored string value); ValueError if unknown."""
    return TRAITS[Vendor(vendor)]


def display_name(vendor: Vendor | str) -> str:
    """The vendor's name as people see it, or the raw value for a vendor this version does not know."""
    try:
        return traits(vendor).display_name
    except ValueError:
        return str(vendor)


def seat_vendors() -> tuple[Vendor, ...]:
    """The vendors sold by the seat (their members are seats ``idle`` can judge), in table order."""
    return tuple(vendor for vendor, entry in TRAITS.items() if entry.seat_price_setting is not None)


def usage_vendors() -> tuple[Vendor, ...]:
    """The vendors that report per-person spend, in table order."""
    return tuple(vendor for vendor, entry in TRAITS.items() if entry.reports_usage)
