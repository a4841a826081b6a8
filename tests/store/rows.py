"""Rows the repository tests stand on: a workspace, a connection, a subscription, a ledger row, usage."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bot.domain.usage import Granularity, SpendRow, Unit, Vendor
from bot.store.db import Database
from bot.store.models import Connection, Delivery, Subscription, Workspace

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


async def workspace(db: Database, team_id: str = "T1") -> None:
    async with db.write() as session:
        session.add(Workspace(team_id=team_id, installed_at=NOW))


async def connection(
    db: Database,
    team_id: str = "T1",
    name: str = "cursor",
    *,
    origin: str = "slack",
    secret: str | None = None,
) -> Connection:
    row = Connection(
        team_id=team_id,
        name=name,
        vendor="cursor",
        base_url="http://x",
        origin=origin,
        secret_ciphertext=secret,
        created_at=NOW,
    )
    async with db.write() as session:
        session.add(row)
    assert row.id is not None
    return row


async def subscription(db: Database, team_id: str = "T1", **values: Any) -> Subscription:
    fields: dict[str, Any] = {"channel_id": "C1", "kind": "budget", "params": {}, "created_at": NOW}
    fields.update(values)
    row = Subscription(team_id=team_id, **fields)
    async with db.write() as session:
        session.add(row)
    assert row.id is not None
    return row


def delivery(key: str, *, team_id: str = "T1", subscription_id: int | None = None, **values: Any) -> Delivery:
    fields: dict[str, Any] = {
        "channel_id": "C1",
        "kind": "digest",
        "period": "2026-11-20",
        "state": "posting",
        "created_at": NOW,
        "updated_at": NOW,
        "payload": {"text": "hello", "blocks": [], "keys": [key]},
    }
    fields.update(values)
    return Delivery(idempotency_key=key, team_id=team_id, subscription_id=subscription_id, **fields)


def quarter(email: str, moment: datetime, cents: str = "0", requests: int = 0, tokens: int = 0) -> SpendRow:
    """A quarter hour of one person's Cursor usage."""
    return SpendRow(
        vendor=Vendor.CURSOR,
        bucket_start=moment,
        granularity=Granularity.QUARTER_HOUR,
        user_email=email,
        model="m",
        amount=Decimal(cents),
        unit=Unit.USD_CENTS,
        requests=Decimal(requests),
        tokens=tokens,
    )
