"""Upstream HTTP services for the kata world: real uvicorn servers on 127.0.0.1.

Each `Upstream` is a small JSON API that uvicorn serves from a background thread, on a free
port of the loopback interface, so a kata app talks to it over real TCP, with a sync or an
async client alike. Its routes answer after a set latency, or hang until released. It counts
what a real service would see: requests in flight (and the peak), total requests, and TCP
connections accepted (counted in the HTTP protocol's `connection_made`). Its `expect_*`
checks compare those counts with what a kata expects, and fail with an explanation that shows
each call on the run's timeline and, when it can, the line of the app that waited for it.

Fixtures: `start_upstream` starts services for one test and puts each one's URL in the
environment, where the app finds it; `catalog` is the shop's catalogue service.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import pytest
import pytest_asyncio
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from plugin.explaining import BUSY, STUCK, TIMELINE_MAX_ROWS, TIMELINE_WIDTH, place_lines
from plugin.measuring.userfiles import Place, UserFiles

if TYPE_CHECKING:
    from plugin.judging import Run

HOST = "127.0.0.1"
DEFAULT_LATENCY_S = 0.1
START_TIMEOUT_S = 5.0
STOP_GRACE_S = 0.5
SETTLE_S = 1.0
_HANG_POLL_S = 0.005
MAX_PLACES_PER_CALL = 3
MAX_LABELS_PER_ROW = 3

Respond = Callable[["UpstreamRequest"], Any]


# -- what the service receives and answers -------------------------------------------------


@dataclass(frozen=True)
class UpstreamRequest:
    """One request as a route's `respond` function sees it."""

    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass(frozen=True)
class Reply:
    """An answer other than 200: return it from a route's `respond` function."""

    status: int
    body: Any = None


@dataclass
class Call:
    """One request the service received, as the service saw it."""

    index: int
    method: str
    path: str
    client_port: int | None
    started: float
    finished: float | None = None
    status: int | None = None
    outcome: str = "in flight"  # answered, rejected, hung then released, client gave up, stopped
    waiting_in_app: list[Place] | None = None

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def duration_s(self) -> float | None:
        return None if self.finished is None else self.finished - self.started


@dataclass
class _Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    respond: Respond
    latency_s: float | None
    hang: bool = False


def _compile(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts))
    return re.compile(f"^{regex}$")


# -- the service ---------------------------------------------------------------------------


class Upstream:
    """A JSON API on a real uvicorn server at `url`, counting what it sees.

    Add routes with `route()`, then `start()` (or use `with`). `latency_s` is how long each
    answer takes unless its route says otherwise; `hang()` makes routes wait until
    `release()`; `capacity` makes it fragile: a request beyond that many in flight gets 503.
    """

    def __init__(
        self,
        name: str,
        *,
        env_var: str | None = None,
        latency_s: float = DEFAULT_LATENCY_S,
        capacity: int | None = None,
    ) -> None:
        self.name = name
        self.env_var = env_var
        self.latency_s = latency_s
        self.capacity = capacity
        self._routes: list[_Route] = []
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
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._port: int | None = None
        self._thread_error: BaseException | None = None
        self._app_loop: asyncio.AbstractEventLoop | None = None
        self._app_files = UserFiles()
        self._skip_files: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        where = self.url if self._port is not None else "not started"
        return f"<Upstream {self.name!r} {where}>"

    # -- set-up ------------------------------------------------------------------------
    def route(self, method: str, template: str, respond: Respond, *, latency_s: float | None = None) -> "Upstream":
        """Answer `method template` (`/stock/{product_id}`) with `respond(request)`, as JSON."""
        self._routes.append(_Route(method.upper(), template, _compile(template), respond, latency_s))
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
        self._app_loop = loop
        self._app_files = user_files
        self._skip_files = frozenset(os.path.abspath(f) for f in skip_files)

    def _find(self, template: str) -> _Route:
        for route in self._routes:
            if route.template == template:
                return route
        known = ", ".join(repr(r.template) for r in self._routes) or "none"
        raise KeyError(f"{self.name} has no route {template!r}; its routes: {known}")

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError(f"{self.name} is not started: call start() first")
        return f"http://{HOST}:{self._port}"

    def start(self) -> "Upstream":
        """Serve on a free port of 127.0.0.1 from a background thread; return once it accepts connections."""
        if self._thread is not None:
            raise RuntimeError(f"{self.name} was already started")
        # IPPROTO_TCP, as uvicorn's own sockets have: accepted sockets inherit it, and asyncio
        # only turns Nagle's algorithm off on those (else a keep-alive answer waits 40 ms).
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((HOST, 0))
        self._port = self._sock.getsockname()[1]
        config = uvicorn.Config(
            self._asgi,
            http=_counting_protocol(self),
            loop="asyncio",
            ws="none",
            lifespan="off",
            interface="asgi3",
            log_config=None,
            log_level="warning",
            access_log=False,
            proxy_headers=False,
            server_header=False,
            date_header=False,
        )
        self._server = _Server(config)
        self._thread = threading.Thread(target=self._serve, name=f"upstream {self.name}", daemon=True)
        self._thread.start()
        if not self._server.ready.wait(START_TIMEOUT_S) or self._thread_error is not None:
            self.stop()
            cause = f": {self._thread_error!r}" if self._thread_error else f": not ready within {START_TIMEOUT_S:g} s"
            raise RuntimeError(f"the upstream service {self.name} did not start{cause}")
        return self

    def stop(self) -> None:
        """Answer hanging calls, close every connection and stop the server thread."""
        self.release()
        if self._server is not None:
            self._server.request_exit()
        if self._thread is not None:
            self._thread.join(START_TIMEOUT_S)
        if self._sock is not None:
            self._sock.close()

    def __enter__(self) -> "Upstream":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        assert self._server is not None and self._sock is not None
        try:
            self._server.run(sockets=[self._sock])
        except BaseException as exc:  # uvicorn exits with SystemExit when startup fails
            self._thread_error = exc
        finally:
            self._server.ready.set()

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
        self._probe_app(call)
        status: int | None = None
        outcome = "stopped"
        try:
            if over_capacity:
                status, payload, outcome = 503, {"detail": f"{self.name} is overloaded"}, "rejected"
            else:
                answer = asyncio.ensure_future(self._answer(method, path, route, params, scope, body, hung))
                gone = asyncio.ensure_future(_client_gone(receive))
                assert self._server is not None
                self._server.answering.add(answer)
                try:
                    await asyncio.wait({answer, gone}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    self._server.answering.discard(answer)
                    gone.cancel()
                if not answer.done():
                    answer.cancel()
                    outcome = "client gave up"
                    return
                if answer.cancelled():
                    status, payload = 503, {"detail": f"{self.name} is shutting down"}
                else:
                    status, payload, outcome = answer.result()
            await _send_json(send, status, payload)
        finally:
            with self._lock:
                self.in_flight -= 1
                call.finished, call.status, call.outcome = time.perf_counter(), status, outcome

    async def _answer(
        self, method: str, path: str, route: _Route | None, params: dict[str, str], scope: dict[str, Any], body: bytes, hung: bool
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

    def _match(self, method: str, path: str) -> tuple[_Route | None, dict[str, str]]:
        for route in self._routes:
            match = route.pattern.match(path)
            if match and route.method == method:
                return route, match.groupdict()
        return None, {}

    # -- where the app waited for a call -------------------------------------------------
    def _probe_app(self, call: Call) -> None:
        loop = self._app_loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._note_waiting, call)
        except RuntimeError:
            pass

    def _note_waiting(self, call: Call) -> None:
        """On the app's loop, while the call is in flight: the lines where the app's tasks wait.

        Each task suspended in the app's code counts once, at its outermost line (the route's
        `await`, say), so a route that awaits a task shows both the route's line and the task's.
        """
        if call.finished is not None:
            return  # the loop was busy until after the answer: nothing honest to report
        places: set[Place] = set()
        for task in asyncio.all_tasks():
            chain = _awaiting_places(task, self._app_files)
            if chain and not any(os.path.abspath(p.file) in self._skip_files for p in chain):
                places.add(chain[0])
        call.waiting_in_app = sorted(places, key=lambda p: (p.file, p.line))

    # -- checks ------------------------------------------------------------------------
    def expect_requests(self, run: "Run", *, at_least: int) -> None:
        """The app called this service at least this many times (no cache, no skipped work)."""
        __tracebackhide__ = True
        if self.total_requests < at_least:
            run.fail(
                f"{_plural(len(run.requests), 'request')} to the app made only "
                f"{_plural(self.total_requests, 'call')} to the {self.name}.",
                measured=[f"{_plural(self.total_requests, 'call')} reached the {self.name}"],
                expected=[f"every request asks the {self.name} afresh: at least {_plural(at_least, 'call')}"],
                extra=self.call_lines(run.began, run.ended),
                show_timeline=False,
            )

    def expect_peak_in_flight(
        self,
        run: "Run",
        *,
        at_least: int | None = None,
        at_most: int | None = None,
        calls: str = "calls",
        show_calls: bool = True,
    ) -> None:
        """At some moment at least (or never more than) this many calls were in flight here.

        `calls` names the calls in the headline; `show_calls=False` leaves out the rows of
        calls, where the run's own timeline already tells the same story.
        """
        __tracebackhide__ = True
        peak, done = self.peak_in_flight, self.calls
        if at_least is not None and peak < at_least:
            together = "one after another" if peak <= 1 else f"no more than {peak} at a time"
            run.fail(
                f"The {self.name} received {calls} {together}.",
                measured=[
                    f"at most {_plural(peak, 'call')} in flight at the {self.name} at once, {len(done)} in all",
                    *self._sum_line(run, done),
                ],
                expected=[
                    f"at least {at_least} calls in flight at the same moment, so the wait is about "
                    "as long as the slowest call, not the sum of them all"
                ],
                extra=_blocks(self.call_lines(run.began, run.ended) if show_calls else [], self.waiting_lines()),
            )
        if at_most is not None and peak > at_most:
            run.fail(
                f"The {self.name} received {peak} calls at once; it can take only {at_most}.",
                measured=[f"{peak} calls in flight at the {self.name} at once"
                          + (f"; {self.rejected} turned away with 503" if self.rejected else "")],
                expected=[f"never more than {at_most} calls in flight at the {self.name}"],
                extra=self.call_lines(run.began, run.ended),
            )

    def expect_connections(self, run: "Run", *, at_most: int) -> None:
        """The app opened no more than this many TCP connections to this service (it reuses them)."""
        __tracebackhide__ = True
        if self.connections_accepted > at_most:
            run.fail(
                f"The app opened {self.connections_accepted} connections to the {self.name} "
                f"for {_plural(self.total_requests, 'call')}.",
                measured=[f"{self.connections_accepted} TCP connections accepted by the {self.name}"],
                expected=[f"at most {at_most}: connections are kept open and reused from one call to the next"],
                show_timeline=False,
            )

    def expect_nothing_in_flight(self, run: "Run") -> None:
        """Once the app has answered, none of its calls to this service is still waiting.

        A call the app gave up on ends when its connection closes, which the server notices a
        moment later, so this waits up to `SETTLE_S` for the count to reach zero.
        """
        __tracebackhide__ = True
        left = self.settle()
        if left:
            stuck = [c for c in self.calls if c.finished is None]
            run.fail(
                f"{_plural(left, 'call')} to the {self.name} still in flight after the app had answered.",
                measured=[f"{left} in flight: the app stopped waiting but left the call open"],
                expected=["every call the app gives up on is cancelled, and its connection closed"],
                extra=_blocks(self.call_lines(run.began, run.ended), self.waiting_lines(stuck)),
            )

    # -- explaining --------------------------------------------------------------------
    def _sum_line(self, run: "Run", calls: Sequence[Call]) -> list[str]:
        durations = [c.duration_s for c in calls if c.duration_s is not None]
        if len(durations) < 2:
            return []
        one = f"the {len(run.requests)} requests" if len(run.requests) > 1 else run.requests[0].label
        return [f"the calls took {sum(durations):.2f} s added up, the slowest {max(durations):.2f} s; "
                f"{one} took {run.wall_s:.2f} s"]

    def call_lines(self, began: float, ended: float) -> list[str]:
        """One row per call on the run's time axis: `█` while this service was working on it."""
        calls = self.calls
        if not calls:
            return [f"The {self.name} received no calls."]
        ended = max([ended, *(c.finished for c in calls if c.finished is not None)])
        span = max(ended - began, 1e-6)
        shown, note = calls, ""
        if len(calls) > TIMELINE_MAX_ROWS:
            step = len(calls) / TIMELINE_MAX_ROWS
            shown = [calls[int(i * step)] for i in range(TIMELINE_MAX_ROWS)]
            note = f", {TIMELINE_MAX_ROWS} of {len(calls)} shown"
        width = max(len(c.label) for c in shown)

        def col(t: float) -> int:
            return min(TIMELINE_WIDTH - 1, max(0, int((t - began) / span * TIMELINE_WIDTH)))

        lines = [f"Calls the {self.name} received (one row per call{note}; {BUSY} in flight; 0 to {span:.2f} s):"]
        for c in shown:
            cells = [" "] * TIMELINE_WIDTH
            for i in range(col(c.started), col(c.finished if c.finished is not None else ended) + 1):
                cells[i] = BUSY
            if c.finished is None:
                cells[-1] = STUCK
            took = f"{c.duration_s:5.2f} s" if c.duration_s is not None else "   -   "
            result = c.outcome if c.status is None else f"{c.status}" + ("" if c.outcome == "answered" else f" ({c.outcome})")
            lines.append(f"  {c.label:<{width}} |{''.join(cells)}| {took}  {result}")
        return lines

    def waiting_lines(self, calls: Sequence[Call] | None = None) -> list[str]:
        """The lines of the app that waited for each call, where known; calls that waited at the same lines share a row."""
        groups: dict[tuple[Place, ...], list[Call]] = {}
        for c in self.calls if calls is None else calls:
            if c.waiting_in_app:
                groups.setdefault(tuple(c.waiting_in_app[:MAX_PLACES_PER_CALL]), []).append(c)
        if not groups:
            return []
        lines = ["Where your code waited for each call:"]
        for places, group in groups.items():
            labels = ", ".join(c.label for c in group[:MAX_LABELS_PER_ROW])
            more = f" and {len(group) - MAX_LABELS_PER_ROW} more" if len(group) > MAX_LABELS_PER_ROW else ""
            lines.append(f"  {labels}{more}")
            for place in places:
                lines += ["  " + line for line in place_lines(place)]
        return lines


def _blocks(*blocks: list[str]) -> list[str]:
    """Blocks of lines, one blank line between each two that are not empty."""
    lines: list[str] = []
    for block in filter(None, blocks):
        lines += [""] * bool(lines) + block
    return lines


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _awaiting_places(task: asyncio.Task[Any], user_files: UserFiles) -> list[Place]:
    """The user lines a suspended task is waiting at, outermost first, following its await chain."""
    places = []
    awaitable: Any = task.get_coro()
    for _ in range(200):
        if awaitable is None:
            break
        frame = getattr(awaitable, "cr_frame", None) or getattr(awaitable, "gi_frame", None)
        if frame is not None and frame.f_code.co_filename in user_files:
            places.append(Place.of(frame))
        awaitable = getattr(awaitable, "cr_await", None) or getattr(awaitable, "gi_yieldfrom", None)
    return places


async def _client_gone(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _send_json(send: Any, status: int, payload: Any) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# -- the server ----------------------------------------------------------------------------


def _counting_protocol(upstream: Upstream) -> type[H11Protocol]:
    """uvicorn's h11 protocol, counting each TCP connection the server accepts."""

    class CountingH11Protocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            upstream._connection_made()
            super().connection_made(transport)

        def connection_lost(self, exc: Exception | None) -> None:
            upstream._connection_lost()
            super().connection_lost(exc)

    return CountingH11Protocol


class _Server(uvicorn.Server):
    """uvicorn's server, told to stop by an event, and stopping in milliseconds, not 0.2 s."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()
        self.answering: set[asyncio.Future[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._exit: asyncio.Event | None = None

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
        deadline = time.perf_counter() + STOP_GRACE_S
        while (self.server_state.tasks or self.server_state.connections) and time.perf_counter() < deadline:
            await asyncio.sleep(0.002)
        for task in list(self.server_state.tasks):
            task.cancel()
        for connection in list(self.server_state.connections):
            connection.transport.close()
        await asyncio.sleep(0)


# -- fixtures ------------------------------------------------------------------------------


def _app_files(request: pytest.FixtureRequest) -> UserFiles:
    """The kata app's folder when the test belongs to a kata; else any file outside the libraries."""
    from plugin.pytest_plugin import SESSION_KEY

    session = request.config.stash.get(SESSION_KEY, None)
    entry = session.kata_for(request.path) if session is not None else None
    return UserFiles.under([session.app_path(entry).parent]) if entry is not None else UserFiles()


@pytest_asyncio.fixture
async def start_upstream(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Callable[[Upstream], Upstream]]:
    """Start upstream services for this test: `start_upstream(Upstream("payments", env_var="PAYMENTS_URL"))`.

    Each one's URL goes into its `env_var`, loopback is kept out of any proxy, and every
    service is stopped when the test ends.
    """
    loop = asyncio.get_running_loop()
    files = _app_files(request)
    started: list[Upstream] = []
    no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY", ""), HOST, "localhost"]))
    monkeypatch.setenv("NO_PROXY", no_proxy)
    monkeypatch.setenv("no_proxy", no_proxy)

    def start(upstream: Upstream) -> Upstream:
        upstream.watch_app(loop, files, skip_files=[str(request.path)])
        started.append(upstream.start())
        if upstream.env_var:
            monkeypatch.setenv(upstream.env_var, upstream.url)
        return upstream

    try:
        yield start
    finally:
        for upstream in reversed(started):
            await asyncio.to_thread(upstream.stop)


# -- the shop's catalogue service ----------------------------------------------------------

CATALOG_ENV_VAR = "CATALOG_URL"
CATALOG_NAMES = {1: ("Foo", 9.5), 2: ("Bar", 42.0), 3: ("Baz", 3.25)}


@dataclass(frozen=True)
class Product:
    """What the catalogue service knows about one product (fresh random figures per test)."""

    id: int
    name: str
    price: float
    available: int
    rating: float
    reviews: int


class Catalog(Upstream):
    """The shop's catalogue service: stock, prices and reviews, one endpoint each.

    `GET /stock/{id}`, `GET /prices/{id}` and `GET /reviews/{id}`; an unknown id is 404.
    """

    def __init__(self, *, latency_s: float = DEFAULT_LATENCY_S, seed: int | None = None) -> None:
        super().__init__("catalog service", env_var=CATALOG_ENV_VAR, latency_s=latency_s)
        rng = random.Random(seed)
        self.products: dict[int, Product] = {
            pid: Product(pid, name, price, rng.randint(100, 999), rng.randint(10, 50) / 10, rng.randint(1, 500))
            for pid, (name, price) in CATALOG_NAMES.items()
        }
        self.route("GET", "/stock/{product_id}", self._stock)
        self.route("GET", "/prices/{product_id}", self._price)
        self.route("GET", "/reviews/{product_id}", self._reviews)

    def _product(self, request: UpstreamRequest) -> Product | None:
        raw = request.params["product_id"]
        return self.products.get(int(raw)) if raw.isdigit() else None

    def _stock(self, request: UpstreamRequest) -> Any:
        p = self._product(request)
        return Reply(404, {"detail": "no such product"}) if p is None else {"product_id": p.id, "available": p.available}

    def _price(self, request: UpstreamRequest) -> Any:
        p = self._product(request)
        return Reply(404, {"detail": "no such product"}) if p is None else {"product_id": p.id, "price": p.price, "currency": "EUR"}

    def _reviews(self, request: UpstreamRequest) -> Any:
        p = self._product(request)
        return Reply(404, {"detail": "no such product"}) if p is None else {"product_id": p.id, "rating": p.rating, "count": p.reviews}


@pytest_asyncio.fixture
async def catalog(start_upstream: Callable[[Upstream], Upstream]) -> Catalog:
    """The shop's catalogue service, running, its URL in CATALOG_URL; each answer takes 0.1 s."""
    service = Catalog()
    start_upstream(service)
    return service
