"""Confirm buttons that apply once, however often their click arrives.

A signed request may be replayed within Slack's five-minute window, and an admin may click twice
before the first click is answered. Each confirmation therefore carries a random token in its button
value; the click claims it with a unique insert (``confirmation_uses``) *before* the change is made, so
only one click — on any replica — gets to make it. A change that fails without effect (the vendor said
no) releases its token, so the same button may be tried again.
"""

from __future__ import annotations

import re
import secrets

from bot.services.clock import Clock
from bot.services.errors import ServiceError
from bot.store.confirmations import ConfirmationRepository
from bot.store.models import ConfirmationUse

_TOKEN = re.compile(r"[0-9a-f]{32}")


class AlreadyConfirmed(ServiceError):
    """This confirmation was used already: its change was made (or is being made) once."""


def new_token() -> str:
    """A fresh confirmation token (128 random bits, lower-case hex: safe in any button value)."""
    return secrets.token_hex(16)


def is_token(value: object) -> bool:
    return isinstance(value, str) and _TOKEN.fullmatch(value) is not None


class Confirmations:
    """Claims confirmation tokens in the database."""

    def __init__(self, store: ConfirmationRepository, *, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def claim(self, token: str, team_id: str, user_id: str, action: str) -> None:
        """Record ``token`` as used; :class:`AlreadyConfirmed` when some click already claimed it."""
        row = ConfirmationUse(
            token=token, team_id=team_id, user_id=user_id, action=action[:64], used_at=self._clock()
        )
        if not await self._store.claim(row):
            raise AlreadyConfirmed(
                "Already done: this confirmation was used once, and nothing was changed again. "
                "Run the command again to make another change."
            )

    async def release(self, token: str) -> None:
        """Forget a claim whose change did not happen, so its button can be clicked again."""
        await self._store.release(token)
