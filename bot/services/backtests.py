"""``backtest``: a rule replayed over the stored history before anyone subscribes to it (no vendor call).

Spike rules so far: each of the last N complete UTC days is judged as the live alert judges it
(``domain.spikes.replay``, through the same alert state machine).
"""

from __future__ import annotations

from datetime import UTC, timedelta

from bot.domain.commands import Backtest
from bot.messages.answers import BacktestAnswer
from bot.services.clock import Clock
from bot.services.errors import NotAllowed
from bot.services.freshness import Freshener
from bot.services.people import People
from bot.services.sources import SourcePicker
from bot.services.spike_report import SpikeReport


class Backtests:
    """Answers ``backtest`` for one reader (who must be allowed to see people's figures)."""

    def __init__(
        self,
        people: People,
        sources: SourcePicker,
        freshener: Freshener,
        spikes: SpikeReport,
        *,
        clock: Clock,
    ) -> None:
        self._people = people
        self._sources = sources
        self._freshener = freshener
        self._spikes = spikes
        self._clock = clock

    async def answer(self, team_id: str, user_id: str, command: Backtest) -> BacktestAnswer:
        viewer = await self._people.viewer(team_id, user_id)
        if not viewer.may_see_people:
            raise NotAllowed(self._people.refusal())
        connections = await self._sources.with_usage(team_id, None)
        freshness = await self._freshener.prepared(connections)
        today = self._clock().astimezone(UTC).date()
        first, last = today - timedelta(days=command.days), today - timedelta(days=1)
        rule = command.rule
        posts = await self._spikes.replay(
            connections, first, last, factor=rule.factor, minimum_cents=rule.minimum_dollars * 100
        )
        return BacktestAnswer(
            rule=rule, first=first, last=last, posts=tuple(posts), tz=viewer.tz, freshness=freshness
        )
