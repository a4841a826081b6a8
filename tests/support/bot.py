"""Run the real bot (``serve_bot``) in a thread with its own event loop, as ``spendbot run`` would.

A separate loop keeps the test honest: anything the bot does that blocks its loop shows up as
latency on the requests the test sends.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar

from bot.services.container import Services
from bot.settings import RunMode, Settings

T = TypeVar("T")


class BotThread:
    """``with BotThread(settings) as bot:`` serves the bot on a free port; ``bot.url`` is its base URL."""

    def __init__(
        self,
        settings: Settings,
        *,
        mode: RunMode = RunMode.HTTP,
        services_factory: Callable[[Settings], Services] | None = None,
        scheduler_enabled: bool = False,
    ) -> None:
        self.settings = settings
        self.mode = mode
        self.scheduler_enabled = scheduler_enabled
        self._services_factory = services_factory or Services.create
        self.services: Services | None = None
        self.port = 0
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="spendbot", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _main(self) -> None:
        from bot.server import serve_bot

        async def run() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self.services = self._services_factory(self.settings)

            def started(port: int) -> None:
                self.port = port
                self._ready.set()

            await serve_bot(
                self.settings,
                mode=self.mode,
                host="127.0.0.1",
                port=0,
                services=self.services,
                stop=self._stop,
                started=started,
                scheduler_enabled=self.scheduler_enabled,
            )

        try:
            asyncio.run(run())
        except BaseException as error:  # noqa: BLE001 - reported to the test thread
            self.error = error
        finally:
            self._ready.set()

    def start(self, timeout: float = 20.0) -> BotThread:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the bot did not start")
        if self.error is not None:
            raise RuntimeError(f"the bot failed to start: {self.error!r}") from self.error
        return self

    def call(self, coroutine: Awaitable[T], timeout: float = 30.0) -> T:
        """Run a coroutine on the bot's own loop (for example to read its services) and return the result."""
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(_wrap(coroutine), self._loop)
        return future.result(timeout)

    def stop(self, timeout: float = 20.0) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("the bot did not stop")

    def __enter__(self) -> BotThread:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


async def _wrap(coroutine: Awaitable[Any]) -> Any:
    return await coroutine
