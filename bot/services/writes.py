"""The two writes: a Cursor user's spend limit and a Windsurf add-on credit cap.

A write is planned first (which connection, whose, from what to what) and shown for confirmation; it
is applied only when an admin confirms, and the admin right is checked again then. Every attempt is
audited with its outcome and the vendor's own answer, never a key. The plan is carried by the confirm
button, so it is treated as untrusted input when it comes back: validated again, and its connection
looked up within the clicking person's workspace. The button also carries a confirmation token,
claimed before the vendor call (:mod:`bot.services.confirmations`), so each confirmation applies once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from bot.domain.bounded_json import UnreadableValue, loads_bounded
from bot.domain.vendors import display_name, traits
from bot.services.clock import Clock
from bot.services.confirmations import AlreadyConfirmed, Confirmations, is_token, new_token
from bot.services.connections import ConnectionRegistry
from bot.services.errors import NotFound, ServiceError, SourceUnavailable
from bot.services.sync import SyncService
from bot.store.models import Connection
from bot.store.sync import SyncRecords
from bot.vendors import AnthropicClient, CursorClient, VendorError, WindsurfClient, interactive

log = logging.getLogger(__name__)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_DOLLARS = 1_000_000
MAX_CREDITS = 1_000_000_000


class InvalidWrite(ServiceError):
    """A write plan that does not hold together (a forged or stale button)."""


@dataclass(frozen=True)
class LimitChange:
    """Set (or remove, with ``dollars`` None) the spend limit of ``email`` on a Cursor connection."""

    connection: str
    email: str
    dollars: int | None
    current_cents: Decimal | None = None
    known_limit: bool = False
    token: str = ""

    op = "set-limit"


@dataclass(frozen=True)
class CapChange:
    """Set (or clear, with ``credits`` None) the add-on credit cap on Windsurf, per person or team-wide."""

    connection: str
    scope: str  # an email, or "team"
    credits: int | None
    current: Decimal | None = None
    known_current: bool = False
    token: str = ""

    op = "set-cap"


Change = LimitChange | CapChange


MAX_VALUE_CHARS = 2000
"""Slack's limit for a button value; anything longer was not made by us."""


def encode(change: Change) -> str:
    """What the confirm button carries: the plan and its token, without what was read for display."""
    data = {
        key: value
        for key, value in asdict(change).items()
        if key in ("connection", "email", "dollars", "scope", "credits", "token")
    }
    return json.dumps({"op": change.op, **data})


def decode(value: str) -> Change:
    """The plan from a button value, read within bounds and validated as untrusted input."""
    try:
        data = loads_bounded(value, max_chars=MAX_VALUE_CHARS, max_depth=2)
    except UnreadableValue:
        data = None
    if not isinstance(data, dict) or not is_token(data.get("token")):
        raise InvalidWrite("This confirmation is not valid any more. Please run the command again.")
    token = str(data["token"])
    op = data.get("op")
    connection = data.get("connection")
    if not isinstance(connection, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", connection):
        raise InvalidWrite("This confirmation names no valid connection. Please run the command again.")
    if op == "set-limit":
        email = data.get("email")
        dollars = data.get("dollars")
        if not isinstance(email, str) or not _EMAIL.match(email):
            raise InvalidWrite("This confirmation names no valid email. Please run the command again.")
        if dollars is not None and (
            not isinstance(dollars, int) or isinstance(dollars, bool) or not 0 <= dollars <= MAX_DOLLARS
        ):
            raise InvalidWrite("This confirmation has no valid amount. Please run the command again.")
        return LimitChange(connection, email.lower(), dollars, token=token)
    if op == "set-cap":
        scope = data.get("scope")
        credits = data.get("credits")
        if not isinstance(scope, str) or not (scope == "team" or _EMAIL.match(scope)):
            raise InvalidWrite("This confirmation names no valid scope. Please run the command again.")
        if credits is not None and (
            not isinstance(credits, int) or isinstance(credits, bool) or not 0 <= credits <= MAX_CREDITS
        ):
            raise InvalidWrite("This confirmation has no valid amount. Please run the command again.")
        return CapChange(connection, scope.lower(), credits, token=token)
    raise InvalidWrite("This confirmation is not valid any more. Please run the command again.")


def describe_error(connection: str, error: VendorError) -> str:
    """A vendor failure as a sentence for the admin who asked."""
    if error.kind == "key rejected":
        return f"`{connection}` rejected its key ({error.message}). An admin should reconnect it."
    if error.kind == "key lacks a permission or plan":
        return f"`{connection}`'s key may not do this ({error.message}): it needs a write permission or plan."
    if error.kind == "request rejected":
        return f"`{connection}` refused the change: {error.message}"
    if error.kind == "rate limited":
        return f"`{connection}` is throttling us right now; try again in a minute."
    return f"`{connection}` could not be reached ({error.message}); nothing was changed, try again later."


class WriteService:
    """Plans and applies the writes; the Slack layer only asks and confirms."""

    def __init__(
        self,
        records: SyncRecords,
        connections: ConnectionRegistry,
        sync: SyncService,
        audit: Any,
        confirmations: Confirmations,
        *,
        clock: Clock,
    ) -> None:
        self._records = records
        self._confirmations = confirmations
        self._connections = connections
        self._sync = sync
        self._audit = audit
        self._clock = clock
        self._refreshes: set[asyncio.Task[Any]] = set()

    async def _vendor_connection(
        self, team_id: str, vendor: str, name: str | None, email: str | None
    ) -> Connection:
        """The connection to write: the one named (of any vendor whose limit of ``vendor``'s kind can be
        written, so a request names Anthropic as well as Cursor), else ``vendor``'s one holding
        ``email``."""
        kind = traits(vendor).writable_limit
        every = [
            row
            for row in await self._connections.for_team(team_id)
            if (row.vendor == vendor if name is None else traits(row.vendor).writable_limit is kind)
        ]
        label = display_name(vendor)
        if name is not None:
            chosen = [row for row in every if row.name == name]
            if not chosen:
                raise NotFound(f"There is no {label} connection named `{name}` in this workspace.")
            return chosen[0]
        if not every:
            raise NotFound(
                f"There is no {label} connection yet. An admin can add one with `connect {vendor}`."
            )
        if len(every) == 1 or email is None:
            return every[0]
        ids = [row.id for row in every if row.id is not None]
        holders = await self._records.connections_with_member(ids, email)
        matching = [row for row in every if row.id in holders]
        if len(matching) == 1:
            return matching[0]
        names = ", ".join(f"`{row.name}`" for row in every)
        raise NotFound(f"`{email}` is not on exactly one {label} connection ({names}); I cannot tell which.")

    async def plan_limit(
        self, team_id: str, email: str, dollars: int | None, *, connection_name: str | None = None
    ) -> LimitChange:
        connection = await self._vendor_connection(team_id, "cursor", connection_name, email)
        assert connection.id is not None
        member, row = await self._records.membership(connection.id, email)
        if member is None and row is None:
            raise NotFound(f"`{email}` is not a member of Cursor `{connection.name}` (as of the last sync).")
        return LimitChange(
            connection.name, email, dollars, row.limit_cents if row else None, row is not None, new_token()
        )

    async def plan_cap(
        self, team_id: str, scope: str, credits: int | None, *, connection_name: str | None = None
    ) -> CapChange:
        email = None if scope == "team" else scope
        connection = await self._vendor_connection(team_id, "windsurf", connection_name, email)
        client = self._connections.client(connection)
        assert isinstance(client, WindsurfClient)
        try:
            with interactive():
                if email is None:
                    current = await client.get_usage_config(team=True)
                else:
                    current = await client.get_usage_config(user_email=email)
        except VendorError as error:
            raise SourceUnavailable(describe_error(connection.name, error)) from None
        return CapChange(connection.name, scope, credits, current, True, new_token())

    async def apply(self, team_id: str, user_id: str, change: Change) -> str:
        """Make the change at the vendor (the caller checked the admin right); returns the vendor's answer.

        The confirmation's token is claimed first: a second click (a replay, a double click, another
        replica) raises ``AlreadyConfirmed`` and the vendor is not called again.
        """
        vendor = "cursor" if isinstance(change, LimitChange) else "windsurf"
        connection = await self._vendor_connection(team_id, vendor, change.connection, None)
        client = self._connections.client(connection)
        target = change.email if isinstance(change, LimitChange) else change.scope
        value = change.dollars if isinstance(change, LimitChange) else change.credits
        detail = f"{connection.name}: {target} -> {'none' if value is None else value}"
        try:
            await self._confirmations.claim(change.token, team_id, user_id, change.op)
        except AlreadyConfirmed:
            await self._audit.record(
                team_id, user_id, change.op, detail, "refused", "confirmation already used"
            )
            raise
        try:
            with interactive():
                if isinstance(change, LimitChange):
                    assert isinstance(client, CursorClient | AnthropicClient)
                    answer = await client.set_user_spend_limit(change.email, change.dollars)
                else:
                    assert isinstance(client, WindsurfClient)
                    scope = {"team": True} if change.scope == "team" else {"user_email": change.scope}
                    await client.set_usage_config(change.credits, **scope)
                    answer = "Windsurf accepted the new cap."
        except VendorError as error:
            await self._confirmations.release(change.token)  # nothing changed: the button may be retried
            await self._audit.record(
                team_id, user_id, change.op, detail, "failed", f"{error.kind}: {error.message}"
            )
            raise SourceUnavailable(describe_error(connection.name, error)) from None
        await self._audit.record(team_id, user_id, change.op, detail, "ok", answer)
        refreshed = traits(connection.vendor).limits_dataset
        if refreshed is not None:
            task = asyncio.create_task(self._sync.sync(connection, datasets=[refreshed]))
            self._refreshes.add(task)
            task.add_done_callback(self._refreshes.discard)
        return answer
