"""A console session: the real Bolt app, driven in-process by what a person types in a terminal.

Every typed line becomes the signed slash-command request Slack would send, dispatched through the same
Bolt app, router, parser, services and Block Kit builders as in Slack; the answer is read back from
where Slack would receive it (the acknowledgement, ``response_url`` posts, ``views.open``…) on an
in-process fake Slack served on loopback, and drawn with rich. Buttons become numbered choices; typing
the number sends the signed ``block_actions`` payload with the button's value. A modal (``connect``)
becomes prompts, the key read without echo, and a signed ``view_submission``.

The fake Slack gets a fresh random bot token and signing secret per session, so nothing here can reach
the real Slack; the console user is an admin of the session's workspace, in ``SPENDBOT_TIMEZONE``.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import logging
import secrets
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from pydantic import SecretStr
from rich.console import Console
from rich.text import Text
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from sqlmodel import col, select

from bot.app import create_app
from bot.console.render import BlockRenderer, Choice, Rendered
from bot.domain.errors import SpendbotError
from bot.messages.blocks import readable_texts
from bot.messages.message import Message
from bot.metrics import Metrics
from bot.services.clock import Clock
from bot.services.container import Services
from bot.services.slack_api import is_direct_conversation
from bot.settings import Settings
from bot.simulators.serving import ServedApp, serve_in_loop
from bot.simulators.slack import APP_ID, FakeSlack, SignedRequests
from bot.store.models import Workspace
from bot.vendors import LimiterRegistry

log = logging.getLogger(__name__)

CONSOLE_USER = "UCONSOLE"
CONSOLE_CHANNEL = "CCONSOLE"
FALLBACK_TEAM = "TCONSOLE"
EXIT_WORDS = frozenset({"exit", "quit"})
BACKGROUND_GRACE_SECONDS = 5.0
"""How long leaving the console waits for background work (a sync after a write) before cancelling it."""
_SECRET_WORDS = ("key", "token", "secret", "password")


class ConsoleError(SpendbotError):
    """The console cannot start; the message is one readable line."""


class LineReader(Protocol):
    """Where typed lines come from; ``None`` means the input ended (EOF)."""

    async def line(self, prompt: str) -> str | None: ...

    async def secret(self, prompt: str) -> str | None: ...


class TerminalReader:
    """``input()`` and ``getpass()`` on a daemon thread, so the event loop keeps serving while a person types.

    A daemon thread (not the loop's executor) so that Ctrl-C or the end of the program never waits for
    a line nobody will type.
    """

    async def line(self, prompt: str) -> str | None:
        return await self._ask(input, prompt)

    async def secret(self, prompt: str) -> str | None:
        return await self._ask(getpass.getpass, prompt)

    async def _ask(self, read: Callable[[str], str], prompt: str) -> str | None:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[str | None] = loop.create_future()

        def settle(value: str | None, error: BaseException | None) -> None:
            if answer.done():
                return
            if error is not None:
                answer.set_exception(error)
            else:
                answer.set_result(value)

        def work() -> None:
            try:
                value: str | None = read(prompt)
            except EOFError:
                value = None
            except Exception as error:  # noqa: BLE001 - handed to the loop, which re-raises it
                loop.call_soon_threadsafe(settle, None, error)
                return
            loop.call_soon_threadsafe(settle, value, None)

        threading.Thread(target=work, name="console-input", daemon=True).start()
        return await answer


@dataclass
class Turn:
    """What one typed line or click produced: what was shown (as Slack has it) and the choices offered."""

    shown: list[dict[str, Any]] = field(default_factory=list)
    choices: list[Choice] = field(default_factory=list)

    @property
    def texts(self) -> str:
        """Every text a person would read in this turn (for tests and logs)."""
        return "\n".join(readable_texts(self.shown))


@dataclass
class _Mark:
    """How much the fake Slack had recorded before a request, to show only what it caused."""

    responses: int
    views: int
    messages: int
    ephemerals: int
    uploads: frozenset[str]


def console_settings(settings: Settings, *, api_url: str, bot_token: str, signing_secret: str) -> Settings:
    """The session's settings: the configured ones, pointed at the in-process fake Slack.

    Slack credentials and OAuth are replaced (the console is its own single-workspace install), and the
    console user is added to the admins.
    """
    return settings.model_copy(
        update={
            "slack_bot_token": SecretStr(bot_token),
            "slack_signing_secret": SecretStr(signing_secret),
            "slack_app_token": None,
            "slack_client_id": None,
            "slack_client_secret": None,
            "slack_api_url": api_url,
            "admins": (*settings.admins, CONSOLE_USER),
        }
    )


async def resolve_team(services: Services) -> str:
    """The workspace whose connections the console (or ``sync``) works on, with the environment's registered.

    ``SPENDBOT_ENV_TEAM_ID`` (or the bot-token workspace found at start), else the only workspace in the
    database, else a console workspace of its own.
    """
    if services.env_team_id is not None:
        return services.env_team_id
    async with services.db.session() as session:
        teams = list((await session.exec(select(Workspace.team_id).order_by(col(Workspace.team_id)))).all())
    if len(teams) > 1:
        shown = ", ".join(teams[:5]) + (" …" if len(teams) > 5 else "")
        raise ConsoleError(
            f"the database holds {len(teams)} workspaces ({shown}); "
            "set SPENDBOT_ENV_TEAM_ID to the one to work on"
        )
    team_id = teams[0] if teams else FALLBACK_TEAM
    await services.use_env_team(team_id)
    return team_id


class ConsoleSession:
    """See the module docstring. Open with :meth:`open` (an async context manager), then :meth:`repl`."""

    def __init__(
        self,
        *,
        settings: Settings,
        services: Services,
        app: AsyncApp,
        fake: FakeSlack,
        served: ServedApp,
        team_id: str,
        signing_secret: str,
        console: Console,
        reader: LineReader,
        subscriptions_enabled: bool = False,
    ) -> None:
        self.settings = settings
        self.services = services
        self.app = app
        self.fake = fake
        self.team_id = team_id
        self.user_id = CONSOLE_USER
        self.channel_id = CONSOLE_CHANNEL
        self.console = console
        self.reader = reader
        self.subscriptions_enabled = subscriptions_enabled
        self.choices: dict[int, tuple[Choice, dict[str, Any] | None]] = {}
        self._served = served
        self._signed = SignedRequests(signing_secret, fake=fake, team_id=team_id)
        self._renderer = BlockRenderer(mentions={CONSOLE_USER: "you"}, channels={CONSOLE_CHANNEL: "console"})
        self._saved_uploads: set[str] = set()
        self._triggers = 0
        self._closed = False

    # ----- life -------------------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        console: Console,
        reader: LineReader | None = None,
        subscriptions_enabled: bool = False,
        clock: Clock | None = None,
        limiters: LimiterRegistry | None = None,
        metrics: Metrics | None = None,
    ) -> ConsoleSession:
        """Serve a fake Slack, start the services on ``settings``' database, and build the real app.

        ``subscriptions_enabled`` lets ``subscribe`` through (the demo's own database); against a real
        database it is refused, since the subscription would name a channel only this process knows.
        """
        fake = FakeSlack(team_id=FALLBACK_TEAM, team_name="console")
        served = await serve_in_loop(fake.app)
        fake.bind(served.url)
        bot_token = "xoxb-console-" + secrets.token_hex(12)
        signing_secret = secrets.token_hex(16)
        session_settings = console_settings(
            settings, api_url=fake.api_url, bot_token=bot_token, signing_secret=signing_secret
        )
        services = Services.create(session_settings, clock=clock, metrics=metrics, limiters=limiters)
        try:
            await services.start(identify_workspace=False)
            team_id = await resolve_team(services)
        except BaseException:
            await services.close()
            await served.astop()
            raise
        fake.add_token(bot_token, team_id, "console")
        fake.add_user(CONSOLE_USER, team_id=team_id, name="you", tz=session_settings.timezone, is_admin=True)
        fake.add_channel(CONSOLE_CHANNEL, team_id=team_id, name="console")
        app = create_app(session_settings, services=services, process_before_response=True)
        app.client.session = services.slack.session
        return cls(
            settings=session_settings,
            services=services,
            app=app,
            fake=fake,
            served=served,
            team_id=team_id,
            signing_secret=signing_secret,
            console=console,
            reader=reader or TerminalReader(),
            subscriptions_enabled=subscriptions_enabled,
        )

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await settle_background_work()
            await self.services.close()
        finally:
            await self._served.astop()

    async def __aenter__(self) -> ConsoleSession:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def prompt(self) -> str:
        return f"{self.settings.command}> "

    # ----- the loop ---------------------------------------------------------------------------------

    async def repl(self) -> int:
        """Read lines until ``exit``, ``quit`` or the end of input; always ends with exit code 0."""
        self.console.print(
            Text.assemble(
                ("Type a command as in Slack, with or without ", "dim"),
                (self.settings.command, "bold"),
                (": ", "dim"),
                ("status", "bold"),
                (", ", "dim"),
                ("spend 7d by model", "bold"),
                (", ", "dim"),
                ("help", "bold"),
                (". A number presses a button; ", "dim"),
                ("home", "bold"),
                (" shows the App Home; ", "dim"),
                ("exit", "bold"),
                (" or Ctrl-D leaves.", "dim"),
            )
        )
        while True:
            line = await self.reader.line(self.prompt)
            if line is None:
                self.console.print()
                return 0
            try:
                turn = await self.handle(line)
            except Exception as error:  # one line, and the session goes on
                log.debug("console line failed", exc_info=True)
                self.console.print(Text(f"spendbot: {type(error).__name__}: {error}", style="red"))
                continue
            if turn is None:
                return 0

    async def handle(self, line: str) -> Turn | None:
        """One typed line: a command, a number (a button), ``home``, or ``exit``/``quit`` (None)."""
        text = line.strip()
        if not text:
            return Turn()  # an empty line: nothing to send, and the last answer's choices still stand
        command = self.settings.command
        if text == command or text.startswith(command + " "):
            text = text[len(command) :].strip()  # what is left may be empty: that is `help`, as in Slack
        if text.lower() in EXIT_WORDS:
            return None
        if text.isdigit():
            return await self.choose(int(text))
        if text.split(maxsplit=1)[:1] == ["subscribe"] and not self.subscriptions_enabled:
            # The console's channel exists only in this process: the running bot could never post there.
            self.console.print(
                Text(
                    "Subscribe in Slack, in the channel that should receive the posts: the console's "
                    "channel exists only here, so the bot could never post to it.",
                    style="yellow",
                )
            )
            return Turn()
        if text.lower() == "home":
            return await self.home()
        return await self.command(text)

    # ----- requests ---------------------------------------------------------------------------------

    async def command(self, text: str) -> Turn:
        """``/spend text`` as Slack would send it, and everything it answered."""
        mark = self._mark()
        body, headers = self._signed.command(
            text,
            user_id=self.user_id,
            channel_id=self.channel_id,
            command=self.settings.command,
            team_id=self.team_id,
            trigger_id=self._trigger(),
        )
        response = await self._dispatch(body, headers)
        turn = Turn()
        self._show_ack(response, turn)
        await self._collect(mark, turn)
        return self._finish(turn)

    async def choose(self, number: int) -> Turn:
        """Press the button (or pick the option) numbered ``number`` in the last answer."""
        found = self.choices.get(number)
        if found is None:
            offered = ", ".join(str(key) for key in sorted(self.choices)) or "none"
            self.console.print(Text(f"There is no choice {number} (choices now: {offered}).", style="yellow"))
            return Turn(choices=[choice for choice, _ in self.choices.values()])
        choice, view = found
        if choice.url:
            self.console.print(Text(f"That button opens {choice.url} in a browser.", style="dim"))
            return Turn()
        mark = self._mark()
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": {"id": self.team_id, "domain": "console"},
            "user": {"id": self.user_id, "team_id": self.team_id},
            "api_app_id": APP_ID,
            "trigger_id": self._trigger(),
            "actions": [choice.action()],
        }
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id", "")}
            payload["view"] = view
        else:
            payload["container"] = {"type": "message", "is_ephemeral": True, "channel_id": self.channel_id}
            payload["channel"] = {"id": self.channel_id, "name": "console"}
            payload["response_url"] = self.fake.new_response_url()
        response = await self._dispatch_interactive(payload)
        turn = Turn()
        self._show_ack(response, turn)
        await self._collect(mark, turn)
        return self._finish(turn)

    async def home(self) -> Turn:
        """Open the App Home tab, as ``app_home_opened`` from Slack would."""
        mark = self._mark()
        body, headers = self._signed.event(
            {"type": "app_home_opened", "user": self.user_id, "channel": "D" + self.user_id, "tab": "home"},
            team_id=self.team_id,
        )
        response = await self._dispatch(body, headers)
        turn = Turn()
        self._show_ack(response, turn)
        await self._collect(mark, turn)
        return self._finish(turn)

    async def _dispatch(self, body: str, headers: Mapping[str, str]) -> BoltResponse:
        return await self.app.async_dispatch(AsyncBoltRequest(body=body, headers=dict(headers)))

    async def _dispatch_interactive(self, payload: dict[str, Any]) -> BoltResponse:
        body, headers = self._signed.interactive(payload)
        return await self._dispatch(body, headers)

    def _trigger(self) -> str:
        self._triggers += 1
        return f"console.trigger.{self._triggers}"

    async def scheduled(self, work: Awaitable[object]) -> Turn:
        """Run scheduled work (an alert check, a due digest) and show what it posted, as Slack would."""
        mark = self._mark()
        await work
        turn = Turn()
        await self._collect(mark, turn)
        return self._finish(turn)

    def show_message(self, message: Message | Mapping[str, Any], *, label: str | None = None) -> Turn:
        """Draw a message the app built outside a request (a digest or alert preview), buttons numbered."""
        turn = Turn()
        self._show(message.payload() if isinstance(message, Message) else message, turn, label=label)
        return turn

    # ----- what came back ---------------------------------------------------------------------------

    def _mark(self) -> _Mark:
        return _Mark(
            responses=len(self.fake.response_posts()),
            views=len(self.fake.views),
            messages=len(self.fake.all_messages()),
            ephemerals=len(self.fake.ephemerals),
            uploads=frozenset(self.fake.uploads),
        )

    def _show_ack(self, response: BoltResponse, turn: Turn) -> None:
        if response.status >= 400:
            self.console.print(Text(f"The app refused the request (HTTP {response.status}).", style="red"))
            return
        answer = _json(response.body)
        if answer.get("text") or answer.get("blocks"):
            self._show(answer, turn)

    async def _collect(self, mark: _Mark, turn: Turn) -> None:
        """Show what the request made the app send to Slack, in the order Slack would show it."""
        for post in self.fake.response_posts()[mark.responses :]:
            if post.get("delete_original") and not (post.get("text") or post.get("blocks")):
                continue
            label = None
            if post.get("response_type") == "in_channel":
                label = "Posted in #console for everyone to see:"
            elif post.get("replace_original"):
                label = "The message above now reads:"
            self._show(post, turn, label=label)
        for ephemeral in self.fake.ephemerals[mark.ephemerals :]:
            self._show(ephemeral, turn, label="Only you can see this:")
        for message in self.fake.all_messages()[mark.messages :]:
            where = self._channel_name(message.channel)
            self._show(
                {"text": message.text, "blocks": message.blocks or []}, turn, label=f"Posted in {where}:"
            )
        for record in list(self.fake.views[mark.views :]):
            method = record.get("method")
            view = dict(record.get("view") or {})
            if method == "views.open":
                view["id"] = record.get("id", "")
                await self._modal(view, turn)
            elif method == "views.publish":
                view["id"] = record.get("id", "")
                self._show_view(view, turn, label="App Home:")
            else:
                self._show_view(view, turn)
        self._save_uploads(mark)

    def _show(self, message: Mapping[str, Any], turn: Turn, *, label: str | None = None) -> None:
        rendered = self._renderer.message(message, first_number=len(turn.choices) + 1)
        self._print(rendered, turn, label)
        turn.shown.append(dict(message))
        for choice in rendered.choices:
            self.choices[choice.number] = (choice, None)

    def _show_view(self, view: Mapping[str, Any], turn: Turn, *, label: str | None = None) -> None:
        rendered = self._renderer.view(view, first_number=len(turn.choices) + 1)
        self._print(rendered, turn, label)
        turn.shown.append(dict(view))
        for choice in rendered.choices:
            self.choices[choice.number] = (choice, dict(view))

    def _print(self, rendered: Rendered, turn: Turn, label: str | None) -> None:
        if not turn.choices and not turn.shown:
            self.choices = {}  # a new answer: the numbers of the previous one no longer apply
        if label:
            self.console.print(Text(label, style="dim italic"))
        self.console.print(rendered)
        self.console.print()
        turn.choices.extend(rendered.choices)

    def _finish(self, turn: Turn) -> Turn:
        if not turn.shown:
            self.choices = {}
        return turn

    def _channel_name(self, channel_id: str) -> str:
        channel = self.fake.channels.get(channel_id)
        if is_direct_conversation(channel_id):
            return "your direct messages"
        return f"#{channel.name}" if channel is not None else f"#{channel_id}"

    def _save_uploads(self, mark: _Mark) -> None:
        """Files the bot sent (``export``) go to the data folder: there is no Slack to hold them."""
        for file_id, upload in list(self.fake.uploads.items()):
            if file_id in mark.uploads or file_id in self._saved_uploads or "content" not in upload:
                continue
            self._saved_uploads.add(file_id)
            name = Path(str(upload.get("filename") or file_id)).name
            folder = self.settings.data_dir / "exports"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_bytes(bytes(upload["content"]))
            self.console.print(
                Text(f"The file Slack would have sent you is saved as {path}", style="green"), soft_wrap=True
            )
            self.console.print()

    # ----- modals -----------------------------------------------------------------------------------

    async def _modal(self, view: dict[str, Any], turn: Turn) -> None:
        """Show a modal's text, prompt for its inputs, submit it, and show what the app answered."""
        inputs = [block for block in view.get("blocks") or [] if block.get("type") == "input"]
        shown = {
            **view,
            "blocks": [block for block in view.get("blocks") or [] if block.get("type") != "input"],
        }
        self._show_view(shown, turn)
        if not inputs:
            return
        typed: dict[str, str] = {}
        errors: dict[str, str] = {}
        while True:
            values = await self._ask_inputs(inputs, typed, errors)
            if values is None:
                self.console.print(Text("Cancelled: nothing was submitted.", style="yellow"))
                return
            mark = self._mark()
            payload = {
                "type": "view_submission",
                "team": {"id": self.team_id, "domain": "console"},
                "user": {"id": self.user_id, "team_id": self.team_id},
                "api_app_id": APP_ID,
                "trigger_id": self._trigger(),
                "view": {
                    **view,
                    "state": {"values": values},
                    "private_metadata": view.get("private_metadata", ""),
                },
            }
            response = await self._dispatch_interactive(payload)
            answer = _json(response.body)
            if answer.get("response_action") == "errors":
                errors = {str(key): str(value) for key, value in (answer.get("errors") or {}).items()}
                self._show_errors(inputs, errors)
                again = await self.reader.line("Correct it and submit again? [y/N] ")
                if again is None or again.strip().lower() not in ("y", "yes"):
                    self.console.print(Text("Cancelled: nothing was saved.", style="yellow"))
                    return
                continue
            if answer.get("view"):
                self._show_view(answer["view"], turn)
            elif response.status >= 400:
                self.console.print(Text(f"The app refused the form (HTTP {response.status}).", style="red"))
            await self._collect(mark, turn)
            return

    async def _ask_inputs(
        self, inputs: Sequence[Mapping[str, Any]], typed: dict[str, str], errors: Mapping[str, str]
    ) -> dict[str, Any] | None:
        """Prompt for each input (keys without echo); None when the person ends the input."""
        values: dict[str, Any] = {}
        for block in inputs:
            block_id = str(block.get("block_id") or "")
            element = block.get("element") or {}
            label = self._renderer.text_object(block.get("label")).plain
            secret = _is_secret(block_id, label)
            default = typed.get(block_id) or str(element.get("initial_value") or "")
            hint = "optional" if block.get("optional") else ""
            if secret:
                hint = ", ".join(part for part in (hint, "hidden as you type") if part)
            prompt = (
                label + (f" ({hint})" if hint else "") + (f" [{default}]" if default and not secret else "")
            )
            if block_id in errors:
                self.console.print(Text(f"  {errors[block_id]}", style="red"))
            answer = await (self.reader.secret if secret else self.reader.line)(prompt + ": ")
            if answer is None:
                return None
            value = answer.strip() or default
            if not secret and value:
                typed[block_id] = value
            action_id = str(element.get("action_id") or "value")
            values[block_id] = {
                action_id: {"type": element.get("type", "plain_text_input"), "value": value or None}
            }
        return values

    def _show_errors(self, inputs: Sequence[Mapping[str, Any]], errors: Mapping[str, str]) -> None:
        labels = {
            str(block.get("block_id")): self._renderer.text_object(block.get("label")).plain
            for block in inputs
        }
        for block_id, message in errors.items():
            line = Text(f"{labels.get(block_id, block_id)}: ", style="bold red")
            line.append_text(self._renderer.mrkdwn(message))
            self.console.print(line)


async def settle_background_work(timeout: float = BACKGROUND_GRACE_SECONDS) -> None:  # noqa: ASYNC109
    """Let the bot's own background tasks end (a refresh after a write, a first sync), else cancel them.

    They hold database connections: closing the database under them would leave those to the garbage
    collector. Tasks of other packages (the fake Slack's server) are not ours to wait for.
    """
    current = asyncio.current_task()
    ours = [task for task in asyncio.all_tasks() if task is not current and _is_bot_task(task)]
    if not ours:
        return
    _, pending = await asyncio.wait(ours, timeout=timeout)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def _is_bot_task(task: asyncio.Task[Any]) -> bool:
    frame = getattr(task.get_coro(), "cr_frame", None)
    module = frame.f_globals.get("__name__", "") if frame is not None else ""
    return isinstance(module, str) and module.startswith("bot.")


def _is_secret(block_id: str, label: str) -> bool:
    words = f"{block_id} {label}".lower()
    return any(word in words for word in _SECRET_WORDS)


def _json(body: str) -> dict[str, Any]:
    if not body or not body.lstrip().startswith("{"):
        return {}
    try:
        parsed = json.loads(body)
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
