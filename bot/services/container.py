"""The services of one running bot, built once from the settings and passed to every layer."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.metrics import Metrics
from bot.services.access import Access
from bot.services.clock import Clock, system_clock
from bot.services.slack_api import SlackApi
from bot.settings import Settings
from bot.store.db import Database


@dataclass
class Services:
    """Everything the Slack layer, the scheduler and the CLI need, created once per process."""

    settings: Settings
    db: Database
    slack: SlackApi
    access: Access
    metrics: Metrics = field(default_factory=Metrics)
    clock: Clock = system_clock

    @classmethod
    def create(
        cls, settings: Settings, *, clock: Clock | None = None, metrics: Metrics | None = None
    ) -> Services:
        slack = SlackApi(settings)
        return cls(
            settings=settings,
            db=Database(settings.database_url),
            slack=slack,
            access=Access(settings, slack),
            metrics=metrics or Metrics(),
            clock=clock or system_clock,
        )

    async def start(self) -> None:
        """Bring the schema up to date; called before the bot serves anything."""
        await self.db.upgrade()

    async def close(self) -> None:
        await self.slack.close()
        await self.db.dispose()
