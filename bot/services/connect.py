"""Adding, listing and removing the connections of a workspace, and re-encrypting their keys.

A key typed in Slack is tried with one cheap live call before anything is saved; only then is it
encrypted (:class:`~bot.services.secrets.SecretBox`) and stored, and the change recorded in the audit log
in the same transaction. This module is the one place that turns vendor exceptions into the readable
failure kinds people see (key rejected, key lacks a permission or plan, vendor unreachable…), so the
Slack layer never meets a vendor exception.

Everything is scoped by the team id of the request: a name is looked up within that workspace only,
so no command, button or view of one workspace can reach another's connections.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy.exc import IntegrityError

from bot.domain.errors import UserInputError, code_span
from bot.domain.grammar import Disconnect, parse_command
from bot.domain.usage import Vendor
from bot.domain.vendors import display_name, traits
from bot.logs import register_secret
from bot.messages.connections import ConnectionSummary
from bot.services.audit import AuditLog
from bot.services.clock import Clock
from bot.services.connections import ConnectionRegistry, ConnectionStatus, key_hint
from bot.services.errors import NotAllowed, NotFound, ServiceError
from bot.services.secrets import SecretBox, SecretKeyError
from bot.services.sync import SyncService
from bot.settings import Settings
from bot.store.connections import ConnectionRepository
from bot.store.db import Database
from bot.store.models import Connection
from bot.store.sync import SyncRecords
from bot.vendors import (
    AuthError,
    ConnectionConfig,
    PermissionDenied,
    RateLimited,
    UpstreamError,
    VendorError,
    interactive,
)
from bot.vendors.base import resolve_url
from bot.vendors.rest import parse_track

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 20.0
"""Seconds a key check may take in all before it counts as "too slow" (the modal has long closed by then)."""
MAX_KEY_CHARS = 2000
MIN_SCRUBBED_KEY_CHARS = 12
"""Shorter "keys" are not scrubbed from logs: a word typed by mistake would blank that word everywhere."""
MAX_URL_CHARS = 500
MAX_PATH_CHARS = 300
MAX_QUOTA = 100_000_000
_MESSAGE_CHARS = 200

_WHITESPACE = re.compile(r"\s")
#: A GitHub organization or enterprise slug (letters, digits, inner hyphens, at most 39), or enterprise:SLUG.
_GITHUB_ACCOUNT = re.compile(r"(enterprise:)?[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?")


class FailureKind(StrEnum):
    """Why a key was not accepted, in the words people see."""

    KEY_REJECTED = "key rejected"
    LACKS_PERMISSION = "key lacks a permission or plan"
    UNREACHABLE = "vendor unreachable or too slow"
    RATE_LIMITED = "vendor is rate-limiting this key"
    UNEXPECTED = "unexpected answer"


class FormErrors(ServiceError):
    """Some fields of the connect form are wrong; ``errors`` maps a field name to a sentence about it."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__(" ".join(self.errors.values()))


@dataclass(frozen=True)
class ConnectForm:
    """What a person submitted in the connect form, validated. ``key`` never shows in ``repr``."""

    vendor: Vendor
    name: str
    base_url: str
    key: SecretStr = field(repr=False)
    probe_path: str = ""
    per_minute: int | None = None
    per_day: int | None = None
    track: str | None = None
    account: str = ""

    def options(self) -> dict[str, Any]:
        """The connection's options as stored (the same keys as the environment's connections)."""
        options: dict[str, Any] = {}
        if traits(self.vendor).has_probe:
            options |= {
                "probe_path": self.probe_path,
                "per_minute": self.per_minute,
                "per_day": self.per_day,
                "track": self.track,
            }
        if self.account:
            options["account"] = self.account
        return options


@dataclass(frozen=True)
class KeyCheckFailure:
    """A key that did not pass: the kind, and a sentence for people (never containing the key)."""

    kind: FailureKind
    message: str


@dataclass(frozen=True)
class ConnectResult:
    """Either the stored connection or why the key was refused."""

    connection: Connection | None = None
    failure: KeyCheckFailure | None = None


@dataclass(frozen=True)
class RotationReport:
    """What ``rotate-key`` did: keys re-encrypted, keys already under the first key, keys not opened."""

    rotated: int
    current: int
    failed: list[str]

    def summary(self) -> str:
        line = (
            f"re-encrypted {self.rotated} stored key{'s' if self.rotated != 1 else ''} under the first key "
            f"of SPENDBOT_SECRET_KEY ({self.current} already were)"
        )
        if self.failed:
            line += (
                f"; {len(self.failed)} could not be decrypted with any key given "
                f"({', '.join(self.failed[:10])})"
            )
        return line


def default_base_url(vendor: Vendor | str, settings: Settings) -> str:
    """The base URL the connect form falls back to, or "" where the form requires one (REST)."""
    setting = traits(vendor).base_url_setting
    return str(getattr(settings, setting)) if setting else ""


def read_form(vendor: str, values: Mapping[str, str | None], settings: Settings) -> ConnectForm:
    """Validate the raw fields of the connect form; raise :class:`FormErrors` naming each wrong field.

    ``values`` holds ``name``, ``key``, ``base_url``, for Copilot ``account``, and, for REST,
    ``probe_path``, ``per_minute``, ``per_day`` and ``track``, as typed (None or blank when left empty).
    """
    try:
        kind = Vendor(vendor)
    except ValueError:
        raise FormErrors({"key": "This form is for an unknown vendor; start again with `connect`."}) from None
    errors: dict[str, str] = {}

    name = _field(values, "name").lower() or kind.value
    if not is_connection_name(name):
        errors["name"] = "Use 1 to 40 lowercase letters, digits, - or _ (and not a word of the commands)."

    key = _field(values, "key")
    if problem := key_problem(key):
        errors["key"] = problem

    base_url = _field(values, "base_url").rstrip("/") or default_base_url(kind, settings)
    url_problem = _url_problem(base_url) if base_url else "The REST API's base URL is required."
    if url_problem:
        errors["base_url"] = url_problem

    probe = (
        _read_probe(values, None if url_problem else base_url, errors)
        if traits(kind).has_probe
        else _NO_PROBE
    )
    account = _field(values, "account") if traits(kind).account_label else ""
    if traits(kind).account_label and not _GITHUB_ACCOUNT.fullmatch(account):
        errors["account"] = "Give the GitHub organization as in github.com/ORG, or enterprise:SLUG."
    if errors:
        raise FormErrors(errors)
    return ConnectForm(
        vendor=kind,
        name=name,
        base_url=base_url,
        key=SecretStr(key),
        probe_path=probe.path,
        per_minute=probe.per_minute,
        per_day=probe.per_day,
        track=probe.track,
        account=account,
    )


@dataclass(frozen=True)
class _ProbeFields:
    """The connect form's fields that only a vendor with a probe endpoint (REST) has."""

    path: str = ""
    per_minute: int | None = None
    per_day: int | None = None
    track: str | None = None


_NO_PROBE = _ProbeFields()


def _field(values: Mapping[str, str | None], name: str) -> str:
    return (values.get(name) or "").strip()


def _read_probe(
    values: Mapping[str, str | None], base_url: str | None, errors: dict[str, str]
) -> _ProbeFields:
    """The probe fields as typed, adding a sentence to ``errors`` for each wrong one.

    ``base_url`` is None when the base URL is itself wrong: paths are then not checked against it, so
    the person sees the one mistake to fix first.
    """
    path = _field(values, "probe_path")
    if path and base_url is not None and (problem := _path_problem(base_url, path)):
        errors["probe_path"] = problem
    per_minute = _quota(_field(values, "per_minute"), "per_minute", errors)
    per_day = _quota(_field(values, "per_day"), "per_day", errors)
    track = _field(values, "track") or None
    if track is not None and (problem := track_problem(track, base_url)):
        errors["track"] = problem
    return _ProbeFields(path=path, per_minute=per_minute, per_day=per_day, track=track)


def key_problem(key: str) -> str | None:
    """What is wrong with a pasted key, in a sentence, or None when it can be tried."""
    if not key:
        return "Paste the key."
    if len(key) > MAX_KEY_CHARS:
        return f"That is longer than any key (at most {MAX_KEY_CHARS} characters); paste it again."
    if _WHITESPACE.search(key) or not key.isprintable():
        return "A key is one word without spaces; paste it again."
    return None


def track_problem(track: str, base_url: str | None) -> str | None:
    """What is wrong with a ``PATH#json.field`` to track, or None.

    The path is checked against ``base_url`` (so the key is never sent to another host) unless that is
    None because the base URL is itself wrong.
    """
    try:
        path, _ = parse_track(track)
    except ValueError:
        return "Write it as PATH#json.field, for example /v1/usage#data.credits_remaining."
    return _path_problem(base_url, path) if path and base_url is not None else None


def is_connection_name(name: str) -> bool:
    """Whether ``name`` can name a connection: exactly what ``disconnect <name>`` accepts."""
    try:
        parsed = parse_command(f"disconnect {name}")
    except UserInputError:
        return False
    return isinstance(parsed, Disconnect) and parsed.name == name


def _url_problem(url: str) -> str | None:
    if len(url) > MAX_URL_CHARS:
        return f"The base URL can be at most {MAX_URL_CHARS} characters."
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        return "That is not a URL; write it like https://api.example.com/v1."
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return "The base URL must start with https:// (or http://) and name a host."
    if parsed.userinfo:
        return "Leave credentials out of the URL: the key goes in its own field."
    if parsed.query or parsed.fragment or "?" in url or "#" in url:
        return "The base URL cannot have a query (?…) or a fragment (#…)."
    if _WHITESPACE.search(url):
        return "The base URL cannot contain spaces."
    return None


def _path_problem(base_url: str, path: str) -> str | None:
    if len(path) > MAX_PATH_CHARS or _WHITESPACE.search(path):
        return f"Write a path such as /v1/account (at most {MAX_PATH_CHARS} characters, no spaces)."
    if not path.startswith(("/", "http://", "https://")):
        return "Write a path starting with /, such as /v1/account."
    try:
        resolve_url(base_url, path)
    except ValueError:
        return "A full URL must be under the base URL, so the key is never sent to another host."
    return None


def _quota(raw: str, field_name: str, errors: dict[str, str]) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) <= MAX_QUOTA:
        errors[field_name] = "A quota is a whole number of requests, more than zero."
        return None
    return int(raw)


def explain(error: VendorError | TimeoutError, vendor: Vendor, secret: str) -> KeyCheckFailure:
    """The one mapping from a failed key check to the kind and sentence people see."""
    title = display_name(vendor)
    said = "" if isinstance(error, TimeoutError) else _vendor_words(error, secret)
    if isinstance(error, AuthError):
        return KeyCheckFailure(
            FailureKind.KEY_REJECTED,
            f"Key rejected: {title} did not accept this key{said}. Check that you pasted the whole key "
            "and that it has not been revoked.",
        )
    if isinstance(error, PermissionDenied):
        return KeyCheckFailure(
            FailureKind.LACKS_PERMISSION,
            f"The key lacks a permission or plan: {title} knows the key but refused the request{said}. "
            f"{traits(vendor).permission_hint}",
        )
    if isinstance(error, RateLimited):
        return KeyCheckFailure(
            FailureKind.RATE_LIMITED,
            f"{title} is rate-limiting this key right now{said}. Try again in a minute.",
        )
    if isinstance(error, UpstreamError | TimeoutError):
        return KeyCheckFailure(
            FailureKind.UNREACHABLE,
            f"Vendor unreachable or too slow: {title} could not be reached or did not answer in time{said}. "
            "Check the base URL, or try again in a minute.",
        )
    if error.status == 404 and traits(vendor).account_label is not None:
        return KeyCheckFailure(
            FailureKind.UNEXPECTED,
            f"{title} found no such account{said}: check the organization's name, and that the token can "
            "see it (GitHub answers 404 for an organization the token has no access to).",
        )
    return KeyCheckFailure(
        FailureKind.UNEXPECTED,
        f"{title} answered in a way spendbot did not expect{said}. Check the base URL"
        f"{' and the probe endpoint' if traits(vendor).has_probe else ''}.",
    )


def _vendor_words(error: VendorError, secret: str) -> str:
    """The vendor's own message, cut short, when it is safe to show: never the key, nor any of it."""
    status = f"HTTP {error.status}" if error.status is not None else ""
    message = " ".join((error.message or "").split())
    if secret and len(secret) >= 4 and (secret in message or secret[-8:] in message):
        message = ""
    if len(message) > _MESSAGE_CHARS:
        message = message[: _MESSAGE_CHARS - 1] + "…"
    parts = [part for part in (status, f"“{message}”" if message else "") if part]
    return f" ({': '.join(parts)})" if parts else ""


def new_connection(
    team_id: str, user_id: str, form: ConnectForm, *, ciphertext: str, now: datetime
) -> Connection:
    """The row of a connection added in Slack from ``form``, its key already encrypted as ``ciphertext``."""
    secret = form.key.get_secret_value()
    return Connection(
        team_id=team_id,
        name=form.name,
        vendor=form.vendor.value,
        base_url=form.base_url,
        origin="slack",
        secret_ciphertext=ciphertext,
        key_hint=key_hint(secret),
        options=form.options(),
        created_by=user_id,
        created_at=now,
        status=ConnectionStatus.OK,
        status_at=now,
    )


class ConnectionAdmin:
    """The admin side of connections: check and add a key, list, remove, re-encrypt.

    Callers have already passed the admin gate; this class scopes every read and write by team id.
    """

    def __init__(
        self,
        settings: Settings,
        db: Database,
        store: ConnectionRepository,
        sync_records: SyncRecords,
        registry: ConnectionRegistry,
        sync: SyncService,
        audit: AuditLog,
        *,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._db = db
        self._store = store
        self._sync_records = sync_records
        self._registry = registry
        self._sync = sync
        self._audit = audit
        self._clock = clock
        self._background: set[asyncio.Task[None]] = set()

    def read_form(self, vendor: str, values: Mapping[str, str | None]) -> ConnectForm:
        """Validate the connect form's fields (see :func:`read_form`)."""
        return read_form(vendor, values, self._settings)

    async def check_name(self, team_id: str, name: str) -> None:
        """Raise :class:`FormErrors` on ``name`` when the workspace already has a connection so named."""
        existing = await self._registry.get(team_id, name)
        if existing is None:
            return
        if existing.origin == "env":
            message = (
                f"`{name}` is a connection the operator declared in the environment; "
                "choose another name for this one."
            )
        else:
            message = (
                f"This workspace already has a connection named `{name}` ({display_name(existing.vendor)}). "
                "Choose another name, e.g. "
                f"`{name}-2`, or disconnect the old one first."
            )
        raise FormErrors({"name": message})

    async def validate_and_add(self, team_id: str, user_id: str, form: ConnectForm) -> ConnectResult:
        """Try the key with one cheap live call; store it encrypted only if the vendor accepts it.

        Raises :class:`FormErrors` when the name is taken. A refused key is audited as "failed" and
        returned as a :class:`KeyCheckFailure`; an accepted one is stored, audited, and synced once in
        the background.
        """
        secret = form.key.get_secret_value()
        if len(secret) >= MIN_SCRUBBED_KEY_CHARS:
            register_secret(secret)  # from here on, no log line can carry it even by mistake
        await self.check_name(team_id, form.name)
        failure = await self._check_key(team_id, form)
        if failure is not None:
            await self._audit.record(
                team_id, user_id, "connect", form.name, "failed", f"{form.vendor.value}: {failure.kind.value}"
            )
            return ConnectResult(failure=failure)
        origin = "oauth" if self._settings.oauth_enabled else "token"
        await self._registry.ensure_workspace(team_id, origin=origin)
        row = new_connection(
            team_id, user_id, form, ciphertext=self._registry.box.encrypt(secret), now=self._clock()
        )
        if not await self._store_unless_taken(row, user_id):
            await self.check_name(team_id, form.name)
            raise FormErrors({"name": f"`{form.name}` was just taken; choose another name."})
        log.info("connection %s (%s) added in %s by %s", form.name, form.vendor.value, team_id, user_id)
        self._start_first_sync(row)
        return ConnectResult(connection=row)

    async def _store_unless_taken(self, row: Connection, user_id: str) -> bool:
        """Save ``row`` and audit it in one transaction; False when its name was taken meanwhile.

        The name was checked before the (slow) key check, so another person or replica may have taken it
        since: the name is checked again inside the transaction, and the unique index catches a race.
        """
        try:
            async with self._db.write() as session:
                if await self._store.name_taken(session, row.team_id, row.name):
                    return False
                self._store.save(session, row)
                self._audit.add(session, row.team_id, user_id, "connect", row.name, "ok", row.vendor)
        except IntegrityError:  # another replica took the name between our check and our insert
            return False
        return True

    async def _check_key(self, team_id: str, form: ConnectForm) -> KeyCheckFailure | None:
        config = ConnectionConfig(
            key=f"probe:{team_id}:{form.name}",
            name=form.name,
            vendor=form.vendor,
            base_url=form.base_url,
            secret=form.key,
            probe_path=form.probe_path,
            per_minute=form.per_minute,
            per_day=form.per_day,
            track=form.track,
            requests_per_minute=self._settings.windsurf_requests_per_minute,
            account=form.account,
        )
        client = self._registry.build_probe_client(config)
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                with interactive():
                    await client.probe()
        except (VendorError, TimeoutError) as error:
            log.info("key check of %s (%s) failed: %s", form.name, form.vendor.value, type(error).__name__)
            return explain(error, form.vendor, form.key.get_secret_value())
        return None

    def _start_first_sync(self, connection: Connection) -> None:
        task = asyncio.create_task(self._first_sync(connection), name=f"first-sync-{connection.id}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _first_sync(self, connection: Connection) -> None:
        try:
            await self._sync.sync(connection)
        except Exception:
            log.exception("the first sync of %s failed", connection.name)

    async def remove(self, team_id: str, user_id: str, name: str) -> Connection:
        """Delete ``name`` of ``team_id`` with its key and history; env connections are refused.

        Raises :class:`NotFound` when the workspace has no such connection (whatever other workspaces
        have), :class:`NotAllowed` for a connection declared in the environment.
        """
        row = await self._registry.get(team_id, name)
        if row is None or row.team_id != team_id:
            await self._audit.record(team_id, user_id, "disconnect", name, "failed", "no such connection")
            raise NotFound(
                f"There is no connection {code_span(name)} in this workspace. "
                f"{code_span(self._settings.command + ' connections')} lists them."
            )
        if row.origin == "env":
            await self._audit.record(
                team_id, user_id, "disconnect", name, "refused", "declared in the environment"
            )
            raise NotAllowed(
                f"{code_span(name)} is configured by the operator in the environment, so it cannot be "
                "removed from Slack. Ask whoever runs spendbot to remove its key from the environment."
            )
        assert row.id is not None
        async with self._db.write() as session:
            if not await self._store.delete_added_in_slack(session, row.id, team_id):
                raise NotFound(f"{code_span(name)} was already removed.")
            self._audit.add(session, team_id, user_id, "disconnect", name, "ok", row.vendor)
        self._registry.forget(row.id)
        log.info("connection %s removed from %s by %s", name, team_id, user_id)
        return row

    async def listing(self, team_id: str) -> list[ConnectionSummary]:
        """Every connection of ``team_id`` (environment ones included), with the last successful sync."""
        rows = await self._registry.for_team(team_id)
        ids = [row.id for row in rows if row.id is not None]
        last = await self._sync_records.last_success_by_connection(ids) if ids else {}
        return [
            ConnectionSummary(
                name=row.name,
                vendor=Vendor(row.vendor),
                origin=row.origin,
                created_by=row.created_by,
                created_at=row.created_at,
                last_sync=last.get(row.id) if row.id is not None else None,
                status=row.status,
                status_detail=row.status_detail,
                key_hint=row.key_hint[-4:],
            )
            for row in rows
        ]

    async def first_syncs_done(self) -> None:
        """Wait until the first syncs started so far have ended (they never raise)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def close(self) -> None:
        """Stop first syncs still running (the process is shutting down)."""
        tasks = list(self._background)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


async def rotate_stored_keys(db: Database, box: SecretBox) -> RotationReport:
    """Re-encrypt every stored key that is not yet under ``box``'s first key, one row at a time.

    Safe while bots run: each row is rewritten only if its ciphertext is still the one read (a key
    re-entered meanwhile is left alone), and the secret itself never changes, so a bot holding every
    key given here keeps decrypting old and new ciphertexts alike.
    """
    store = ConnectionRepository(db)
    rows = await store.stored_keys()
    rotated = current = 0
    failed: list[str] = []
    for connection_id, name, team_id, ciphertext in rows:
        if box.is_current(ciphertext):
            current += 1
            continue
        try:
            fresh = box.rotate(ciphertext)
        except SecretKeyError:
            failed.append(f"{team_id}/{name}")
            continue
        await store.replace_key(connection_id, ciphertext, fresh)
        rotated += 1
    return RotationReport(rotated=rotated, current=current, failed=failed)
