"""Services wired to vendor simulators served on loopback, with the simulators' clock as ours."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.services.container import Services
from bot.settings import Settings
from bot.simulators.anthropic import AnthropicSimulator
from bot.simulators.copilot import CopilotSimulator
from bot.simulators.cursor import CursorSimulator
from bot.simulators.openai import OpenAISimulator
from bot.simulators.rest import RestSimulator
from bot.simulators.serving import served
from bot.simulators.windsurf import WindsurfSimulator
from bot.vendors import LimiterRegistry

NOW = datetime(2026, 11, 20, 15, 37, tzinfo=UTC)
TEAM = "T0001"
TIME_SCALE = 120.0  # a vendor's minute lasts half a second


@pytest.fixture
def cursor_sim() -> Iterator[CursorSimulator]:
    sim = CursorSimulator(team_size=12, days=70, seed=5, now=NOW, time_scale=TIME_SCALE)
    with served(sim.app) as server:
        sim.url = server.url  # type: ignore[attr-defined]
        yield sim


@pytest.fixture
def windsurf_sim() -> Iterator[WindsurfSimulator]:
    sim = WindsurfSimulator(team_size=9, days=70, seed=6, now=NOW, time_scale=TIME_SCALE)
    with served(sim.app) as server:
        sim.url = server.url + "/api/v1"  # type: ignore[attr-defined]
        yield sim


@pytest.fixture
def openai_sim() -> Iterator[OpenAISimulator]:
    sim = OpenAISimulator(team_size=8, days=100, seed=7, now=NOW, time_scale=TIME_SCALE)
    with served(sim.app) as server:
        sim.url = server.url + "/v1"  # type: ignore[attr-defined]
        yield sim


@pytest.fixture
def anthropic_sim() -> Iterator[AnthropicSimulator]:
    sim = AnthropicSimulator(team_size=8, days=100, seed=8, now=NOW, time_scale=TIME_SCALE)
    with served(sim.app) as server:
        sim.url = server.url + "/v1"  # type: ignore[attr-defined]
        yield sim


@pytest.fixture
def copilot_sim() -> Iterator[CopilotSimulator]:
    sim = CopilotSimulator(team_size=8, days=100, seed=9, now=NOW, time_scale=TIME_SCALE)
    with served(sim.app) as server:
        sim.url = server.url  # type: ignore[attr-defined]
        yield sim


@pytest.fixture
def rest_sim() -> Iterator[RestSimulator]:
    sim = RestSimulator(plan="pro", now=NOW, time_scale=TIME_SCALE)
    with served(sim.app) as server:
        sim.url = server.url + "/v1"  # type: ignore[attr-defined]
        yield sim


def settings_for(tmp_path: Path, database_url: str | None = None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url or f"sqlite:///{tmp_path / 'data' / 'spendbot.db'}",
        "secret_key": "pNBfRnUK5Wx8ggN9Vm3Xm2cGMZ3vT0zJbU4xq6X1uJk=",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def make_services(tmp_path: Path) -> Callable[..., Any]:
    """``async with make_services(clock=..., **settings) as services`` — started, env team registered."""
    created: list[Services] = []

    class _Context:
        def __init__(
            self,
            clock: Callable[[], datetime],
            database_url: str | None,
            time_scale: float,
            overrides: dict[str, Any],
        ):
            self.clock = clock
            self.database_url = database_url
            self.time_scale = time_scale
            self.overrides = overrides

        async def __aenter__(self) -> Services:
            settings = settings_for(tmp_path, self.database_url, **self.overrides)
            limiters = LimiterRegistry(time_scale=self.time_scale)
            services = Services.create(settings, clock=self.clock, limiters=limiters)
            await services.start(identify_workspace=False)
            await services.use_env_team(TEAM)
            created.append(services)
            self.services = services
            return services

        async def __aexit__(self, *exc: object) -> None:
            await self.services.close()

    def build(
        *,
        clock: Callable[[], datetime] | None = None,
        database_url: str | None = None,
        time_scale: float = TIME_SCALE,
        **overrides: Any,
    ) -> _Context:
        return _Context(clock or (lambda: NOW), database_url, time_scale, overrides)

    return build
