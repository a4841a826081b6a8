"""uvicorn as an embedded server: the process that runs it owns its signals.

``spendbot run`` serves Bolt and ``/healthz`` with it; the simulators' loopback servers
(``bot.simulators.serving``) reuse it, so production never imports from the simulators.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import uvicorn


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling, which would re-raise SIGTERM/SIGINT after shutdown.

    The process that embeds the server owns its signals (``spendbot run``, tests, the demo).
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
