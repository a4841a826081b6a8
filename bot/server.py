"""``spendbot run``: serve the bot in Socket Mode or HTTP mode, with ``/healthz`` and ``/metrics`` in both.

One asyncio loop runs everything: uvicorn (Bolt's Starlette adapter in HTTP mode), the Socket Mode
client, and later the scheduler. SIGTERM and SIGINT stop it cleanly: the socket closes, in-flight
requests finish, the database is disposed, and the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler, to_starlette_response
from slack_bolt.async_app import AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.app import create_app
from bot.domain.errors import SpendbotError
from bot.metrics import CONTENT_TYPE_LATEST, Metrics
from bot.scheduler import Scheduler
from bot.services.container import Services
from bot.serving import QuietServer
from bot.settings import RunMode, Settings
from bot.slack.edge import Refused, SlackSignature, bolt_request, misshapen_part, read_body

log = logging.getLogger(__name__)


class StartupError(SpendbotError):
    """The bot cannot start (port taken, database unreachable...); the message is one readable line."""


def _request_kind(body: bytes) -> str:
    if body.startswith(b"{") or b'"type"' in body[:200]:
        return "event"
    if b"payload=" in body[:16]:
        return "interactive"
    if b"command=" in body:
        return "command"
    return "other"


class SlackEndpoint:
    """``POST /slack/events``: the edge checks (``bot.slack.edge``), then Bolt dispatches; timed, counted."""

    def __init__(self, services: Services, bolt_app: AsyncApp) -> None:
        secret = services.settings.slack_signing_secret
        self._signature = SlackSignature(secret.get_secret_value() if secret is not None else "")
        self._bolt_app = bolt_app
        self._metrics = services.metrics

    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        body: bytes | None = None
        try:
            body = await read_body(request)
            headers = request.headers
            self._signature.check(
                headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature"), body
            )
            verified = bolt_request(request, body)
        except Refused as refusal:
            size = "body not read" if body is None else f"{len(body)} bytes"
            log.info("refused a request to /slack/events: %s (%s)", refusal.reason, size)
            response: Response = JSONResponse({"error": refusal.reason}, status_code=refusal.status)
        else:
            response = to_starlette_response(await self._bolt_app.async_dispatch(verified))
        kind = _request_kind(body or b"")
        self._metrics.ack_seconds.labels(kind=kind).observe(time.perf_counter() - started)
        self._metrics.slack_requests.labels(kind=kind, status=str(response.status_code)).inc()
        return response


def build_web_app(
    services: Services,
    bolt_app: AsyncApp,
    *,
    serve_events: bool,
    socket_connected: Callable[[], bool] | None = None,
) -> Starlette:
    """The ASGI app: Slack's endpoint (HTTP mode), the OAuth pages (when configured), health and metrics."""
    handler = AsyncSlackRequestHandler(bolt_app)
    metrics = services.metrics

    async def oauth(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(_request: Request) -> Response:
        database_ok = await services.db.ping()
        body: dict[str, Any] = {"status": "ok" if database_ok else "unavailable"}
        body["database"] = "ok" if database_ok else "unreachable"
        if socket_connected is not None:
            body["socket_mode"] = "connected" if socket_connected() else "disconnected"
        return JSONResponse(body, status_code=200 if database_ok else 503)

    async def metrics_endpoint(_request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]
    if serve_events:
        routes.append(Route("/slack/events", SlackEndpoint(services, bolt_app).handle, methods=["POST"]))
        if services.settings.oauth_enabled:
            routes.append(Route("/slack/install", oauth, methods=["GET"]))
            routes.append(Route("/slack/oauth_redirect", oauth, methods=["GET"]))
    return Starlette(routes=routes)


class MeasuredSocketModeHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler, counting requests and timing acknowledgements like the HTTP path."""

    def __init__(self, app: AsyncApp, app_token: str, metrics: Metrics) -> None:
        super().__init__(app, app_token)
        self._metrics = metrics

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        started = time.perf_counter()
        payload = req.payload
        if not isinstance(payload, dict) or misshapen_part(payload) is not None:
            # Bolt would fail on it in its own middleware and never acknowledge it, so Slack would
            # send it again: acknowledge it empty instead, as the HTTP edge answers it 400.
            log.info("refused a Socket Mode %s envelope: payload not shaped like Slack's", req.type)
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
        else:
            await super().handle(client, req)
        kind = {"slash_commands": "command", "interactive": "interactive", "events_api": "event"}.get(
            req.type, "other"
        )
        self._metrics.ack_seconds.labels(kind=kind).observe(time.perf_counter() - started)
        self._metrics.slack_requests.labels(kind=kind, status="socket").inc()

    def connected(self) -> bool:
        return bool(self.client.current_session is not None and not self.client.current_session.closed)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio sets TCP_NODELAY on accepted connections only when it does, and
    # without it Nagle's algorithm and delayed ACKs add 40 ms to every answer.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise StartupError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    sock.set_inheritable(True)
    return sock


async def serve_bot(
    settings: Settings,
    *,
    mode: RunMode,
    host: str = "0.0.0.0",  # noqa: S104 - a container must listen on every interface
    port: int = 3000,
    services: Services | None = None,
    stop: asyncio.Event | None = None,
    started: Callable[[int], None] | None = None,
    scheduler_enabled: bool = True,
) -> list[asyncio.Task[Any]]:
    """Run the bot until ``stop`` is set or SIGTERM/SIGINT arrives, then shut down cleanly.

    ``scheduler_enabled`` is False only in tests that drive the scheduled work themselves. Returns the
    tasks that did not stop within ``SHUTDOWN_GRACE`` of being cancelled (see :func:`_drain`).
    """
    services = services or Services.create(settings)
    stop = stop or asyncio.Event()
    sock = _bind(host, port)
    stragglers: list[asyncio.Task[Any]] = []
    try:
        with _stopped_by_signals(stop):
            await _start_services(services, settings)
            bolt_app = create_app(settings, services=services)
            bolt_app.client.session = services.slack.session
            socket_handler = _socket_handler(settings, bolt_app, services) if mode is RunMode.SOCKET else None
            web = build_web_app(
                services,
                bolt_app,
                serve_events=mode is RunMode.HTTP,
                socket_connected=socket_handler.connected if socket_handler is not None else None,
            )
            server, server_task = await _start_web_server(web, sock)
            if socket_handler is not None:
                await socket_handler.connect_async()  # type: ignore[no-untyped-call]
            scheduler = _started_scheduler(settings, services) if scheduler_enabled else None
            gc.freeze()  # what the start built lives as long as the process: see _started_scheduler
            bound_port = sock.getsockname()[1]
            log.info("spendbot is running in %s mode on http://%s:%s", mode.value, host, bound_port)
            if started is not None:
                started(bound_port)
            await _until_stopped(stop, server_task)
            await _shut_down(scheduler, socket_handler, server, server_task)
            stragglers = await _drain(SHUTDOWN_GRACE)
    finally:
        sock.close()
        await services.close()
    log.info("spendbot stopped")
    return stragglers


async def _until_stopped(stop: asyncio.Event, server_task: asyncio.Task[None]) -> None:
    """Until a stop is asked for, or the web server ends by itself."""
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({stopper, server_task}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()


SHUTDOWN_GRACE = 3.0
"""Seconds the work still running at a stop (a job's posts, answers after their ack) has to end once
cancelled: with uvicorn's own grace, well inside the 10 s Docker gives between SIGTERM and SIGKILL."""


async def _drain(grace: float) -> list[asyncio.Task[Any]]:
    """Cancel every task still running but this one and wait up to ``grace`` seconds for them.

    Work a stop interrupts is in the database (due times, the delivery ledger) and resumes at the next
    start. A task that outlives its cancellation would hold ``asyncio.run`` (which waits for every
    task) and the process with it: those are logged with where they wait, and returned.
    """
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
    for task in tasks:
        task.cancel()
    if not tasks:
        return []
    _, pending = await asyncio.wait(tasks, timeout=grace)
    for task in pending:
        where = " <- ".join(f"{frame.f_code.co_name}:{frame.f_lineno}" for frame in task.get_stack(limit=6))
        log.warning("task %s did not stop within %g s of the shutdown (in %s)", task.get_name(), grace, where)
    return list(pending)


def _started_scheduler(settings: Settings, services: Services) -> Scheduler:
    """The scheduler, started. The caller then freezes the heap (``gc.freeze``): everything built by
    then lives as long as the process, and the cyclic collector's full sweeps over it paused answers by
    tens of milliseconds (bench/ack.py's p99)."""
    scheduler = Scheduler(settings, services.publisher, services.metrics)
    scheduler.start()
    return scheduler


@contextlib.contextmanager
def _stopped_by_signals(stop: asyncio.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stop`` while the bot runs (where the loop can take signal handlers)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    try:
        yield
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)


async def _shut_down(
    scheduler: Scheduler | None,
    socket_handler: MeasuredSocketModeHandler | None,
    server: QuietServer,
    server_task: asyncio.Task[None],
) -> None:
    """Stop taking work (scheduler, socket), then let uvicorn finish the requests in flight."""
    log.info("spendbot is shutting down")
    if scheduler is not None:
        scheduler.shutdown()
    if socket_handler is not None:
        await socket_handler.close_async()  # type: ignore[no-untyped-call]
    server.should_exit = True
    await server_task


def _socket_handler(settings: Settings, bolt_app: AsyncApp, services: Services) -> MeasuredSocketModeHandler:
    if settings.slack_app_token is None:
        raise StartupError("Socket Mode needs SLACK_APP_TOKEN")
    return MeasuredSocketModeHandler(bolt_app, settings.slack_app_token.get_secret_value(), services.metrics)


async def _start_services(services: Services, settings: Settings) -> None:
    try:
        await services.start()
    except Exception as error:
        raise StartupError(f"database {_safe_url(settings.database_url)} is not usable: {error}") from error


async def _start_web_server(web: Starlette, sock: socket.socket) -> tuple[QuietServer, asyncio.Task[None]]:
    """uvicorn on the bound socket, returned once it accepts connections (or failed to start)."""
    # log_config=None: uvicorn's records go through our handler (one line each, scrubbed), not its own.
    config = uvicorn.Config(
        web,
        log_level="warning",
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=3,  # then the drain's grace: within Docker's 10 s
    )
    server = QuietServer(config)
    server_task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not server_task.done():  # noqa: ASYNC110 - uvicorn exposes only a flag
        await asyncio.sleep(0.01)
    if server_task.done():
        server_task.result()
        raise StartupError("the HTTP server stopped during start-up")
    return server, server_task


def _safe_url(url: str) -> str:
    """The database URL without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user = credentials.split(":", 1)[0]
        rest = f"{user}:***@{host}" if ":" in credentials else f"{user}@{host}"
    return f"{scheme}{sep}{rest}"
