"""The audit log: who changed or wrote what, when, and how it went; readable by admins with ``audit``.

Every configuration change and every write to a vendor lands here, and so does every refusal of an
admin action (a forged button or view submission shows up as "refused"). Entries are scoped by team id
like every other row. No field ever holds a key: callers pass names and readable outcomes only, and
every text is scrubbed of the secrets the process knows before it is stored, as a second line of
defence.
"""

from __future__ import annotations

import logging
from typing import Literal

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.logs import scrub
from bot.messages.connections import AuditLine
from bot.services.access import Access
from bot.services.clock import Clock
from bot.services.errors import NotAllowed
from bot.services.slack_api import SlackApi
from bot.settings import Settings
from bot.store.audit import AuditRepository
from bot.store.models import AuditEntry

log = logging.getLogger(__name__)

Outcome = Literal["ok", "refused", "failed"]
OUTCOMES: frozenset[str] = frozenset({"ok", "refused", "failed"})
MAX_RECENT = 100


class AuditLog:
    """Writes :class:`~bot.store.models.AuditEntry` rows of one workspace at a time, and reads them back
    as the :class:`~bot.messages.connections.AuditLine` view model ``audit`` renders."""

    def __init__(self, store: AuditRepository, *, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def entry(
        self,
        team_id: str,
        user_id: str | None,
        action: str,
        target: str | None,
        outcome: Outcome,
        detail: str | None = None,
    ) -> AuditEntry:
        """Build an entry (scrubbed and cut to the column sizes) without writing it."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown audit outcome {outcome!r}")
        return AuditEntry(
            team_id=team_id,
            user_id=user_id,
            action=_clean(action, 64) or "unknown",
            target=_clean(target, 200),
            outcome=outcome,
            detail=_clean(detail, 1000),
            created_at=self._clock(),
        )

    def add(
        self,
        session: AsyncSession,
        team_id: str,
        user_id: str | None,
        action: str,
        target: str | None,
        outcome: Outcome,
        detail: str | None = None,
    ) -> None:
        """Add an entry to a write transaction already open, so the change and its record commit together."""
        self._store.add(session, self.entry(team_id, user_id, action, target, outcome, detail))

    async def record(
        self,
        team_id: str,
        user_id: str | None,
        action: str,
        target: str | None,
        outcome: Outcome,
        detail: str | None = None,
    ) -> None:
        """Write one entry in a transaction of its own."""
        await self._store.record(self.entry(team_id, user_id, action, target, outcome, detail))

    async def recent(self, team_id: str, limit: int = 20) -> list[AuditLine]:
        """The latest entries of ``team_id``, newest first (never another workspace's), as ``audit``
        shows them."""
        limit = max(1, min(limit, MAX_RECENT))
        return [audit_line(entry) for entry in await self._store.recent(team_id, limit)]


class AuditedAccess(Access):
    """The admin gate, recording each refusal it hands out.

    Every admin command, button and modal goes through :meth:`require_admin`, so recording here covers
    the routes that exist now and every later one, forged payloads included.
    """

    def __init__(self, settings: Settings, slack: SlackApi, audit: AuditLog) -> None:
        super().__init__(settings, slack)
        self._audit = audit

    async def is_admin(self, team_id: str, user_id: str) -> bool:
        # A payload that does not say which workspace and person it is from proves nothing.
        if not team_id or not user_id:
            return False
        return await super().is_admin(team_id, user_id)

    async def require_admin(self, team_id: str, user_id: str, what: str) -> None:
        if await self.is_admin(team_id, user_id):
            return
        try:
            await self._audit.record(team_id, user_id, what, None, "refused", "not an admin")
        except Exception:  # the refusal itself must stand even when the log cannot be written
            log.exception("could not record the refusal of %r to %s", what, user_id)
        raise NotAllowed(self.refusal(what))


def audit_line(entry: AuditEntry) -> AuditLine:
    """What ``audit`` shows of a stored entry."""
    return AuditLine(
        action=entry.action,
        outcome=entry.outcome,
        created_at=entry.created_at,
        user_id=entry.user_id,
        target=entry.target,
        detail=entry.detail,
    )


def _clean(text: str | None, size: int) -> str | None:
    if text is None:
        return None
    cleaned = scrub(text)
    return cleaned if len(cleaned) <= size else cleaned[: size - 1] + "…"
