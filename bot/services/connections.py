"""The vendor accounts a workspace reads, and the one place their clients are built.

A connection is either declared by the operator in the environment (``CURSOR_API_KEY``…, named
``cursor``, ``windsurf``, ``openai``, ``anthropic``, ``copilot``, ``rest``; the key stays in the
environment and the row is marked ``env``) or added in Slack (the key is stored encrypted). Either way
it is a row, scoped by team id, so that sync state, history and alerts hang off one id.

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

from bot.domain.usage import Vendor
from bot.domain.vendors import traits
from bot.services.clock import Clock
from bot.services.secrets import SecretBox
from bot.settings import Settings
from bot.store.connections import ConnectionRepository
from bot.store.db import Database
from bot.store.models import Connection
from bot.vendors import (
    DEFAULT_REQUESTS_PER_HOUR,
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
    """The connections ``cursor``, ``windsurf``, ``openai``, ``anthropic``, ``copilot`` and ``rest``
    declared in the environment."""
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
    if settings.openai_admin_key is not None:
        pace = {"requests_per_minute": settings.openai_requests_per_minute}
        found.append(
            DeclaredConnection(
                "openai", Vendor.OPENAI, settings.openai_api_url, settings.openai_admin_key, pace
            )
        )
    if settings.anthropic_admin_key is not None:
        pace = {"requests_per_minute": settings.anthropic_requests_per_minute}
        key = settings.anthropic_admin_key
        found.append(DeclaredConnection("anthropic", Vendor.ANTHROPIC, settings.anthropic_api_url, key, pace))
    if settings.copilot_token is not None:
        account = {
            "account": settings.copilot_account,
            "requests_per_hour": settings.copilot_requests_per_hour,
        }
        key = settings.copilot_token
        found.append(DeclaredConnection("copilot", Vendor.COPILOT, settings.copilot_api_url, key, account))
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
        store: ConnectionRepository,
        *,
        clock: Clock,
        limiters: LimiterRegistry | None = None,
        observer: TransportObserver | None = None,
        secret_box: Callable[[], SecretBox] | None = None,
    ) -> None:
        self._settings = settings
        self._db = db
        self._store = store
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
        await self._store.ensure_workspace(team_id, name, origin, self._clock())

    async def register_declared(self, team_id: str) -> list[Connection]:
        """Upsert the environment's connections for ``team_id`` and drop env rows no longer declared."""
        await self.ensure_workspace(team_id)
        now = self._clock()
        async with self._db.write() as session:
            rows = await self._store.declared_in_the_environment(session)
            existing = {(row.team_id, row.name): row for row in rows}
            for (row_team, row_name), stale in existing.items():
                if row_team != team_id or row_name not in self._declared:
                    await self._store.delete(session, stale)
            for declared in self._declared.values():
                row = existing.get((team_id, declared.name))
                clashing = await self._store.clashing_with_env(session, team_id, declared.name)
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
                self._store.save(session, row)
        return await self.for_team(team_id)

    # ----- reading ---------------------------------------------------------------------------------

    async def for_team(self, team_id: str) -> list[Connection]:
        return await self._store.for_team(team_id)

    async def every(self) -> list[Connection]:
        return await self._store.every()

    async def get(self, team_id: str, name: str) -> Connection | None:
        return await self._store.named(team_id, name.lower())

    async def by_id(self, connection_id: int) -> Connection | None:
        return await self._store.by_id(connection_id)

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

    def _default_pace(self, connection: Connection) -> int:
        """The vendor's own pace setting (Windsurf's for vendors whose clients do not use one)."""
        setting = traits(connection.vendor).pace_setting or "windsurf_requests_per_minute"
        return int(getattr(self._settings, setting))

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
            requests_per_minute=int(options.get("requests_per_minute") or self._default_pace(connection)),
            requests_per_hour=int(options.get("requests_per_hour") or DEFAULT_REQUESTS_PER_HOUR),
            account=str(options.get("account") or ""),
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
        await self._store.set_status(connection_id, status, detail, self._clock())

    async def delete_team(self, team_id: str) -> None:
        """Forget a workspace entirely (uninstall): its connections, keys and everything hanging off them."""
        for connection_id in await self._store.delete_workspace(team_id):
            self.forget(connection_id)
