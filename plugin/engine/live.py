"""The app on a real uvicorn server on 127.0.0.1, for what only real HTTP shows: the time to the
first byte, the gaps between a stream's chunks, work left for after the answer was sent.

`serve_live(app)` starts the server (lifespan on, as in production) in a thread of its own, with
its event loop watched there as the in-process harness watches the test's. Requests go over real
TCP from the test's loop; each carries a header by which the server side notes, on the same
record, when the app started and finished it. A failure reads like one of the harness's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from fastapi_async_katas.engine.clocks import BusyClock
from fastapi_async_katas.engine.firing import Settings, StartupError
from fastapi_async_katas.engine.inathread import in_a_thread
from fastapi_async_katas.engine.judging import Run
from fastapi_async_katas.engine.loopback import STOP_GRACE_S, LoopbackServer
from fastapi_async_katas.engine.loopwatch import LoopWatch
from fastapi_async_katas.engine.recording import REQUEST_VAR
from fastapi_async_katas.engine.records import RequestRecord
from fastapi_async_katas.engine.serverstart import failure_text, uvicorn_log
from fastapi_async_katas.engine.userfiles import UserFiles

HEADER = "x-katas-request"
DID_NOT_START = "the app did not start on a real uvicorn server on 127.0.0.1"
# How long a run waits, at most, for the server to be done with its requests.
SETTLE_S = 2.0


@dataclass
class Stream:
    """One streamed answer as the client received it: each chunk with the time it arrived."""

    record: RequestRecord
    chunks: list[tuple[float, bytes]] = field(default_factory=list)

    @property
    def first_byte_s(self) -> float | None:
        """Seconds from sending the request to the first byte of the body."""
        if not self.chunks or self.record.fired is None:
            return None
        return self.chunks[0][0] - self.record.fired

    @property
    def gaps_s(self) -> list[float]:
        """Seconds between one chunk and the next."""
        return [later[0] - earlier[0] for earlier, later in zip(self.chunks, self.chunks[1:])]

    @property
    def body(self) -> bytes:
        return b"".join(chunk for _, chunk in self.chunks)


@dataclass
class LiveServer:
    """A running server. Create it with `serve_live(app)`; fire requests as at a `Harness`."""

    watch: LoopWatch
    settings: Settings
    server: LoopbackServer | None = None
    runs: list[Run] = field(default_factory=list)
    _records: dict[int, RequestRecord] = field(default_factory=dict)
    _next: int = 0

    @property
    def url(self) -> str:
        assert self.server is not None, "not started"
        return self.server.url

    async def fire(self, method: str, path: str, *, n: int = 1, json: Any = None,
                   headers: Mapping[str, str] | None = None, stagger_s: float = 0.0) -> Run:
        """Send `n` identical requests at once (or `stagger_s` apart) over real HTTP, and measure them."""
        return await self.fire_many([(method, path, json)] * n, headers=headers, stagger_s=stagger_s)

    async def fire_many(self, requests: Sequence[tuple[str, str, Any]], *, headers: Mapping[str, str] | None = None,
                        stagger_s: float = 0.0, streams: list[Stream] | None = None) -> Run:
        """Send several `(method, path, json_body)` requests concurrently; with `streams`, each
        answer's chunks are kept there, with the time each arrived."""
        records = [self._new_record(method, path) for method, path, _ in requests]
        began = time.perf_counter()
        busy = BusyClock(self.watch.cpu_wait_s)
        try:
            # Plain HTTP on loopback: no certificates to check (the default SSL context loads the
            # whole CA bundle, tens of milliseconds of CPU inside the measured time).
            async with httpx.AsyncClient(base_url=self.url, timeout=self.settings.request_timeout_s, trust_env=False,
                                         verify=False) as client:
                sent = [self._send(client, r, request[2], headers, began + i * stagger_s, streams)
                        for i, (r, request) in enumerate(zip(records, requests))]
                await asyncio.gather(*sent)
            await self._settled(records)
        finally:
            busy_s = busy.stop()
        ended = time.perf_counter()
        run = Run(records, began, ended, self.watch.blocks_between(began, ended), [], self.settings.request_timeout_s,
                  self.settings.block_ms, busy_s=busy_s,
                  unjudged=self.watch.blocks_between(began, ended, unjudged=True))
        self.runs.append(run)
        return run

    async def stream(self, method: str, path: str, *, json: Any = None) -> tuple[Run, Stream]:
        """Send one request and keep its answer's chunks as they arrive."""
        streams: list[Stream] = []
        run = await self.fire_many([(method, path, json)], streams=streams)
        return run, streams[0]

    @property
    def lifespan_shutdown_at(self) -> float | None:
        """The `perf_counter()` time the app's lifespan began to shut down, once the server stopped."""
        return self.server.server.lifespan_shutdown_at if self.server is not None else None

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The server's event loop (in its own thread), once it runs."""
        return self.server.server._loop if self.server is not None else None

    async def _settled(self, records: list[RequestRecord], most_s: float = SETTLE_S) -> None:
        """Wait until the server is done with the requests: each finished in the app, and the
        step of the server's loop that finished the last of them ended (a stream's one long step
        is only a block once it ends)."""
        deadline = time.perf_counter() + most_s
        while any(r.started is not None and r.finished is None for r in records) and time.perf_counter() < deadline:
            await asyncio.sleep(0.005)
        last = max((r.finished for r in records if r.finished is not None), default=0.0)
        while (step := self.watch._step) is not None and step.started <= last and time.perf_counter() < deadline:
            await asyncio.sleep(0.005)

    def _new_record(self, method: str, path: str) -> RequestRecord:
        self._next += 1
        record = self._records[self._next] = RequestRecord(self._next, method.upper(), path)
        return record

    async def _send(self, client: httpx.AsyncClient, record: RequestRecord, body: Any, headers: Mapping[str, str] | None,
                    at: float, streams: list[Stream] | None) -> None:
        await asyncio.sleep(max(at - time.perf_counter(), 0.0))
        record.fired = time.perf_counter()
        stream = Stream(record)
        try:
            request = client.build_request(record.method, record.path, json=body, headers={**(headers or {}), HEADER: str(record.index)})
            response = await client.send(request, stream=True)
            try:
                async for chunk in response.aiter_raw():
                    stream.chunks.append((time.perf_counter(), chunk))
            finally:
                await response.aclose()
        except httpx.TimeoutException:
            record.timed_out = True
            return
        except httpx.HTTPError as exc:
            record.error = exc
            return
        finally:
            if streams is not None:
                streams.append(stream)
        record.done = time.perf_counter()
        record.status, record.body, record.headers = response.status_code, stream.body, dict(response.headers)

    def recording(self, app: Any) -> Any:
        """`app`, noting on each request's record when it started and finished, in the server."""
        records = self._records

        async def recording_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            index = dict(scope.get("headers") or []).get(HEADER.encode()) if scope["type"] == "http" else None
            record = records.get(int(index)) if index is not None and index.isdigit() else None
            if record is None:
                return await app(scope, receive, send)
            REQUEST_VAR.set(record)  # the watch names the request each blocked step served
            record.started = time.perf_counter()

            async def sending(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.body" and not message.get("more_body", False):
                    record.answered = time.perf_counter()
                await send(message)

            try:
                await app(scope, receive, sending)
            except Exception as exc:
                record.error = exc
                raise
            finally:
                record.finished = time.perf_counter()

        return recording_app


@asynccontextmanager
async def serve_live(app: Any, *, user_files: UserFiles | None = None, settings: Settings | None = None,
                     name: str = "the app", stop_grace_s: float = STOP_GRACE_S) -> AsyncIterator[LiveServer]:
    """Start `app` on uvicorn (lifespan on) on a free loopback port, yield it, then stop it,
    letting the requests in progress finish for `stop_grace_s` first."""
    files, settings = user_files or UserFiles(), settings or Settings()
    watch = LoopWatch(files, block_ms=settings.block_ms)
    watch.request_var = REQUEST_VAR
    live = LiveServer(watch, settings)
    server = live.server = LoopbackServer(live.recording(app), f"uvicorn serving {name}", lifespan="on", on_loop=_watching(watch),
                                          stop_grace_s=stop_grace_s)
    with uvicorn_log() as log:
        try:
            await in_a_thread(server.start, "starting uvicorn")
        except RuntimeError:
            raise StartupError(failure_text(f"{DID_NOT_START}.", log, files, tests_passed=False)) from None
        try:
            yield live
        finally:
            await in_a_thread(server.stop, "stopping uvicorn")


def _watching(watch: LoopWatch) -> Callable[[], Callable[[], None]]:
    """Start the watch on the server's loop, in its thread; return how to stop it."""

    def start() -> Callable[[], None]:
        watch.start()
        return watch.stop

    return start
