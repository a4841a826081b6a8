"""Who may do what: the one gate for every admin command, button and modal, and for per-person figures.

An admin is a workspace admin or owner (from ``users.info``) or a user listed in ``SPENDBOT_ADMINS``.
The check runs on every command, click and submission, never only when a button is drawn, so a
forged payload is refused like a typed command. When Slack cannot tell us, we refuse (fail closed).
"""

from __future__ import annotations

import logging

from bot.services.errors import NotAllowed
from bot.services.slack_api import SlackApi
from bot.settings import Settings

log = logging.getLogger(__name__)


class Access:
    """Admin rights and the visibility of per-person figures (``SPENDBOT_PEOPLE_VISIBLE_TO``)."""

    def __init__(self, settings: Settings, slack: SlackApi) -> None:
        self._settings = settings
        self._slack = slack

    async def is_admin(self, team_id: str, user_id: str) -> bool:
        if user_id in self._settings.admins:
            return True
        try:
            user = await self._slack.user(team_id, user_id)
        except Exception as error:  # noqa: BLE001 - any failure means "not proven admin": refuse
            log.warning("could not check admin rights of %s: %s", user_id, type(error).__name__)
            return False
        return (
            user is not None
            and not user.deleted
            and user.team_id == team_id
            and (user.is_admin or user.is_owner)
        )

    async def require_admin(self, team_id: str, user_id: str, what: str) -> None:
        """Raise :class:`NotAllowed` (with who can do it) unless ``user_id`` is an admin here."""
        if not await self.is_admin(team_id, user_id):
            raise NotAllowed(self.refusal(what))

    def refusal(self, what: str) -> str:
        extra = " or a person listed in `SPENDBOT_ADMINS`" if self._settings.admins else ""
        return (
            f":lock: Sorry, only a workspace admin or owner{extra} can use `{what}`. "
            "Please ask one of them to do it for you."
        )

    async def may_see_people(self, team_id: str, user_id: str) -> bool:
        """Whether ``user_id`` may see figures about named people other than themselves."""
        if self._settings.people_visible_to == "everyone":
            return True
        return await self.is_admin(team_id, user_id)

    def people_refusal(self) -> str:
        return (
            ":lock: Figures about named people are shown to workspace admins and to each person about "
            "themselves. Ask an admin, or try `user me` for your own."
        )
