"""The slash command's one entry point: parse, acknowledge, check the admin right, run, answer.

The routes live on a :class:`Router` that ``bot.app.create_app`` builds for each app: every listener
module that answers sub-commands exposes ``register_routes(router)``, and :meth:`Router.check_covers`
refuses to start an app in which a sub-command of the grammar has no route and is not declared absent.
So forgetting to register a module stops the app at once (and fails the tests) instead of answering
"not available in this version" in Slack. ``help`` lists exactly the routed sub-commands.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.errors import SpendbotError, UserInputError
from bot.domain.grammar import COMMANDS, CommandSpec, parse_command
from bot.messages.message import Message
from bot.messages.sharing import shared, with_share_button
from bot.services.container import Services
from bot.services.errors import NotAllowed, ServiceError

log = logging.getLogger(__name__)


class AckMode(StrEnum):
    INSTANT = "instant"  # the answer is cheap and goes in the acknowledgement itself
    DEFERRED = "deferred"  # acknowledge at once, then work and answer through response_url


@dataclass
class Invocation:
    """One use of the slash command: who, where, and how to answer."""

    services: Services
    client: AsyncWebClient
    respond: AsyncRespond
    command: str
    text: str
    team_id: str
    user_id: str
    channel_id: str
    trigger_id: str | None = None
    channel_name: str | None = None  # as Slack named it: ``directmessage`` in a DM, ``mpdm-…`` in a group DM
    extra: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[Invocation, Any], Awaitable[Message | None]]
InstantHandler = Callable[[Invocation, Any], dict[str, Any]]


@dataclass(frozen=True)
class Route:
    """A sub-command's grammar entry, how it is acknowledged, and what answers it."""

    spec: CommandSpec
    mode: AckMode
    handler: Handler | None = None
    instant: InstantHandler | None = None
    shareable: bool = False


_SPECS = {spec.name: spec for spec in COMMANDS}


class UnroutedCommands(SpendbotError):
    """The grammar has sub-commands that no route answers and that were not declared absent."""


class Router:
    """The sub-commands one app answers, each with its handler; see the module docstring."""

    def __init__(self) -> None:
        self._routes: dict[type, Route] = {}

    def deferred(self, command_type: type, handler: Handler, *, shareable: bool = False) -> None:
        """Route a parsed command type (its ``spec_name`` names its grammar entry) to ``handler``.

        The handler runs after the acknowledgement; for an admin-only command, after the admin gate.
        A ``shareable`` answer gets a "Share in channel" button: read answers only, never writes or
        settings.
        """
        self._add(command_type, Route(_spec(command_type), AckMode.DEFERRED, handler, shareable=shareable))

    def instant(self, command_type: type, handler: InstantHandler) -> None:
        """Route a command whose answer is built without I/O and sent in the acknowledgement itself."""
        self._add(command_type, Route(_spec(command_type), AckMode.INSTANT, instant=handler))

    def _add(self, command_type: type, entry: Route) -> None:
        if command_type in self._routes:
            raise ValueError(f"{command_type.__name__} is routed twice")
        self._routes[command_type] = entry

    def check_covers(self, specs: Iterable[CommandSpec], *, absent: Collection[str] = ()) -> None:
        """Refuse a router that leaves a sub-command of ``specs`` unanswered, unless it is in ``absent``.

        ``absent`` names sub-commands this build knowingly does not answer yet (a grammar entry may land
        before its handler): typing one says it is not available, and ``help`` leaves it out.
        """
        routed = {entry.spec.name for entry in self._routes.values()}
        if overlap := routed & set(absent):
            raise UnroutedCommands(f"declared absent but routed: {', '.join(sorted(overlap))}")
        if missing := [spec.name for spec in specs if spec.name not in routed and spec.name not in absent]:
            raise UnroutedCommands(f"sub-commands of the grammar without a route: {', '.join(missing)}")

    def available(self) -> list[str]:
        """Names of the sub-commands this app answers, in grammar order (what ``help`` lists)."""
        routed = {entry.spec.name for entry in self._routes.values()}
        return [spec.name for spec in COMMANDS if spec.name in routed]

    async def dispatch(self, invocation: Invocation, ack: AsyncAck) -> tuple[str, str]:
        """Handle one slash command from parse to answer; returns (sub-command, outcome) for metrics."""
        try:
            parsed = parse_command(invocation.text)
        except UserInputError as error:
            await ack(response_type="ephemeral", text=error.render(command=invocation.command))
            return "unparsed", "bad_input"
        entry = self._routes.get(type(parsed))
        if entry is None:  # declared absent (check_covers refuses any other gap)
            await ack(
                response_type="ephemeral",
                text=f"`{invocation.command} {_first_word(invocation.text)}` is not available in this "
                f"version yet. Try `{invocation.command} help`.",
            )
            return "unavailable", "unavailable"
        if entry.mode is AckMode.INSTANT and entry.instant is not None:
            await ack(response_type="ephemeral", **entry.instant(invocation, parsed))
            return entry.spec.name, "ok"
        await ack()
        outcome, reply = await run_deferred(invocation, entry, parsed)
        if reply is not None:
            if entry.shareable:
                reply = with_share_button(reply, invocation.text)
            await invocation.respond(response_type="ephemeral", **reply.payload())
        return entry.spec.name, outcome

    def _shareable(self, invocation: Invocation) -> tuple[Route, Any] | str:
        """The route and parsed command of a button's shareable read command, or the outcome why not."""
        try:
            parsed = parse_command(invocation.text)
        except UserInputError:
            return "bad_input"
        entry = self._routes.get(type(parsed))
        if entry is None or not entry.shareable or entry.handler is None:
            return "refused"
        return entry, parsed

    async def answer_privately(self, invocation: Invocation) -> str:
        """Answer a shareable read command to the person who clicked a button that carries it (as the
        digest's "See idle seats"), as if they had typed it: their rights, their zone, only they see it."""
        found = self._shareable(invocation)
        if isinstance(found, str):
            return found
        outcome, reply = await run_deferred(invocation, *found)
        if reply is not None:
            reply = with_share_button(reply, invocation.text)
            await invocation.respond(response_type="ephemeral", replace_original=False, **reply.payload())
        return outcome

    async def share(self, invocation: Invocation) -> str:
        """Re-run a shareable command for the person who clicked, and post the answer in the channel."""
        found = self._shareable(invocation)
        if found == "refused":
            await invocation.respond(
                response_type="ephemeral", replace_original=False, text="This answer cannot be shared."
            )
        if isinstance(found, str):
            return found
        outcome, reply = await run_deferred(invocation, *found)
        if reply is None:
            return outcome
        post = shared(reply, user_id=invocation.user_id, command=invocation.command, text=invocation.text)
        await invocation.respond(
            response_type="in_channel", replace_original=False, text=post.text, blocks=post.blocks
        )
        await invocation.respond(delete_original=True)
        return outcome


def _spec(command_type: type) -> CommandSpec:
    return _SPECS[command_type.spec_name]  # type: ignore[attr-defined]


async def run_deferred(invocation: Invocation, entry: Route, parsed: Any) -> tuple[str, Message | None]:
    """Run a handler after the acknowledgement, turning every failure into a readable answer.

    Returns the outcome label and the handler's reply (None when it answered by itself or failed).
    """
    assert entry.handler is not None
    try:
        if entry.spec.admin_only:
            await invocation.services.access.require_admin(
                invocation.team_id, invocation.user_id, entry.spec.name
            )
        return "ok", await entry.handler(invocation, parsed)
    except UserInputError as error:
        await invocation.respond(response_type="ephemeral", text=error.render(command=invocation.command))
        return "bad_input", None
    except NotAllowed as error:
        await invocation.respond(response_type="ephemeral", text=error.message)
        return "refused", None
    except ServiceError as error:
        if error.wrong_input:
            wrong = UserInputError(error.message, entry.spec.usage, entry.spec.examples[0])
            await invocation.respond(response_type="ephemeral", text=wrong.render(command=invocation.command))
            return "bad_input", None
        await invocation.respond(response_type="ephemeral", text=error.message)
        return "error", None
    except Exception:
        reference = secrets.token_hex(4)
        log.exception("command %r failed (ref %s)", entry.spec.name, reference)
        await invocation.respond(
            response_type="ephemeral",
            text=f"Something went wrong on our side while answering `{entry.spec.name}`. "
            f"It has been logged (ref `{reference}`); please try again in a minute.",
        )
        return "failed", None


def _first_word(text: str) -> str:
    words = text.split()
    return words[0] if words else ""
