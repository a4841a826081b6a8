"""Serve an ASGI app on a free loopback port, in a thread of its own or as a task in the current loop.

Fakes run in their own thread (with their own event loop) in tests and benchmarks, so that a blocking
call in the bot shows up as latency instead of being hidden by a shared loop. They run under the same
:class:`~bot.serving.QuietServer` as ``spendbot run``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from bot.serving import QuietServer


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the kernel for a port that is free right now, for a server in another process to bind.

    Another process may take it before that server binds it; servers in this process use
    :func:`_listening` instead, which keeps the port it was given.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _listening(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (0: any free port), handed to uvicorn as it is.

    Binding here rather than picking a free port for uvicorn to bind later leaves no moment in which
    another test process (pytest-xdist runs several) could take the same port.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _config(app: Any, host: str, port: int, **options: Any) -> uvicorn.Config:
    options.setdefault("log_level", "warning")
    options.setdefault("access_log", False)
    options.setdefault("log_config", None)  # records go through the process's own logging setup
    options.setdefault("lifespan", "off")
    return uvicorn.Config(app, host=host, port=port, **options)


@dataclass
class ServedApp:
    """A running server: its base URL, and how to stop it."""

    url: str
    host: str
    port: int
    _server: QuietServer
    _thread: threading.Thread | None = None
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop a server started with :func:`serve_in_thread` and wait for its thread."""
        self.request_stop()
        self.join(timeout)

    def request_stop(self) -> None:
        """Ask the server to stop, without waiting (uvicorn takes about 0.2 s to wind down)."""
        self._server.should_exit = True

    def join(self, timeout: float = 10.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    async def astop(self) -> None:
        """Stop a server started with :func:`serve_in_loop`."""
        self._server.should_exit = True
        if self._task is not None:
            await self._task


def serve_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0, **options: Any) -> ServedApp:
    """Start ``app`` under uvicorn in a daemon thread and return once it accepts connections."""
    sock = _listening(host, port)
    port = sock.getsockname()[1]
    server = QuietServer(_config(app, host, port, **options))
    thread = threading.Thread(target=server.run, args=([sock],), name=f"serve-{port}", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            sock.close()
            raise RuntimeError(f"server on {host}:{port} failed to start")
        threading.Event().wait(0.01)
    return ServedApp(url=f"http://{host}:{port}", host=host, port=port, _server=server, _thread=thread)


async def serve_in_loop(app: Any, host: str = "127.0.0.1", port: int = 0, **options: Any) -> ServedApp:
    """Start ``app`` under uvicorn as a task of the running loop and return once it accepts connections."""
    sock = _listening(host, port)
    port = sock.getsockname()[1]
    server = QuietServer(_config(app, host, port, **options))
    task = asyncio.create_task(server.serve([sock]))
    while not server.started:
        if task.done():
            sock.close()
            task.result()
            raise RuntimeError(f"server on {host}:{port} failed to start")
        await asyncio.sleep(0.01)
    return ServedApp(url=f"http://{host}:{port}", host=host, port=port, _server=server, _task=task)


@contextlib.contextmanager
def served(app: Any, host: str = "127.0.0.1", **options: Any) -> Iterator[ServedApp]:
    """``with served(app) as s:`` runs ``app`` in a thread for the block's duration."""
    handle = serve_in_thread(app, host, **options)
    try:
        yield handle
    finally:
        handle.stop()


@contextlib.contextmanager
def served_all(*apps: Any, host: str = "127.0.0.1") -> Iterator[list[ServedApp]]:
    """``with served_all(a, b, c) as (sa, sb, sc):`` serves each in a thread; they stop together.

    Stopping them together rather than one after the other saves each server's wind-down, which adds
    up over a test suite that starts a small world of fakes for every test.
    """
    handles: list[ServedApp] = []
    try:
        for app in apps:
            handles.append(serve_in_thread(app, host))
        yield handles
    finally:
        for handle in handles:
            handle.request_stop()
        for handle in handles:
            handle.join()
