"""The services of one running bot, built once from the settings and passed to every layer."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import NamedTuple

from bot.metrics import Metrics
from bot.services.access import Access
from bot.services.alerts import AlertService
from bot.services.audit import AuditedAccess, AuditLog
from bot.services.backtests import Backtests
from bot.services.charts import ChartService
from bot.services.clock import Clock, system_clock
from bot.services.confirmations import Confirmations
from bot.services.connect import ConnectionAdmin
from bot.services.connections import ConnectionRegistry
from bot.services.credit_figures import CreditFigures
from bot.services.deliveries import DeliveryLedger, history_pacing
from bot.services.digest import DigestService
from bot.services.exports import ExportService
from bot.services.freshness import Freshener
from bot.services.idle_report import IdleReport
from bot.services.leases import Leases
from bot.services.limit_requests import LimitRequests
from bot.services.people import People
from bot.services.people_report import PeopleReport
from bot.services.person_keys import AliasedSyncRecords
from bot.services.publisher import Publisher
from bot.services.secrets import KEY_FILE_NAME
from bot.services.shared_pace import SharedPace
from bot.services.slack_api import SlackApi
from bot.services.sources import SourcePicker
from bot.services.spend_answers import SpendAnswers
from bot.services.spike_report import SpikeReport
from bot.services.status_answers import StatusAnswers
from bot.services.subscriptions import SubscriptionService
from bot.services.sync import SyncService
from bot.services.usage_figures import UsageFigures
from bot.services.writes import WriteService
from bot.settings import Settings
from bot.store.db import Database
from bot.store.repositories import Repositories
from bot.vendors import LimiterRegistry

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything the Slack layer, the scheduler and the CLI need, created once per process."""

    settings: Settings
    db: Database
    store: Repositories
    slack: SlackApi
    access: Access
    connections: ConnectionRegistry
    sync: SyncService
    audit: AuditLog
    connection_admin: ConnectionAdmin
    people: People
    sources: SourcePicker
    freshener: Freshener
    usage_figures: UsageFigures
    credit_figures: CreditFigures
    spend_answers: SpendAnswers
    people_report: PeopleReport
    idle_report: IdleReport
    backtests: Backtests
    status_answers: StatusAnswers
    exports: ExportService
    writes: WriteService
    subscriptions: SubscriptionService
    ledger: DeliveryLedger
    alerts: AlertService
    digests: DigestService
    publisher: Publisher
    confirmations: Confirmations
    limit_requests: LimitRequests
    metrics: Metrics = field(default_factory=Metrics)
    clock: Clock = system_clock
    env_team_id: str | None = None

    @classmethod
    def create(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        metrics: Metrics | None = None,
        limiters: LimiterRegistry | None = None,
        slack_pacing: LimiterRegistry | None = None,
    ) -> Services:
        """Build every service. ``limiters`` paces vendor calls and ``slack_pacing`` scheduled Slack posts
        (each a registry of its own by default; tests and benchmarks pass time-scaled ones)."""
        clock = clock or system_clock
        metrics = metrics or Metrics()
        base = _foundation(settings, clock, metrics, limiters)
        db, store, slack, connections, sync, audit = base
        confirmations = Confirmations(store.confirmations, clock=clock)
        writes = WriteService(store.sync, connections, sync, audit, confirmations, clock=clock)
        access = AuditedAccess(settings, slack, audit)
        reads = _reads(settings, base, access, clock)
        subscriptions = SubscriptionService(
            settings, db, store.subscriptions, store.connections, slack, audit, clock=clock
        )
        ledger, alerts, digests, publisher = _scheduled_posting(
            settings, base, reads, subscriptions, clock, metrics, slack_pacing
        )
        return cls(
            settings=settings,
            db=db,
            store=store,
            slack=slack,
            access=access,
            connections=connections,
            sync=sync,
            audit=audit,
            connection_admin=ConnectionAdmin(
                settings, db, store.connections, store.sync, connections, sync, audit, clock=clock
            ),
            people=reads.people,
            sources=reads.sources,
            freshener=reads.freshener,
            usage_figures=reads.usage_figures,
            credit_figures=reads.credit_figures,
            spend_answers=reads.spend_answers,
            people_report=PeopleReport(reads.people, reads.sources, reads.freshener, reads.usage_figures),
            idle_report=reads.idle_report,
            backtests=Backtests(
                settings,
                reads.people,
                reads.sources,
                reads.freshener,
                reads.spike_report,
                subscriptions,
                reads.usage_figures,
                reads.credit_figures,
                clock=clock,
            ),
            status_answers=reads.status_answers,
            exports=ExportService(
                db, reads.people, reads.sources, reads.freshener, reads.usage_figures, access, slack
            ),
            writes=writes,
            subscriptions=subscriptions,
            ledger=ledger,
            alerts=alerts,
            digests=digests,
            publisher=publisher,
            confirmations=confirmations,
            limit_requests=LimitRequests(
                store.limit_requests,
                store.sync,
                connections,
                reads.people,
                subscriptions,
                writes,
                ledger,
                slack,
                audit,
                clock=clock,
            ),
            metrics=metrics,
            clock=clock,
        )

    async def start(self, *, identify_workspace: bool = True) -> None:
        """Bring the schema up to date, then register the workspace the environment's connections belong to.

        That is the bot-token workspace (found with ``auth.test``), or ``SPENDBOT_ENV_TEAM_ID`` under OAuth.
        """
        await self.db.upgrade()
        self._prepare_secret_key()
        team_id = self.settings.env_team_id
        team_name: str | None = None
        if team_id is None and identify_workspace and self.settings.slack_bot_token is not None:
            team_id, team_name = await self.slack.identify_bot_workspace()
        if team_id is not None:
            await self.use_env_team(team_id, name=team_name)

    async def use_env_team(self, team_id: str, *, name: str | None = None) -> None:
        """Make ``team_id`` the owner of the connections declared in the environment."""
        self.env_team_id = team_id
        await self.connections.ensure_workspace(team_id, name=name)
        declared = await self.connections.register_declared(team_id)
        if declared:
            log.info("workspace %s has connections: %s", team_id, ", ".join(row.name for row in declared))

    def _prepare_secret_key(self) -> None:
        """Load (or generate, once) the key that encrypts vendor keys now, so start-up says where it is."""
        self.connections.box  # noqa: B018 - loading it is the point: a bad key stops start-up here
        if self.settings.secret_key is None:
            log.info(
                "stored vendor keys are encrypted with the generated key in %s; back it up with the database",
                self.settings.data_dir / KEY_FILE_NAME,
            )

    async def close(self) -> None:
        await self.connection_admin.close()
        await self.connections.close()
        await self.slack.close()
        await self.db.dispose()


class _Foundation(NamedTuple):
    """What every other service stands on: the store, Slack, vendor connections and their sync, the audit."""

    db: Database
    store: Repositories
    slack: SlackApi
    connections: ConnectionRegistry
    sync: SyncService
    audit: AuditLog


def _foundation(
    settings: Settings, clock: Clock, metrics: Metrics, limiters: LimiterRegistry | None
) -> _Foundation:
    db = Database(settings.database_url)
    store = Repositories.on(db)
    slack = SlackApi(settings)
    connections = ConnectionRegistry(
        settings, db, store.connections, clock=clock, limiters=limiters, observer=metrics
    )
    sync = SyncService(AliasedSyncRecords(db, settings.aliases), connections, clock=clock, metrics=metrics)
    audit = AuditLog(store.audit, clock=clock)
    return _Foundation(db, store, slack, connections, sync, audit)


class _Reads(NamedTuple):
    """What answers the read commands and feeds digests, alerts and exports."""

    people: People
    sources: SourcePicker
    freshener: Freshener
    usage_figures: UsageFigures
    credit_figures: CreditFigures
    spend_answers: SpendAnswers
    status_answers: StatusAnswers
    idle_report: IdleReport
    spike_report: SpikeReport


def _reads(settings: Settings, base: _Foundation, access: Access, clock: Clock) -> _Reads:
    db, _, slack, connections, sync, _ = base
    people = People(settings, db, access, slack)
    sources = SourcePicker(settings, connections)
    freshener = Freshener(sync, clock=clock, sync_interval=timedelta(seconds=settings.sync_interval))
    figures = UsageFigures(settings, db, clock=clock)
    credit_figures = CreditFigures(db, figures, clock=clock)
    return _Reads(
        people,
        sources,
        freshener,
        figures,
        credit_figures,
        SpendAnswers(settings, db, people, sources, freshener, figures),
        StatusAnswers(people, sources, freshener, figures, credit_figures, sync),
        IdleReport(db, settings, people, sources, freshener, clock=clock),
        SpikeReport(db, figures),
    )


class _ScheduledPosting(NamedTuple):
    """What scheduled posts go through: the delivery ledger, alerts, digests, and the publisher of them."""

    ledger: DeliveryLedger
    alerts: AlertService
    digests: DigestService
    publisher: Publisher


def _digests(
    settings: Settings,
    reads: _Reads,
    subscriptions: SubscriptionService,
    charts: ChartService,
    alerts: AlertService,
    clock: Clock,
    metrics: Metrics,
) -> DigestService:
    return DigestService(
        settings,
        reads.sources,
        reads.usage_figures,
        reads.freshener,
        reads.credit_figures,
        subscriptions,
        charts,
        alerts,
        reads.idle_report,
        reads.spike_report,
        clock=clock,
        metrics=metrics,
    )


def _scheduled_posting(
    settings: Settings,
    base: _Foundation,
    reads: _Reads,
    subscriptions: SubscriptionService,
    clock: Clock,
    metrics: Metrics,
    slack_pacing: LimiterRegistry | None,
) -> _ScheduledPosting:
    db, store, slack, connections, sync, _ = base
    ledger = DeliveryLedger(
        store.deliveries,
        slack,
        clock=clock,
        metrics=metrics,
        pacing=slack_pacing,
        shared=SharedPace(store.pace, time_scale=slack_pacing.time_scale if slack_pacing else 1.0),
        history=history_pacing(distributed=settings.oauth_enabled),
    )
    alerts = AlertService(
        settings,
        store.alerts,
        store.deliveries,
        reads.sources,
        reads.usage_figures,
        reads.credit_figures,
        subscriptions,
        sync,
        ledger,
        reads.spike_report,
        clock=clock,
        metrics=metrics,
    )
    charts = ChartService(settings, db, store.charts, slack, clock=clock)
    digests = _digests(settings, reads, subscriptions, charts, alerts, clock, metrics)
    publisher = Publisher(
        settings,
        store.retention,
        connections,
        sync,
        subscriptions,
        digests,
        alerts,
        ledger,
        Leases(store.leases, clock=clock),
        clock=clock,
        metrics=metrics,
    )
    return _ScheduledPosting(ledger, alerts, digests, publisher)
