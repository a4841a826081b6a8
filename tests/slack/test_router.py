"""The routes are built with the app: every sub-command of the grammar is answered or knowingly absent."""

from __future__ import annotations

from typing import Any

import pytest
from slack_bolt.async_app import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import NOT_ROUTED, build_router
from bot.domain.commands import Help, Status
from bot.domain.grammar import COMMANDS
from bot.services.container import Services
from bot.settings import Settings
from bot.slack import help as help_listeners
from bot.slack.router import Invocation, Router, UnroutedCommands


class Acknowledgements:
    """Stands in for Bolt's ``ack``: records what each acknowledgement said."""

    def __init__(self) -> None:
        self.said: list[dict[str, Any]] = []

    async def __call__(self, **reply: Any) -> None:
        self.said.append(reply)


def invocation(services: Services, text: str) -> Invocation:
    return Invocation(
        services=services,
        client=AsyncWebClient(base_url=services.settings.slack_api_url),
        respond=AsyncRespond(response_url=f"{services.settings.slack_api_url}response/1"),
        command="/spend",
        text=text,
        team_id="T0001",
        user_id="U0001",
        channel_id="C0001",
    )


def test_every_sub_command_of_the_grammar_is_routed_or_knowingly_absent() -> None:
    available = build_router().available()
    assert set(available) | NOT_ROUTED == {spec.name for spec in COMMANDS}
    assert not set(available) & NOT_ROUTED


def test_a_sub_command_nobody_routes_stops_the_router_from_being_built() -> None:
    router = Router()
    help_listeners.register_routes(router)
    with pytest.raises(UnroutedCommands, match="without a route: status, spend"):
        router.check_covers(COMMANDS)


def test_a_sub_command_cannot_be_both_routed_and_absent_nor_routed_twice() -> None:
    router = Router()
    help_listeners.register_routes(router)
    with pytest.raises(UnroutedCommands, match="declared absent but routed: help"):
        router.check_covers([], absent={"help"})
    with pytest.raises(ValueError, match="Help is routed twice"):
        help_listeners.register_routes(router)


async def test_a_knowingly_absent_sub_command_says_so_and_help_leaves_it_out(settings: Settings) -> None:
    services = Services.create(settings)
    router = Router()
    help_listeners.register_routes(router)
    router.check_covers(COMMANDS, absent={spec.name for spec in COMMANDS} - {Help.spec_name})
    ack = Acknowledgements()
    try:
        assert await router.dispatch(invocation(services, "status"), ack) == ("unavailable", "unavailable")
        assert await router.dispatch(invocation(services, "help"), ack) == ("help", "ok")
    finally:
        await services.close()
    unavailable, shown_help = (reply["text"] for reply in ack.said)
    assert unavailable == "`/spend status` is not available in this version yet. Try `/spend help`."
    assert "`/spend help [command]`" in shown_help
    assert f"/spend {Status.spec_name}" not in shown_help
