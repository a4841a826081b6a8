"""The repositories of one database, built together so the services container wires them in one line."""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.alerts import AlertStateRepository
from bot.store.audit import AuditRepository
from bot.store.charts import ChartFileRepository
from bot.store.confirmations import ConfirmationRepository
from bot.store.connections import ConnectionRepository
from bot.store.db import Database
from bot.store.deliveries import DeliveryRepository
from bot.store.leases import LeaseRepository
from bot.store.limit_requests import LimitRequestRepository
from bot.store.pace import PaceRepository
from bot.store.retention import HistoryRetention
from bot.store.subscriptions import SubscriptionRepository
from bot.store.sync import SyncRecords


@dataclass(frozen=True)
class Repositories:
    """One repository per aggregate, all on the same :class:`Database`."""

    alerts: AlertStateRepository
    audit: AuditRepository
    charts: ChartFileRepository
    confirmations: ConfirmationRepository
    connections: ConnectionRepository
    deliveries: DeliveryRepository
    leases: LeaseRepository
    limit_requests: LimitRequestRepository
    pace: PaceRepository
    retention: HistoryRetention
    subscriptions: SubscriptionRepository
    sync: SyncRecords

    @classmethod
    def on(cls, db: Database) -> Repositories:
        return cls(
            alerts=AlertStateRepository(db),
            audit=AuditRepository(db),
            charts=ChartFileRepository(db),
            confirmations=ConfirmationRepository(db),
            connections=ConnectionRepository(db),
            deliveries=DeliveryRepository(db),
            leases=LeaseRepository(db),
            limit_requests=LimitRequestRepository(db),
            pace=PaceRepository(db),
            retention=HistoryRetention(db),
            subscriptions=SubscriptionRepository(db),
            sync=SyncRecords(db),
        )
