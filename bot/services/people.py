"""Who is asking and whom they ask about: Slack profiles turned into a reader's zone, email and rights.

Every read answer is for one reader: periods resolve in their time zone (Slack profile, else
``SPENDBOT_TIMEZONE``), and figures about named people follow ``SPENDBOT_PEOPLE_VISIBLE_TO`` (a person
always sees their own). The people an answer names are found by email, the key the vendors share.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.commands import UserRef
from bot.services.access import Access
from bot.services.errors import NotFound
from bot.services.slack_api import SlackApi
from bot.settings import Settings
from bot.store import members
from bot.store.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Viewer:
    """Who is asking: their zone, their email, and whether they may see other people's figures."""

    team_id: str
    user_id: str
    tz: ZoneInfo
    email: str | None
    may_see_people: bool


class People:
    """Readers (:class:`Viewer`) from their Slack profile, and the people they name, by email."""

    def __init__(self, settings: Settings, db: Database, access: Access, slack: SlackApi) -> None:
        self._settings = settings
        self._aliases = settings.aliases
        self._db = db
        self._access = access
        self._slack = slack

    async def viewer(self, team_id: str, user_id: str) -> Viewer:
        """The reader's zone (profile, else the default), email and right to see people's figures."""
        user = None
        try:
            user = await self._slack.user(team_id, user_id)
        except Exception as error:  # noqa: BLE001 - without a profile we still answer, in the default zone
            log.warning("users.info failed for %s: %s", user_id, type(error).__name__)
        tz = self._settings.default_zone
        if user is not None and user.tz:
            with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
                tz = ZoneInfo(user.tz)
        may_see = await self._access.may_see_people(team_id, user_id)
        email = self._aliases.canonical(user.email) if user is not None and user.email else None
        return Viewer(team_id, user_id, tz, email, may_see)

    async def resolve_person(self, team_id: str, who: UserRef) -> tuple[str, str | None]:
        """The canonical email (``SPENDBOT_PERSON_ALIASES``) and display name for a mention or an email;
        NotFound when Slack does not know them."""
        if who.email is not None:
            return self._aliases.canonical(who.email), None
        assert who.slack_id is not None
        user = await self._slack.user(team_id, who.slack_id)
        if user is None or not user.email:
            raise NotFound(
                f"Slack did not give an email for <@{who.slack_id}>, so I cannot find them in the vendors' "
                "data. Try their email instead."
            )
        return self._aliases.canonical(user.email), user.name

    async def names(self, connection_ids: Sequence[int], emails: Iterable[str]) -> dict[str, str]:
        """Display names of the people shown (never the whole roster of a large team)."""
        async with self._db.session() as session:
            return await members.display_names(session, connection_ids, emails)

    def refusal(self) -> str:
        """What a reader who may not see other people's figures is told."""
        return self._access.people_refusal()
