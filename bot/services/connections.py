"""The vendor accounts a workspace reads, and the one place their clients are built.

A connection is either declared by the operator in the environment (``CURSOR_API_KEY``…, named
``cursor``, ``windsurf``, ``rest``; the key stays in the environment and the row is marked ``env``) or
added in Slack (the key is stored encrypted). Either way it is a row, scoped by team id, so that sync
state, history and alerts hang off one id.

Clients are cached per connection and share the process's HTTP client and limiter registry: one
limiter per (connection, endpoint class), whoever calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr
from sqlmodel import col, delete, select

from bot.domain.usage import Vendor
from bot.services.clock import Clock
from bot.services.secrets import SecretBox
from bot.settings import Settings
from bot.store.db import Database
from bot.store.models import Connection, Workspace
from bot.vendors import (
    ConnectionConfig,
    LimiterRegistry,
    RetryPolicy,
    TransportObserver,
    VendorClient,
    make_client,
    make_http_client,
)

log = logging.getLogger(__name__)

PROBE_RETRY = RetryPolicy(rate_limited_attempts=1, failure_attempts=2, backoff_base=0.25, backoff_cap=1.0)
"""How hard a key check tries: a transient failure gets one more attempt, a 429 none (the person retries)."""


class ConnectionStatus:
    NEW = "new"
    OK = "ok"
    FAILING = "failing"
    REJECTED = "rejected"


@dataclass(frozen=True)
class DeclaredConnection:
    """A connection the operator declared in the environment."""

    name: str
    vendor: Vendor
    base_url: str
    secret: SecretStr = field(repr=False)
    options: dict[str, Any] = field(default_factory=dict)


def declared_connections(settings: Settings) -> list[DeclaredConnection]:
    """The connections named ``cursor``, ``windsurf`` and ``rest`` that the environment declares."""
    found: list[DeclaredConnection] = []
    if settings.cursor_api_key is not None:
        found.append(
            DeclaredConnection("cursor", Vendor.CURSOR, settings.cursor_api_url, settings.cursor_api_key)
        )
    if settings.windsurf_service_key is not None:
        found.append(
            DeclaredConnection(
                "windsurf",
                Vendor.WINDSURF,
                settings.windsurf_api_url,
                settings.windsurf_service_key,
                {"requests_per_minute": settings.windsurf_requests_per_minute},
            )
        )
    if settings.rest_api_key is not None and settings.rest_api_url:
        options: dict[str, Any] = {
            "probe_path": settings.rest_probe_path or "",
            "per_minute": settings.rest_per_minute,
            "per_day": settings.rest_per_day,
            "track": settings.rest_track,
        }
        found.append(
            DeclaredConnection("rest", Vendor.REST, settings.rest_api_url, settings.rest_api_key, options)
        )
    return found


def key_hint(secret: str) -> str:
    """At most the last four characters, and none of a short key."""
    return secret[-4:] if len(secret) >= 12 else ""


class ConnectionRegistry:
    """Rows, decrypted configs and cached clients of every connection."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        clock: Clock,
        limiters: LimiterRegistry | None = None,
        observer: TransportObserver | None = None,
        secret_box: Callable[[], SecretBox] | None = None,
    ) -> None:
        self._settings = settings
        self._db = db
        self._clock = clock
        self.limiters = limiters or LimiterRegistry()
        self._observer = observer
        self._box_factory = secret_box or (lambda: SecretBox.from_settings(settings))
        self._box: SecretBox | None = None
        self._http: httpx.AsyncClient | None = None
        self._clients: dict[int, tuple[tuple[Any, ...], VendorClient]] = {}
        self._declared = {item.name: item for item in declared_connections(settings)}

    @property
    def box(self) -> SecretBox:
        if self._box is None:
            self._box = self._box_factory()
        return self._box

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = make_http_client()
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        self._clients.clear()

    # ----- workspaces and declared connections -------------------------------------------------

    async def ensure_workspace(self, team_id: str, *, name: str | None = None, origin: str = "token") -> None:
        async with self._db.write() as session:
            workspace = await session.get(Workspace, team_id)
            if workspace is None:
                session.add(Workspace(team_id=team_id, name=name, origin=origin, installed_at=self._clock()))
            elif name and workspace.name != name:
                workspace.name = name
                session.add(workspace)

    async def register_declared(self, team_id: str) -> list[Connection]:
        """Upsert the environment's connections for ``team_id`` and drop env rows no longer declared."""
        await self.ensure_workspace(team_id)
        now = self._clock()
        async with self._db.write() as session:
            rows = (await session.exec(select(Connection).where(Connection.origin == "env"))).all()
            existing = {(row.team_id, row.name): row for row in rows}
            for (row_team, row_name), stale in existing.items():
                if row_team != team_id or row_name not in self._declared:
                    await session.delete(stale)
            for declared in self._declared.values():
                row = existing.get((team_id, declared.name))
                clashing = (
                    await session.exec(
                        select(Connection).where(
                            Connection.team_id == team_id,
                            Connection.name == declared.name,
                            Connection.origin != "env",
                        )
                    )
                ).first()
                if clashing is not None:
                    log.warning(
                        "the environment declares %r but a connection added in Slack has that name; "
                        "keeping the one from Slack",
                        declared.name,
                    )
                    continue
                if row is None:
                    row = Connection(
                        team_id=team_id,
                        name=declared.name,
                        vendor=declared.vendor.value,
                        created_at=now,
                        base_url="",
                    )
                row.vendor = declared.vendor.value
                row.base_url = declared.base_url
                row.origin = "env"
                row.options = declared.options
                row.key_hint = key_hint(declared.secret.get_secret_value())
                row.secret_ciphertext = None
                session.add(row)
        return await self.for_team(team_id)

    # ----- reading ---------------------------------------------------------------------------------

    async def for_team(self, team_id: str) -> list[Connection]:
        async with self._db.session() as session:
            rows = await session.exec(
                select(Connection).where(Connection.team_id == team_id).order_by(col(Connection.name))
            )
            return list(rows.all())

    async def every(self) -> list[Connection]:
        async with self._db.session() as session:
            return list((await session.exec(select(Connection).order_by(col(Connection.id)))).all())

    async def get(self, team_id: str, name: str) -> Connection | None:
        async with self._db.session() as session:
            rows = await session.exec(
                select(Connection).where(Connection.team_id == team_id, Connection.name == name.lower())
            )
            return rows.first()

    async def by_id(self, connection_id: int) -> Connection | None:
        async with self._db.session() as session:
            return await session.get(Connection, connection_id)

    # ----- clients ---------------------------------------------------------------------------------

    def secret_of(self, connection: Connection) -> SecretStr:
        if connection.origin == "env":
            declared = self._declared.get(connection.name)
            if declared is None:
                raise LookupError(f"connection {connection.name!r} is no longer declared in the environment")
            return declared.secret
        if connection.secret_ciphertext is None:
            raise LookupError(f"connection {connection.name!r} has no stored key")
        return self.box.decrypt(connection.secret_ciphertext)

    def config(self, connection: Connection, *, secret: SecretStr | None = None) -> ConnectionConfig:
        options = connection.options or {}
        assert connection.id is not None
        return ConnectionConfig(
            key=str(connection.id),
            name=connection.name,
            vendor=Vendor(connection.vendor),
            base_url=connection.base_url,
            secret=secret or self.secret_of(connection),
            probe_path=str(options.get("probe_path") or ""),
            per_minute=options.get("per_minute"),
            per_day=options.get("per_day"),
            track=options.get("track"),
            requests_per_minute=int(
                options.get("requests_per_minute") or self._settings.windsurf_requests_per_minute
            ),
        )

    def client(self, connection: Connection) -> VendorClient:
        """The cached client of ``connection``, rebuilt when its URL, options or key change."""
        assert connection.id is not None
        fingerprint = (
            connection.base_url,
            repr(sorted((connection.options or {}).items())),
            connection.secret_ciphertext,
        )
        cached = self._clients.get(connection.id)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        client = self.build_client(self.config(connection))
        self._clients[connection.id] = (fingerprint, client)
        return client

    def build_client(self, config: ConnectionConfig) -> VendorClient:
        return make_client(
            config, http=self.http, limiters=self.limiters, clock=self._clock, observer=self._observer
        )

    def build_probe_client(self, config: ConnectionConfig) -> VendorClient:
        """A client for checking a new key: one retry at most, so a person waits seconds, not a minute."""
        return make_client(
            config,
            http=self.http,
            limiters=self.limiters,
            clock=self._clock,
            observer=self._observer,
            retry=PROBE_RETRY,
        )

    def forget(self, connection_id: int) -> None:
        self._clients.pop(connection_id, None)

    async def set_status(self, connection_id: int, status: str, detail: str | None = None) -> None:
        async with self._db.write() as session:
            row = await session.get(Connection, connection_id)
            if row is None:
                return
            if row.status != status or row.status_detail != detail:
                row.status = status
                row.status_detail = detail[:500] if detail else None
                row.status_at = self._clock()
                session.add(row)

    async def delete_team(self, team_id: str) -> None:
        """Forget a workspace entirely (uninstall): its connections, keys and everything hanging off them."""
        async with self._db.write() as session:
            ids = (await session.exec(select(Connection.id).where(Connection.team_id == team_id))).all()
            await session.exec(delete(Workspace).where(col(Workspace.team_id) == team_id))
        for connection_id in ids:
            if connection_id is not None:
                self.forget(connection_id)
