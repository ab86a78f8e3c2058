"""Upstream HTTP services for the kata world: real uvicorn servers on 127.0.0.1.

Each `Upstream` is a small JSON API that uvicorn serves from a background thread, on a free
port of the loopback interface, so a kata app talks to it over real TCP, with a sync or an
async client alike. Its routes answer after a set latency, or hang until released. It counts
what a real service would see: requests in flight (and the peak), total requests, and TCP
connections accepted (counted in the HTTP protocol's `connection_made`). Its `expect_*`
checks compare those counts with what a kata expects, and fail with an explanation that shows
each call on the run's timeline and, when it can, the line of the app that waited for it.

The pytest fixtures `katas_upstreams` and `katas_catalog` start them for one test.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from fastapi_async_katas.engine.loopback import LoopbackServer, counting_protocol
from fastapi_async_katas.engine.userfiles import UserFiles
from fastapi_async_katas.world.upstream.calls import (
    Call,
    Reply,
    Respond,
    Route,
    UpstreamRequest,
    client_gone,
    compile_template,
    send_json,
)
from fastapi_async_katas.world.upstream.checks import SETTLE_S, UpstreamChecks
from fastapi_async_katas.world.waiting import AppWatch

DEFAULT_LATENCY_S = 0.1
_HANG_POLL_S = 0.005



class Upstream(UpstreamChecks):
    """A JSON API on a real uvicorn server at `url`, counting what it sees.

    Add routes with `route()`, then `start()` (or use `with`). `latency_s` is how long each
    answer takes unless its route says otherwise; `hang()` makes routes wait until
    `release()`; `capacity` makes it fragile: a request beyond that many in flight is turned
    away at once with `capacity_status` (503, or 429 for a rate limit).
    """

    def __init__(
        self,
        name: str,
        *,
        env_var: str | None = None,
        latency_s: float = DEFAULT_LATENCY_S,
        capacity: int | None = None,
        capacity_status: int = 503,
    ) -> None:
        self.name = name
        self.env_var = env_var
        self.latency_s = latency_s
        self.capacity = capacity
        self.capacity_status = capacity_status
        self._routes: list[Route] = []
        self._lock = threading.Lock()
        self.in_flight = 0
        self.peak_in_flight = 0
        self.total_requests = 0
        self.rejected = 0
        self.connections_accepted = 0
        self.connections_open = 0
        self.errors: list[BaseException] = []
        self._calls: list[Call] = []
        self._hang_all = False
        self._served: LoopbackServer | None = None
        self._app: AppWatch | None = None

    def __repr__(self) -> str:
        where = self.url if self._served is not None else "not started"
        return f"<Upstream {self.name!r} {where}>"

    # -- set-up ------------------------------------------------------------------------
    def route(self, method: str, template: str, respond: Respond, *, latency_s: float | None = None) -> "Upstream":
        """Answer `method template` (`/stock/{product_id}`) with `respond(request)`, as JSON."""
        self._routes.append(Route(method.upper(), template, compile_template(template), respond, latency_s))
        return self

    def set_latency(self, latency_s: float, template: str | None = None) -> None:
        """Change how long answers take: of one route, or (no template) of every route."""
        if template is None:
            self.latency_s = latency_s
            for route in self._routes:
                route.latency_s = None
        else:
            self._find(template).latency_s = latency_s

    def hang(self, template: str | None = None) -> None:
        """Stop answering: one route, or every route. Calls wait until `release()` or the client gives up."""
        if template is None:
            self._hang_all = True
        else:
            self._find(template).hang = True

    def release(self) -> None:
        """End hang mode. Calls that were hanging are answered with 503."""
        self._hang_all = False
        for route in self._routes:
            route.hang = False

    def watch_app(self, loop: asyncio.AbstractEventLoop, user_files: UserFiles, skip_files: Iterable[str] = ()) -> None:
        """Note, for each call, the lines of the app (on `loop`) that were waiting for it."""
        self._app = AppWatch(loop, user_files, frozenset(os.path.abspath(f) for f in skip_files))

    def _find(self, template: str) -> Route:
        for route in self._routes:
            if route.template == template:
                return route
        known = ", ".join(repr(r.template) for r in self._routes) or "none"
        raise KeyError(f"{self.name} has no route {template!r}; its routes: {known}")

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._served is None:
            raise RuntimeError(f"{self.name} is not started: call start() first")
        return self._served.url

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) the service listens on."""
        if self._served is None:
            raise RuntimeError(f"{self.name} is not started: call start() first")
        return self._served.address

    def start(self) -> "Upstream":
        """Serve on a free port of 127.0.0.1 from a background thread; return once it accepts connections."""
        if self._served is not None:
            raise RuntimeError(f"{self.name} was already started")
        self._served = LoopbackServer(self._asgi, f"upstream {self.name}", protocol=counting_protocol(self))
        self._served.start()
        return self

    def stop(self) -> None:
        """Answer hanging calls, close every connection and stop the server thread."""
        self.release()
        if self._served is not None:
            self._served.stop()

    def __enter__(self) -> "Upstream":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- counters ----------------------------------------------------------------------
    @property
    def calls(self) -> list[Call]:
        """Every call received since the start (or the last `reset_counters()`), in order."""
        with self._lock:
            return list(self._calls)

    @property
    def connections_used(self) -> int:
        """How many different TCP connections the calls arrived on."""
        return len({c.client_port for c in self.calls})

    def reset_counters(self) -> None:
        with self._lock:
            self.peak_in_flight = self.in_flight
            self.total_requests = 0
            self.rejected = 0
            self.connections_accepted = 0
            self._calls = []

    def settle(self, timeout_s: float = SETTLE_S) -> int:
        """Wait (up to `timeout_s`) until no call is in flight; return how many still are."""
        deadline = time.perf_counter() + timeout_s
        while self.in_flight and time.perf_counter() < deadline:
            time.sleep(0.005)
        return self.in_flight

    def _connection_made(self) -> None:
        with self._lock:
            self.connections_accepted += 1
            self.connections_open += 1

    def _connection_lost(self) -> None:
        with self._lock:
            self.connections_open -= 1

    # -- the ASGI app (runs on the server's thread) ------------------------------------
    async def _asgi(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        method, path = scope["method"], scope["path"]
        client = scope.get("client")
        with self._lock:
            self.in_flight += 1
            self.total_requests += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            call = Call(len(self._calls) + 1, method, path, client[1] if client else None, time.perf_counter())
            self._calls.append(call)
            over_capacity = self.capacity is not None and self.in_flight > self.capacity
            self.rejected += over_capacity
            # Decided as the call is counted in flight: a `release()` that sees it there answers it with 503.
            route, params = self._match(method, path)
            hung = self._hang_all or (route is not None and route.hang)
        self._note_where_the_app_waits(call)
        status: int | None = None
        outcome = "stopped"
        try:
            if over_capacity:
                status, payload, outcome = self.capacity_status, {"detail": f"{self.name} is overloaded"}, "rejected"
            else:
                answer = asyncio.ensure_future(self._answer(method, path, route, params, scope, body, hung))
                gone = asyncio.ensure_future(client_gone(receive))
                assert self._served is not None
                self._served.server.answering.add(answer)
                try:
                    await asyncio.wait({answer, gone}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    self._served.server.answering.discard(answer)
                    gone.cancel()
                if not answer.done():
                    answer.cancel()
                    outcome = "client gave up"
                    return
                if answer.cancelled():
                    status, payload = 503, {"detail": f"{self.name} is shutting down"}
                else:
                    status, payload, outcome = answer.result()
                if self._app is not None and self.in_flight == 1:
                    # The only call in flight: where the app's threads stand now is where they wait their turn.
                    call.threads_waiting = self._app.thread_places()
            await send_json(send, status, payload)
        finally:
            with self._lock:
                self.in_flight -= 1
                call.finished, call.status, call.outcome = time.perf_counter(), status, outcome

    async def _answer(
        self, method: str, path: str, route: Route | None, params: dict[str, str], scope: dict[str, Any], body: bytes, hung: bool
    ) -> tuple[int, Any, str]:
        if route is None:
            return 404, {"detail": "Not Found"}, "answered"
        if hung or route.hang or self._hang_all:
            while route.hang or self._hang_all:
                await asyncio.sleep(_HANG_POLL_S)
            return 503, {"detail": f"{self.name} was hanging"}, "hung, then released"
        latency = self.latency_s if route.latency_s is None else route.latency_s
        await asyncio.sleep(latency)
        request = UpstreamRequest(
            method,
            path,
            params,
            dict(parse_qsl(scope.get("query_string", b"").decode())),
            {k.decode(): v.decode() for k, v in scope.get("headers", [])},
            body,
        )
        try:
            result = route.respond(request)
        except Exception as exc:
            self.errors.append(exc)
            return 500, {"detail": f"{type(exc).__name__}: {exc}"}, "answered"
        if isinstance(result, Reply):
            return result.status, result.body, "answered"
        return 200, result, "answered"

    def _note_where_the_app_waits(self, call: Call) -> None:
        if self._app is not None:
            self._app.note_soon(call)

    def _match(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        for route in self._routes:
            match = route.pattern.match(path)
            if match and route.method == method:
                return route, match.groupdict()
        return None, {}
