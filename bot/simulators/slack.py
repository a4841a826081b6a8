"""A fake Slack: the Web API methods spendbot uses, ``response_url``, file uploads and Socket Mode.

It is a real HTTP (and WebSocket) server on loopback, so the bot's own slack_sdk clients talk to it
exactly as they would to Slack. It records every call, keeps the messages it was sent (with their
metadata, for ``conversations.history``), enforces Slack's posting limits and the ``conversations.history``
limits of apps outside the Marketplace when asked, and answers with 429 + ``Retry-After``, 5xx or an
``ok: false`` error on demand.

It is at least as strict as Slack where a lenient fake would hide a bug: the methods whose reference says
they do not accept ``application/json`` ignore a JSON body's arguments (so Slack answers
``user_not_found`` / ``channel_not_found``), a message may have at most 50 blocks with unique
``block_id``s, each block within Block Kit's limits (text lengths, element counts, distinct
``action_id``s in a block: :func:`block_kit_problem`; else ``invalid_blocks``), a view within its own
(title, ``private_metadata``: else ``invalid_arguments``), a message ``text`` at most 40,000 characters
(else ``msg_too_long``), and ``metadata`` must be an ``event_type`` string with an ``event_payload``
object.

Tests and benchmarks drive it from another thread: every public method is thread-safe.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import math
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

BOT_USER_ID = "UBOT0001"
BOT_ID = "BBOT0001"
APP_ID = "AAPP0001"


@dataclass
class Call:
    """One request the fake received: which method, with which arguments, for which workspace."""

    method: str
    args: dict[str, Any]
    token: str | None
    team_id: str | None
    at: float


@dataclass
class Message:
    """A message as the fake keeps it (what ``conversations.history`` returns)."""

    channel: str
    ts: str
    text: str
    blocks: list[Any] | None
    metadata: dict[str, Any] | None
    thread_ts: str | None
    user: str = BOT_USER_ID
    edits: int = 0


@dataclass
class FakeUser:
    id: str
    team_id: str
    name: str
    email: str | None = None
    tz: str = "UTC"
    is_admin: bool = False
    is_owner: bool = False
    is_bot: bool = False
    deleted: bool = False


@dataclass
class FakeChannel:
    id: str
    team_id: str
    name: str
    is_archived: bool = False
    is_member: bool = True
    exists: bool = True
    is_private: bool = False
    is_mpim: bool = False  # a group DM (its name is ``mpdm-…``)


@dataclass
class _Fault:
    method: str
    times: int
    status: int = 200
    error: str | None = None
    retry_after: float | None = None
    channel: str | None = None
    applied: bool = False  # the call takes effect first; only its answer is the fault
    drop: bool = False  # the connection drops instead of answering


class _HoldingApp:
    """The fake's ASGI app. An HTTP answer is held until the call is done, so that a ``drop`` fault can
    close the connection instead of answering (the client sees the server disconnect)."""

    def __init__(self, routes: Starlette) -> None:
        self._routes = routes

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self._routes(scope, receive, send)
            return
        held: list[MutableMapping[str, Any]] = []

        async def hold(message: MutableMapping[str, Any]) -> None:
            held.append(message)

        await self._routes(scope, receive, hold)
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        if scope.get(_DROP) and transport is not None:
            transport.close()
            await asyncio.sleep(0)  # let the server see the connection lost before it thinks of a 500
            return
        for message in held:
            await send(message)


@dataclass(frozen=True)
class PostLimits:
    """Slack's posting limits: about one message a second per channel, and a workspace-wide cap.

    Both windows are divided by ``time_scale``. A refused post gets 429 with ``Retry-After`` in whole
    wall-clock seconds (at least one, as Slack's header is an integer), so a client that knows nothing of
    the scale waits long enough.
    """

    per_channel_per_second: float = 1.0
    per_workspace_per_minute: int = 300
    time_scale: float = 1.0


@dataclass(frozen=True)
class HistoryLimits:
    """``conversations.history`` for apps not approved for the Slack Marketplace (since May 2025): one
    call a minute per workspace, and ``limit`` at most (and by default) 15 messages.

    The window is divided by ``time_scale``; a refused call gets 429 with a whole-second ``Retry-After``.
    """

    per_minute: int = 1
    max_limit: int = 15
    time_scale: float = 1.0


@dataclass
class SocketSession:
    """One Socket Mode connection, and the acks the client sent back."""

    websocket: WebSocket
    loop: asyncio.AbstractEventLoop
    acks: dict[str, dict[str, Any]] = field(default_factory=dict)


class FakeSlack:
    """The fake Slack server. ``app`` is the ASGI app; ``api_url`` is set once it is served."""

    def __init__(
        self, *, team_id: str = "T0001", team_name: str = "Acme", clock: Callable[[], float] = time.time
    ) -> None:
        self._lock = threading.RLock()
        self._clock = clock  # Slack's wall clock, for message ``ts`` (tests pin it to theirs)
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self.base_url = ""
        self.default_team = team_id
        self.teams: dict[str, str] = {team_id: team_name}
        self.tokens: dict[str, str] = {}
        self.app_tokens: set[str] = set()
        self.users: dict[str, FakeUser] = {}
        self.channels: dict[str, FakeChannel] = {}
        self.messages: dict[str, list[Message]] = defaultdict(list)
        self.ephemerals: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        self.views: list[dict[str, Any]] = []
        self.uploads: dict[str, dict[str, Any]] = {}
        self.oauth_codes: dict[str, dict[str, Any]] = {}
        self.calls_log: list[Call] = []
        self.rate_limited = 0
        self.post_limits: PostLimits | None = None
        self.history_limits: HistoryLimits | None = None
        self._history_calls: dict[str, deque[float]] = defaultdict(deque)
        self._faults: list[_Fault] = []
        self._delays: dict[str, float] = {}
        self._channel_posts: dict[str, deque[float]] = defaultdict(deque)
        self._team_posts: dict[str, deque[float]] = defaultdict(deque)
        self._sockets: list[SocketSession] = []
        self._socket_ready = threading.Event()
        self.add_token("xoxb-test-token", team_id)
        self.app = _HoldingApp(
            Starlette(
                routes=[
                    Route("/api/{method}", self._api, methods=["GET", "POST"]),
                    Route("/response/{hook}", self._response_url, methods=["POST"]),
                    Route("/upload/{file_id}", self._upload, methods=["POST"]),
                    WebSocketRoute("/socket", self._socket),
                ]
            )
        )

    # ----- configuration (thread-safe) -------------------------------------------------------------

    def bind(self, base_url: str) -> None:
        """Tell the fake where it is served, so the URLs it hands out point back at it."""
        self.base_url = base_url.rstrip("/")

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def add_token(self, token: str, team_id: str, team_name: str | None = None) -> None:
        with self._lock:
            self.tokens[token] = team_id
            self.teams.setdefault(team_id, team_name or team_id)

    def add_app_token(self, token: str) -> None:
        with self._lock:
            self.app_tokens.add(token)

    def add_user(
        self,
        user_id: str,
        *,
        team_id: str | None = None,
        name: str | None = None,
        email: str | None = None,
        tz: str = "UTC",
        is_admin: bool = False,
        is_owner: bool = False,
    ) -> FakeUser:
        user = FakeUser(
            id=user_id,
            team_id=team_id or self.default_team,
            name=name or user_id.lower(),
            email=email,
            tz=tz,
            is_admin=is_admin,
            is_owner=is_owner,
        )
        with self._lock:
            self.users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        *,
        team_id: str | None = None,
        name: str | None = None,
        is_member: bool = True,
        is_mpim: bool = False,
    ) -> FakeChannel:
        channel = FakeChannel(
            id=channel_id,
            team_id=team_id or self.default_team,
            name=name or channel_id.lower(),
            is_member=is_member,
            is_private=is_mpim,
            is_mpim=is_mpim,
        )
        with self._lock:
            self.channels[channel_id] = channel
        return channel

    def archive(self, channel_id: str) -> None:
        with self._lock:
            self._channel(channel_id).is_archived = True

    def remove_bot(self, channel_id: str) -> None:
        with self._lock:
            self._channel(channel_id).is_member = False

    def delete_channel(self, channel_id: str) -> None:
        with self._lock:
            self._channel(channel_id).exists = False

    def add_oauth_code(
        self, code: str, *, team_id: str, team_name: str, bot_token: str, user_id: str
    ) -> None:
        """Make ``oauth.v2.access`` accept ``code`` and install the bot in ``team_id``."""
        with self._lock:
            self.oauth_codes[code] = {
                "team_id": team_id,
                "team_name": team_name,
                "bot_token": bot_token,
                "user_id": user_id,
            }

    def fail(
        self,
        method: str,
        *,
        error: str | None = None,
        status: int = 200,
        times: int = 1,
        channel: str | None = None,
        applied: bool = False,
        drop: bool = False,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with ``ok: false, error`` or an HTTP ``status``.

        With ``applied`` the call takes effect and only its answer is the fault, as when Slack posts a
        message and then fails (or times out) before answering. With ``drop`` there is no answer at all:
        the connection closes (with ``applied``, after the call took effect).
        """
        with self._lock:
            self._faults.append(
                _Fault(
                    method=method,
                    times=times,
                    status=status,
                    error=error,
                    channel=channel,
                    applied=applied,
                    drop=drop,
                )
            )

    def rate_limit(self, method: str, *, retry_after: float = 1, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with 429 and ``Retry-After``."""
        with self._lock:
            self._faults.append(_Fault(method=method, times=times, status=429, retry_after=retry_after))

    def slow(self, method: str, seconds: float) -> None:
        """Answer every call of ``method`` after ``seconds``.

        The call still takes effect if the caller gives up waiting.
        """
        with self._lock:
            self._delays[method] = seconds

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._delays.clear()

    def enforce_post_limits(self, limits: PostLimits | None = PostLimits()) -> None:
        """Enforce Slack's per-channel and per-workspace posting limits on ``chat.postMessage``."""
        with self._lock:
            self.post_limits = limits

    def enforce_history_limits(self, limits: HistoryLimits | None = HistoryLimits()) -> None:
        """Enforce the ``conversations.history`` limits of an app outside the Marketplace."""
        with self._lock:
            self.history_limits = limits

    def set_clock(self, clock: Callable[[], float]) -> None:
        """Take message timestamps from ``clock`` (seconds since the epoch), as a test's pinned clock."""
        with self._lock:
            self._clock = clock

    # ----- inspection (thread-safe) ----------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [call for call in self.calls_log if method is None or call.method == method]

    def channel_messages(self, channel_id: str) -> list[Message]:
        with self._lock:
            return list(self.messages.get(channel_id, []))

    def all_messages(self) -> list[Message]:
        with self._lock:
            return [message for messages in self.messages.values() for message in messages]

    def response_posts(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.responses)

    def new_response_url(self) -> str:
        return f"{self.base_url}/response/{next(self._ids)}"

    def reset_records(self) -> None:
        with self._lock:
            self.calls_log.clear()
            self.responses.clear()
            self.ephemerals.clear()
            self.views.clear()
            self.messages.clear()
            self.rate_limited = 0

    async def wait_for(
        self,
        predicate: Callable[[FakeSlack], Any],
        timeout: float = 5.0,  # noqa: ASYNC109 - a test helper whose whole point is a deadline
        interval: float = 0.01,
    ) -> Any:
        """Poll until ``predicate(self)`` is truthy and return its value; fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                value = predicate(self)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"fake Slack: condition not met within {timeout}s")
            await asyncio.sleep(interval)

    # ----- Socket Mode (driven from the test thread) -----------------------------------------------

    def wait_socket(self, timeout: float = 5.0) -> SocketSession:
        """Block until the bot has opened a Socket Mode connection."""
        if not self._socket_ready.wait(timeout):
            raise TimeoutError("no Socket Mode connection")
        with self._lock:
            return self._sockets[-1]

    def socket_send(self, envelope: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
        """Send an envelope over the latest socket and return the client's ack (``envelope_id`` checked)."""
        session = self.wait_socket(timeout)
        envelope_id = envelope["envelope_id"]
        future = asyncio.run_coroutine_threadsafe(
            session.websocket.send_text(json.dumps(envelope)), session.loop
        )
        future.result(timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if envelope_id in session.acks:
                    return session.acks[envelope_id]
            time.sleep(0.005)
        raise TimeoutError(f"no ack for envelope {envelope_id}")

    async def _socket(self, websocket: WebSocket) -> None:
        await websocket.accept()
        session = SocketSession(websocket=websocket, loop=asyncio.get_running_loop())
        with self._lock:
            self._sockets.append(session)
        await websocket.send_text(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": len(self._sockets),
                    "debug_info": {"host": "fake-slack", "approximate_connection_time": 3600},
                    "connection_info": {"app_id": APP_ID},
                }
            )
        )
        self._socket_ready.set()
        try:
            while True:
                text = await websocket.receive_text()
                try:
                    data = json.loads(text)
                except json.JSONDecodeError:
                    continue
                if isinstance(data, dict) and "envelope_id" in data:
                    with self._lock:
                        session.acks[str(data["envelope_id"])] = data
        except WebSocketDisconnect:
            pass
        finally:
            with self._lock:
                if session in self._sockets:
                    self._sockets.remove(session)
                if not self._sockets:
                    self._socket_ready.clear()

    # ----- HTTP handlers ---------------------------------------------------------------------------

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        args = await _read_args(request, json_accepted=method not in FORM_ONLY_METHODS)
        delay = self._delays.get(method)
        if delay:
            await asyncio.sleep(delay)
        token = _bearer(request) or args.pop("token", None)
        with self._lock:
            team_id = self.tokens.get(token or "")
            self.calls_log.append(Call(method, args, token, team_id, time.time()))
            fault = self._take_fault(method, args)
        if fault is not None and fault.drop:
            request.scope[_DROP] = True
        if fault is not None and not fault.applied:
            return _fault_response(fault)
        if method == "apps.connections.open":
            if token not in self.app_tokens:
                return _error("invalid_auth")
            ws_url = self.base_url.replace("http://", "ws://") + "/socket"
            return _ok(url=ws_url)
        if method == "oauth.v2.access":
            return self._oauth_access(args)
        if team_id is None:
            return _error("invalid_auth")
        handler = _HANDLERS.get(method)
        if handler is None:
            return _error("unknown_method")
        with self._lock:
            limited = None
            if method == "chat.postMessage":
                limited = self._check_post_limits(str(args.get("channel", "")), team_id)
            elif method == "conversations.history":
                limited = self._check_history_limits(team_id)
            if limited is not None:
                self.rate_limited += 1
                return JSONResponse(
                    {"ok": False, "error": "ratelimited"}, status_code=429, headers={"Retry-After": limited}
                )
            answer = handler(self, args, team_id)
        return answer if fault is None else _fault_response(fault)

    async def _response_url(self, request: Request) -> Response:
        body = await request.body()
        try:
            payload = json.loads(body or b"{}")
        except json.JSONDecodeError:
            return JSONResponse({"ok": False, "error": "invalid_json"}, status_code=400)
        problem = _blocks_problem(payload.get("blocks"), MAX_MESSAGE_BLOCKS)
        if problem is not None:
            return JSONResponse({"ok": False, "error": problem}, status_code=400)
        with self._lock:
            self.responses.append({"hook": request.path_params["hook"], "at": time.time(), **payload})
        return JSONResponse({"ok": True})

    async def _upload(self, request: Request) -> Response:
        body = await request.body()
        file_id = request.path_params["file_id"]
        with self._lock:
            if file_id not in self.uploads:
                return Response("unknown upload", status_code=404)
            self.uploads[file_id]["content"] = body
        return Response("OK - 200", status_code=200)

    # ----- method implementations (called under the lock) -----------------------------------------

    def _take_fault(self, method: str, args: dict[str, Any]) -> _Fault | None:
        for fault in self._faults:
            if fault.method == method and (fault.channel is None or fault.channel == args.get("channel")):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _check_post_limits(self, channel: str, team_id: str) -> str | None:
        limits = self.post_limits
        if limits is None:
            return None
        now = time.monotonic()
        channel_window = 1.0 / limits.per_channel_per_second / limits.time_scale
        team_window = 60.0 / limits.time_scale
        posts = self._channel_posts[channel]
        while posts and posts[0] <= now - channel_window:
            posts.popleft()
        team_posts = self._team_posts[team_id]
        while team_posts and team_posts[0] <= now - team_window:
            team_posts.popleft()
        if posts:
            return str(max(1, math.ceil(posts[0] + channel_window - now)))
        if len(team_posts) >= limits.per_workspace_per_minute:
            return str(max(1, math.ceil(team_posts[0] + team_window - now)))
        posts.append(now)
        team_posts.append(now)
        return None

    def _check_history_limits(self, team_id: str) -> str | None:
        limits = self.history_limits
        if limits is None:
            return None
        now = time.monotonic()
        window = 60.0 / limits.time_scale
        calls = self._history_calls[team_id]
        while calls and calls[0] <= now - window:
            calls.popleft()
        if len(calls) >= limits.per_minute:
            return str(max(1, math.ceil(calls[0] + window - now)))
        calls.append(now)
        return None

    def _channel(self, channel_id: str) -> FakeChannel:
        channel = self.channels.get(channel_id)
        if channel is None:
            channel = FakeChannel(id=channel_id, team_id=self.default_team, name=channel_id.lower())
            self.channels[channel_id] = channel
        return channel

    def _postable(self, channel_id: str, team_id: str) -> str | None:
        if not channel_id:
            return "channel_not_found"
        if channel_id.startswith("D"):
            return None
        channel = self._channel(channel_id)
        if not channel.exists or channel.team_id != team_id:
            return "channel_not_found"
        if channel.is_archived:
            return "is_archived"
        if not channel.is_member:
            return "not_in_channel"
        return None

    def _next_ts(self) -> str:
        return f"{int(self._clock())}.{next(self._ts):06d}"

    def _post(self, args: dict[str, Any], team_id: str) -> Response:
        channel = str(args.get("channel", ""))
        problem = self._postable(channel, team_id)
        if problem:
            return _error(problem)
        if not args.get("text") and not args.get("blocks"):
            return _error("no_text")
        blocks, metadata, warning = _message_parts(args)
        if isinstance(blocks, Response):
            return blocks
        message = Message(
            channel=channel,
            ts=self._next_ts(),
            text=str(args.get("text") or ""),
            blocks=blocks,
            metadata=metadata,
            thread_ts=args.get("thread_ts"),
        )
        self.messages[channel].append(message)
        answer: dict[str, Any] = {"channel": channel, "ts": message.ts}
        answer["message"] = {"text": message.text, "ts": message.ts}
        if warning is not None:
            answer["warning"] = warning
        return _ok(**answer)

    def _update(self, args: dict[str, Any], team_id: str) -> Response:
        channel = str(args.get("channel", ""))
        blocks, metadata, _ = _message_parts(args)
        if isinstance(blocks, Response):
            return blocks
        for message in self.messages.get(channel, []):
            if message.ts == args.get("ts"):
                message.text = str(args.get("text") or message.text)
                message.blocks = blocks or message.blocks
                if metadata is not None:
                    message.metadata = metadata
                message.edits += 1
                return _ok(channel=channel, ts=message.ts, text=message.text)
        return _error("message_not_found")

    def _ephemeral(self, args: dict[str, Any], team_id: str) -> Response:
        channel = str(args.get("channel", ""))
        problem = self._postable(channel, team_id) or _blocks_problem(
            _json_arg(args.get("blocks")), MAX_MESSAGE_BLOCKS
        )
        if problem:
            return _error(problem)
        self.ephemerals.append(dict(args))
        return _ok(message_ts=self._next_ts())

    def _history(self, args: dict[str, Any], team_id: str) -> Response:
        """Top-level messages newest first, between ``oldest`` and ``latest`` (exclusive unless
        ``inclusive``), ``limit`` a page, the next page behind ``response_metadata.next_cursor``."""
        channel = str(args.get("channel", ""))
        if self._postable(channel, team_id) == "channel_not_found":
            return _error("channel_not_found")
        capped = self.history_limits.max_limit if self.history_limits is not None else 999
        limit = min(int(args.get("limit") or min(100, capped)), capped)
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or math.inf)
        inclusive = _flag(args.get("inclusive"))
        with_metadata = _flag(args.get("include_all_metadata"))
        found = sorted(
            (
                m
                for m in self.messages.get(channel, [])
                if m.thread_ts is None
                and (oldest <= float(m.ts) <= latest if inclusive else oldest < float(m.ts) < latest)
            ),
            key=lambda m: float(m.ts),
            reverse=True,
        )
        start = int(args.get("cursor") or 0)
        out = []
        for message in found[start : start + limit]:
            item: dict[str, Any] = {
                "type": "message",
                "user": message.user,
                "text": message.text,
                "ts": message.ts,
            }
            if message.blocks:
                item["blocks"] = message.blocks
            if with_metadata and message.metadata:
                item["metadata"] = message.metadata
            out.append(item)
        more = len(found) > start + limit
        cursor = str(start + limit) if more else ""
        return _ok(messages=out, has_more=more, response_metadata={"next_cursor": cursor})

    def _users_info(self, args: dict[str, Any], team_id: str) -> Response:
        user = self.users.get(str(args.get("user", "")))
        if user is None or user.team_id != team_id:
            return _error("user_not_found")
        return _ok(
            user={
                "id": user.id,
                "team_id": user.team_id,
                "name": user.name,
                "real_name": user.name.title(),
                "deleted": user.deleted,
                "tz": user.tz,
                "is_admin": user.is_admin,
                "is_owner": user.is_owner,
                "is_bot": user.is_bot,
                "profile": {"email": user.email, "real_name": user.name.title(), "display_name": user.name},
            }
        )

    def _users_lookup(self, args: dict[str, Any], team_id: str) -> Response:
        email = str(args.get("email", "")).lower()
        for user in self.users.values():
            if user.team_id == team_id and (user.email or "").lower() == email:
                return self._users_info({"user": user.id}, team_id)
        return _error("users_not_found")

    def _conversations_info(self, args: dict[str, Any], team_id: str) -> Response:
        channel_id = str(args.get("channel", ""))
        channel = self.channels.get(channel_id)
        if channel is None or not channel.exists or channel.team_id != team_id:
            return _error("channel_not_found")
        return _ok(
            channel={
                "id": channel.id,
                "name": channel.name,
                "is_archived": channel.is_archived,
                "is_member": channel.is_member,
                "is_private": channel.is_private,
                "is_channel": not channel.is_private,
                "is_group": channel.is_private and not channel.is_mpim,
                "is_im": channel.id.startswith("D"),
                "is_mpim": channel.is_mpim,
            }
        )

    def _conversations_open(self, args: dict[str, Any], team_id: str) -> Response:
        users = str(args.get("users", "")).split(",")
        if not users or not users[0]:
            return _error("users_list_not_supplied")
        return _ok(channel={"id": "D" + users[0].lstrip("U")})

    def _auth_test(self, args: dict[str, Any], team_id: str) -> Response:
        return _ok(
            url=f"https://{team_id.lower()}.slack.example/",
            team=self.teams.get(team_id, team_id),
            user="spendbot",
            team_id=team_id,
            user_id=BOT_USER_ID,
            bot_id=BOT_ID,
            is_enterprise_install=False,
        )

    def _views_open(self, args: dict[str, Any], team_id: str) -> Response:
        view = _json_arg(args.get("view")) or {}
        if not args.get("trigger_id"):
            return _error("invalid_trigger_id")
        if problem := _view_problem(view):
            return _error(problem)
        view_id = f"V{next(self._ids):06d}"
        self.views.append({"method": "views.open", "id": view_id, "view": view, "team_id": team_id, **args})
        return _ok(view={**view, "id": view_id})

    def _views_update(self, args: dict[str, Any], team_id: str) -> Response:
        view = _json_arg(args.get("view")) or {}
        if problem := _view_problem(view):
            return _error(problem)
        self.views.append({"method": "views.update", "view": view, "team_id": team_id, **args})
        return _ok(view={**view, "id": args.get("view_id", "V0")})

    def _views_publish(self, args: dict[str, Any], team_id: str) -> Response:
        view = _json_arg(args.get("view")) or {}
        if not args.get("user_id"):
            return _error("invalid_arguments")
        if problem := _view_problem(view):
            return _error(problem)
        self.views.append({"method": "views.publish", "view": view, "team_id": team_id, **args})
        return _ok(view={**view, "id": f"V{next(self._ids):06d}"})

    def _get_upload_url(self, args: dict[str, Any], team_id: str) -> Response:
        if not args.get("filename") or not args.get("length"):
            return _error("invalid_arguments")
        file_id = f"F{next(self._ids):08d}"
        self.uploads[file_id] = {
            "filename": args.get("filename"),
            "length": args.get("length"),
            "team_id": team_id,
        }
        return _ok(upload_url=f"{self.base_url}/upload/{file_id}", file_id=file_id)

    def _complete_upload(self, args: dict[str, Any], team_id: str) -> Response:
        files = _json_arg(args.get("files")) or []
        channel = args.get("channel_id")
        if channel:
            problem = self._postable(str(channel), team_id)
            if problem:
                return _error(problem)
        out = []
        for item in files:
            upload = self.uploads.get(str(item.get("id")))
            if upload is None or "content" not in upload:
                return _error("file_not_found")
            upload.update(
                channel=channel,
                title=item.get("title"),
                initial_comment=args.get("initial_comment"),
                completed=True,
            )
            out.append({"id": item.get("id"), "title": item.get("title"), "name": upload.get("filename")})
        return _ok(files=out)

    def _oauth_access(self, args: dict[str, Any]) -> Response:
        with self._lock:
            grant = self.oauth_codes.pop(str(args.get("code", "")), None)
        if grant is None:
            return _error("invalid_code")
        self.add_token(grant["bot_token"], grant["team_id"], grant["team_name"])
        return _ok(
            app_id=APP_ID,
            authed_user={"id": grant["user_id"]},
            scope="commands,chat:write",
            token_type="bot",  # noqa: S106 - a field name of Slack's answer, not a secret
            access_token=grant["bot_token"],
            bot_user_id=BOT_USER_ID,
            team={"id": grant["team_id"], "name": grant["team_name"]},
            enterprise=None,
            is_enterprise_install=False,
        )


_HANDLERS: dict[str, Callable[[FakeSlack, dict[str, Any], str], Response]] = {
    "auth.test": FakeSlack._auth_test,
    "chat.postMessage": FakeSlack._post,
    "chat.postEphemeral": FakeSlack._ephemeral,
    "chat.update": FakeSlack._update,
    "conversations.history": FakeSlack._history,
    "conversations.info": FakeSlack._conversations_info,
    "conversations.open": FakeSlack._conversations_open,
    "users.info": FakeSlack._users_info,
    "users.lookupByEmail": FakeSlack._users_lookup,
    "views.open": FakeSlack._views_open,
    "views.update": FakeSlack._views_update,
    "views.publish": FakeSlack._views_publish,
    "files.getUploadURLExternal": FakeSlack._get_upload_url,
    "files.completeUploadExternal": FakeSlack._complete_upload,
}


FORM_ONLY_METHODS = frozenset(
    {
        "conversations.history",
        "conversations.info",
        "files.getUploadURLExternal",
        "users.info",
        "users.lookupByEmail",
    }
)
"""Methods whose reference says "does not currently accept application/json": Slack ignores the
arguments of a JSON body to them (and then answers ``user_not_found``, ``channel_not_found``…)."""
_DROP = "fake_slack.drop"
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000
"""Slack's reference: a message ``text`` over 40,000 characters is refused with ``msg_too_long``."""
EVENT_TYPE = re.compile(r"^[A-Za-z0-9_-]+$")


async def _read_args(request: Request, *, json_accepted: bool = True) -> dict[str, Any]:
    """The call's arguments: query string, then a form body, or a JSON body where the method takes one."""
    args: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    if not body:
        return args
    content_type = request.headers.get("content-type", "")
    if "json" in content_type:
        if not json_accepted:
            return args
        try:
            data = json.loads(body)
        except json.JSONDecodeError:
            return args
        if isinstance(data, dict):
            args.update(data)
    else:
        args.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return args


def _message_parts(args: dict[str, Any]) -> tuple[Any, Any, str | None]:
    """A posted or edited message's blocks, metadata and metadata warning, or Slack's refusal first."""
    if len(str(args.get("text") or "")) > MAX_MESSAGE_TEXT:
        return _error("msg_too_long"), None, None
    blocks = _json_arg(args.get("blocks"))
    problem = _blocks_problem(blocks, MAX_MESSAGE_BLOCKS)
    if problem is not None:
        return _error(problem), None, None
    metadata, warning = _metadata(args.get("metadata"))
    if isinstance(metadata, str):
        return _error(metadata), None, None
    return blocks, metadata, warning


def _blocks_problem(value: Any, limit: int, *, tables: int = 1) -> str | None:
    """``invalid_blocks`` for blocks Slack refuses, as it answers: more than ``limit`` blocks, more
    than ``tables`` table blocks (one in a message; none in a view), a ``block_id`` used twice, or a
    block outside Block Kit's limits (:func:`block_kit_problem`)."""
    blocks = _json_arg(value)
    if not isinstance(blocks, list):
        return None
    if len(blocks) > limit:
        return "invalid_blocks"
    if sum(isinstance(block, dict) and block.get("type") == "table" for block in blocks) > tables:
        return "invalid_blocks"
    ids = [block.get("block_id") for block in blocks if isinstance(block, dict) and block.get("block_id")]
    if len(ids) != len(set(ids)):
        return "invalid_blocks"
    return "invalid_blocks" if any(block_kit_problem(block) for block in blocks) else None


def block_kit_problem(block: Any) -> str | None:
    """Why Slack would refuse one block (a JSON pointer-ish path and the rule), or None.

    The limits of Slack's Block Kit reference for the blocks and elements spendbot sends: section text
    1-3,000 characters, at most 10 fields of 1-2,000; header plain text 1-150; context 1-10 elements;
    actions 1-25 elements with distinct ``action_id``s; button text 1-75, ``value`` up to 2,000;
    ``block_id`` and ``action_id`` up to 255; input label 1-2,000; select options 1-100, their text up
    to 75 and value up to 150; placeholders up to 150.
    """
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        return "block is not an object with a type"
    kind = block["type"]
    if len(str(block.get("block_id", ""))) > 255:
        return f"{kind}: block_id over 255"
    if kind == "section":
        if "text" not in block and "fields" not in block:
            return "section: neither text nor fields"
        if "text" in block and (problem := _text_problem(block["text"], 3000)):
            return f"section.text: {problem}"
        items = block.get("fields", [])
        if not isinstance(items, list) or len(items) > 10 or ("fields" in block and not items):
            return "section.fields: 1 to 10"
        for item in items:
            if problem := _text_problem(item, 2000):
                return f"section.fields: {problem}"
        if "accessory" in block:
            return _element_problem(block["accessory"])
        return None
    if kind == "header":
        problem = _text_problem(block.get("text"), 150, plain=True)
        return f"header.text: {problem}" if problem else None
    if kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
            return "context.elements: 1 to 10"
        for element in elements:
            is_text = isinstance(element, dict) and element.get("type") in ("mrkdwn", "plain_text")
            if is_text and (problem := _text_problem(element, 3000)):
                return f"context: {problem}"
        return None
    if kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
            return "actions.elements: 1 to 25"
        action_ids = [element.get("action_id") for element in elements if isinstance(element, dict)]
        if len([a for a in action_ids if a]) != len({a for a in action_ids if a}):
            return "actions: action_id used twice in one block"
        for element in elements:
            if problem := _element_problem(element):
                return problem
        return None
    if kind == "table":
        return _table_problem(block)
    if kind == "input":
        if problem := _text_problem(block.get("label"), 2000, plain=True):
            return f"input.label: {problem}"
        if "hint" in block and (problem := _text_problem(block["hint"], 2000, plain=True)):
            return f"input.hint: {problem}"
        return _element_problem(block.get("element"))
    return None


def _table_problem(block: Mapping[str, Any]) -> str | None:
    """A table: 1 to 100 rows of 1 to 20 ``raw_text`` (or ``rich_text``) cells, at most 20 column
    settings whose ``align`` is left, center or right."""
    rows = block.get("rows")
    if not isinstance(rows, list) or not 1 <= len(rows) <= 100:
        return "table.rows: 1 to 100"
    for row in rows:
        if not isinstance(row, list) or not 1 <= len(row) <= 20:
            return "table.rows[]: 1 to 20 cells"
        for cell in row:
            if not isinstance(cell, dict) or cell.get("type") not in ("raw_text", "rich_text"):
                return "table cell: raw_text or rich_text"
            if cell["type"] == "raw_text" and not isinstance(cell.get("text"), str):
                return "table cell: raw_text needs text"
    settings = block.get("column_settings", [])
    if not isinstance(settings, list) or len(settings) > 20:
        return "table.column_settings: at most 20"
    for setting in settings:
        if not isinstance(setting, dict) or setting.get("align", "left") not in ("left", "center", "right"):
            return "table.column_settings[]: an object whose align is left, center or right"
    return None


def _text_problem(text: Any, limit: int, *, plain: bool = False) -> str | None:
    if not isinstance(text, dict) or text.get("type") not in ("plain_text",) + (() if plain else ("mrkdwn",)):
        return "not a text object of the right type"
    value = text.get("text")
    if not isinstance(value, str) or not 1 <= len(value) <= limit:
        return f"text must have 1 to {limit} characters"
    return None


def _element_problem(element: Any) -> str | None:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return "element is not an object with a type"
    kind = element["type"]
    if len(str(element.get("action_id", ""))) > 255:
        return f"{kind}: action_id over 255"
    if "placeholder" in element and (problem := _text_problem(element["placeholder"], 150, plain=True)):
        return f"{kind}.placeholder: {problem}"
    if kind == "button":
        if problem := _text_problem(element.get("text"), 75, plain=True):
            return f"button.text: {problem}"
        if len(str(element.get("value", ""))) > 2000 or len(str(element.get("url", ""))) > 3000:
            return "button: value over 2000 or url over 3000"
        if element.get("style") not in (None, "primary", "danger"):
            return "button.style"
    if kind in ("static_select", "radio_buttons", "checkboxes", "overflow"):
        options = element.get("options")
        if not isinstance(options, list) or not 1 <= len(options) <= 100:
            return f"{kind}.options: 1 to 100"
        for option in options:
            if not isinstance(option, dict) or _text_problem(option.get("text"), 75):
                return f"{kind}.options: text 1 to 75"
            if not 1 <= len(str(option.get("value", ""))) <= 150:
                return f"{kind}.options: value 1 to 150"
    if kind == "plain_text_input" and not 0 <= int(element.get("max_length", 3000)) <= 3000:
        return "plain_text_input.max_length: up to 3000"
    return None


def _view_problem(view: Any) -> str | None:
    """``invalid_arguments`` for a view Slack refuses: its blocks (up to 100), a modal title of 1-24
    characters (``submit``/``close`` too), ``private_metadata`` up to 3,000, ``callback_id`` up to 255."""
    if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
        return "invalid_arguments"
    if _blocks_problem(view.get("blocks"), MAX_VIEW_BLOCKS, tables=0):
        return "invalid_arguments"
    if view["type"] == "modal":
        if _text_problem(view.get("title"), 24, plain=True):
            return "invalid_arguments"
        for button_name in ("submit", "close"):
            if button_name in view and _text_problem(view[button_name], 24, plain=True):
                return "invalid_arguments"
    if len(str(view.get("private_metadata", ""))) > 3000 or len(str(view.get("callback_id", ""))) > 255:
        return "invalid_arguments"
    return None


def _metadata(value: Any) -> tuple[dict[str, Any] | str | None, str | None]:
    """Message metadata as Slack takes it: (the metadata to keep, or an error code; a warning).

    It must be an object with an ``event_type`` string and an ``event_payload`` object
    (``invalid_metadata_format`` otherwise); an ``event_type`` with characters other than letters,
    digits, ``_`` and ``-`` is dropped with an ``invalid_metadata_schema`` warning, the message posted.
    """
    if value is None or value == "":
        return None, None
    metadata = _json_arg(value)
    if (
        not isinstance(metadata, dict)
        or not isinstance(metadata.get("event_type"), str)
        or not isinstance(metadata.get("event_payload"), dict)
    ):
        return "invalid_metadata_format", None
    if not EVENT_TYPE.match(metadata["event_type"]):
        return None, "invalid_metadata_schema"
    return metadata, None


def _flag(value: Any) -> bool:
    return str(value).lower() in ("1", "true")


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:] if header.lower().startswith("bearer ") else None


def _json_arg(value: Any) -> Any:
    """slack_sdk sends lists and objects as JSON strings in form bodies, and as objects in JSON bodies."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _ok(**fields: Any) -> JSONResponse:
    return JSONResponse({"ok": True, **fields})


def _error(error: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": error})


def _fault_response(fault: _Fault) -> Response:
    if fault.status == 429:
        retry_after = str(max(1, math.ceil(fault.retry_after or 1)))
        return JSONResponse(
            {"ok": False, "error": "ratelimited"}, status_code=429, headers={"Retry-After": retry_after}
        )
    if fault.status >= 500:
        return Response("upstream failure", status_code=fault.status)
    return _error(fault.error or "internal_error")


class SignedRequests:
    """Builds the requests Slack sends to an app in HTTP mode, signed with the app's signing secret."""

    def __init__(self, signing_secret: str, *, fake: FakeSlack | None = None, team_id: str = "T0001") -> None:
        self.signing_secret = signing_secret
        self.fake = fake
        self.team_id = team_id

    def sign(self, body: str | bytes, timestamp: int | None = None) -> dict[str, str]:
        """The two headers Slack adds: a timestamp and an HMAC-SHA256 signature of ``v0:ts:body``."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        raw = body.encode() if isinstance(body, str) else body
        basestring = f"v0:{stamp}:".encode() + raw
        digest = hmac.new(self.signing_secret.encode(), basestring, hashlib.sha256).hexdigest()
        return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}

    def raw(
        self, body: str | bytes, *, content_type: str = "application/x-www-form-urlencoded"
    ) -> tuple[str | bytes, dict[str, str]]:
        """Any body, correctly signed: for the malformed requests a real Slack never sends."""
        return body, {**self.sign(body), "Content-Type": content_type}

    def command(
        self,
        text: str,
        *,
        user_id: str = "U0001",
        channel_id: str = "C0001",
        channel_name: str | None = None,
        command: str = "/spend",
        team_id: str | None = None,
        response_url: str | None = None,
        trigger_id: str = "T.trigger.1",
        timestamp: int | None = None,
    ) -> tuple[str, dict[str, str]]:
        """A slash-command POST body (form-encoded) and its headers.

        ``channel_name`` is what Slack sends: ``directmessage`` in a DM (the default for a ``D`` id),
        ``mpdm-…`` in a group DM, the channel's name elsewhere (``general`` by default).
        """
        if response_url is None:
            response_url = (
                self.fake.new_response_url() if self.fake is not None else "http://127.0.0.1:9/response/0"
            )
        fields = {
            "token": "legacy-verification-token",
            "team_id": team_id or self.team_id,
            "team_domain": "acme",
            "channel_id": channel_id,
            "channel_name": channel_name or ("directmessage" if channel_id.startswith("D") else "general"),
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
        body = urlencode(fields)
        return body, {**self.sign(body, timestamp), "Content-Type": "application/x-www-form-urlencoded"}

    def interactive(
        self, payload: dict[str, Any], *, timestamp: int | None = None
    ) -> tuple[str, dict[str, str]]:
        """A block action or view submission: ``payload=<json>`` form-encoded."""
        body = urlencode({"payload": json.dumps(payload)})
        return body, {**self.sign(body, timestamp), "Content-Type": "application/x-www-form-urlencoded"}

    def event(self, event: dict[str, Any], *, team_id: str | None = None) -> tuple[str, dict[str, str]]:
        """An Events API callback wrapping ``event``."""
        body = json.dumps(
            {
                "token": "legacy-verification-token",
                "team_id": team_id or self.team_id,
                "api_app_id": APP_ID,
                "type": "event_callback",
                "event_id": f"Ev{next(_EVENT_IDS):08d}",
                "event_time": int(time.time()),
                "event": event,
            }
        )
        return body, {**self.sign(body), "Content-Type": "application/json"}


_EVENT_IDS = itertools.count(1)
