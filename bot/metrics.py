"""Prometheus metrics, in a registry of the app's own (tests build many apps in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

_ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
_SYNC_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)


class Metrics:
    """Every metric spendbot exports; one instance per running app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.slack_requests = Counter(
            "spendbot_slack_requests",
            "Requests received from Slack, by kind (command, interactive, event) and HTTP status.",
            ["kind", "status"],
            registry=registry,
        )
        self.ack_seconds = Histogram(
            "spendbot_ack_seconds",
            "Time from receiving a Slack request to acknowledging it.",
            ["kind"],
            buckets=_ACK_BUCKETS,
            registry=registry,
        )
        self.commands = Counter(
            "spendbot_commands",
            "Slash sub-commands handled, by name and outcome.",
            ["name", "outcome"],
            registry=registry,
        )
        self.vendor_requests = Counter(
            "spendbot_vendor_requests",
            "Requests to vendor APIs, by vendor, endpoint class and status.",
            ["vendor", "endpoint", "status"],
            registry=registry,
        )
        self.vendor_rate_limited = Counter(
            "spendbot_vendor_rate_limited",
            "HTTP 429 answers met from vendors.",
            ["vendor", "endpoint"],
            registry=registry,
        )
        self.limiter_wait_seconds = Counter(
            "spendbot_limiter_wait_seconds",
            "Time vendor requests waited for our own rate limiter.",
            ["vendor", "endpoint"],
            registry=registry,
        )
        self.sync_seconds = Histogram(
            "spendbot_sync_seconds",
            "Duration of vendor syncs, by vendor and outcome.",
            ["vendor", "outcome"],
            buckets=_SYNC_BUCKETS,
            registry=registry,
        )
        self.deliveries = Counter(
            "spendbot_deliveries",
            "Scheduled posts, by kind and outcome.",
            ["kind", "outcome"],
            registry=registry,
        )
        self.alert_transitions = Counter(
            "spendbot_alert_transitions",
            "Alert state machine actions taken (fire, remind, resolve).",
            ["kind", "action"],
            registry=registry,
        )

        self.digest_builds = Counter(
            "spendbot_digest_builds",
            "Digests built: once per distinct content of a scheduled pass, however many channels get it.",
            registry=registry,
        )
        self.scheduled_jobs = Counter(
            "spendbot_scheduled_jobs",
            "Runs of the scheduler's jobs (settle, digests, syncs, checks, purge), by job and outcome.",
            ["job", "outcome"],
            registry=registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)

    # The vendor transports report here (structurally a bot.vendors.base.TransportObserver).

    def on_response(self, vendor: str, endpoint_class: str, status: int | str, seconds: float) -> None:
        self.vendor_requests.labels(vendor=vendor, endpoint=endpoint_class, status=str(status)).inc()

    def on_rate_limited(self, vendor: str, endpoint_class: str) -> None:
        self.vendor_rate_limited.labels(vendor=vendor, endpoint=endpoint_class).inc()

    def on_wait(self, vendor: str, endpoint_class: str, seconds: float) -> None:
        self.limiter_wait_seconds.labels(vendor=vendor, endpoint=endpoint_class).inc(seconds)
