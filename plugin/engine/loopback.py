"""A real uvicorn server on a free port of 127.0.0.1, run from a background thread.

It serves an app (an upstream service of the kata world, a learner's app) over real TCP, so a sync or an
async client alike talks to it; it can count the TCP connections it accepts, and it stops in
milliseconds.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

HOST = "127.0.0.1"
START_TIMEOUT_S = 5.0
STOP_GRACE_S = 0.5


class ConnectionCounter(Protocol):
    def _connection_made(self) -> None: ...

    def _connection_lost(self) -> None: ...


def counting_protocol(upstream: ConnectionCounter) -> type[H11Protocol]:
    """uvicorn's h11 protocol, counting each TCP connection the server accepts."""

    class CountingH11Protocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            upstream._connection_made()
            super().connection_made(transport)

        def connection_lost(self, exc: Exception | None) -> None:
            upstream._connection_lost()
            super().connection_lost(exc)

    return CountingH11Protocol


class Server(uvicorn.Server):
    """uvicorn's server, told to stop by an event, and stopping in milliseconds, not 0.2 s."""

    def __init__(self, config: uvicorn.Config, on_loop: Callable[[], Callable[[], None]] | None = None) -> None:
        super().__init__(config)
        self.on_loop = on_loop
        self.ready = threading.Event()
        self.answering: set[asyncio.Future[Any]] = set()
        # How long a stop waits for the requests in progress (uvicorn itself waits for as long as they take).
        self.stop_grace_s = STOP_GRACE_S
        self.lifespan_shutdown_at: float | None = None  # `perf_counter()` time the app's lifespan began to shut down
        self._loop: asyncio.AbstractEventLoop | None = None
        self._exit: asyncio.Event | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        # `on_loop` runs first on the server's own loop (to watch it from startup on); what it
        # returns runs last.
        undo = self.on_loop() if self.on_loop is not None else None
        try:
            await super().serve(sockets)
        finally:
            if undo is not None:
                undo()

    async def main_loop(self) -> None:
        self._loop, self._exit = asyncio.get_running_loop(), asyncio.Event()
        self.ready.set()
        await self._exit.wait()

    def request_exit(self) -> None:
        loop, event = self._loop, self._exit
        if loop is not None and event is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:
                pass

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for answer in list(self.answering):
            answer.cancel()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        deadline = time.perf_counter() + self.stop_grace_s
        while (self.server_state.tasks or self.server_state.connections) and time.perf_counter() < deadline:
            await asyncio.sleep(0.002)
        for task in list(self.server_state.tasks):
            task.cancel()
        for connection in list(self.server_state.connections):
            connection.transport.close()
        await asyncio.sleep(0)
        # As uvicorn's own shutdown ends: the app's lifespan shutdown (a no-op when lifespan is off).
        if not self.force_exit:
            self.lifespan_shutdown_at = time.perf_counter()
            await self.lifespan.shutdown()


class LoopbackServer:
    """`app` served by uvicorn on a free port of 127.0.0.1, from a thread of its own.

    `protocol` replaces uvicorn's HTTP protocol class (to count connections, say); `lifespan`
    is uvicorn's setting; `on_loop` runs on the server's loop before anything else, and what it
    returns after everything; a stop lets the requests in progress finish for `stop_grace_s`.
    `start()` returns once the server accepts connections.
    """

    def __init__(
        self,
        app: Any,
        name: str,
        *,
        protocol: type[H11Protocol] | None = None,
        lifespan: str = "off",
        on_loop: Callable[[], Callable[[], None]] | None = None,
        stop_grace_s: float = STOP_GRACE_S,
    ) -> None:
        self.name = name
        # IPPROTO_TCP, as uvicorn's own sockets have: accepted sockets inherit it, and asyncio
        # only turns Nagle's algorithm off on those (else a keep-alive answer waits 40 ms).
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((HOST, 0))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            http=protocol or "h11",
            loop="asyncio",
            ws="none",
            lifespan=lifespan,
            interface="asgi3",
            log_config=None,
            log_level="warning",
            access_log=False,
            proxy_headers=False,
            server_header=False,
            date_header=False,
        )
        self.server = Server(config, on_loop)
        self.server.stop_grace_s = stop_grace_s
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) the server's socket is bound to."""
        return self._sock.getsockname()[:2]

    def start(self) -> "LoopbackServer":
        if self._thread is not None:
            raise RuntimeError(f"{self.name} was already started")
        self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
        self._thread.start()
        ready = self.server.ready.wait(START_TIMEOUT_S)
        if not ready or self.error is not None or not self.server.started:
            self.stop()
            if self.error is not None:
                cause = f": {self.error!r}"
            elif not ready:
                cause = f": not ready within {START_TIMEOUT_S:g} s"
            else:
                cause = ": its startup failed"
            raise RuntimeError(f"{self.name} did not start{cause}")
        return self

    def stop(self) -> None:
        """Close every connection and stop the server thread."""
        self.server.request_exit()
        if self._thread is not None:
            self._thread.join(START_TIMEOUT_S)
        self._sock.close()

    def _serve(self) -> None:
        try:
            self.server.run(sockets=[self._sock])
        except BaseException as exc:  # uvicorn exits with SystemExit when startup fails
            self.error = exc
        finally:
            self.server.ready.set()
