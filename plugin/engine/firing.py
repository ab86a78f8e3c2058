"""Serve an ASGI app in process and fire concurrent requests at it, recording each one.

App, client and test share one event loop: requests go through `httpx.AsyncClient` over
`ASGITransport`, each as its own task. A thin ASGI wrapper notes when the app started and
finished each request, and any exception it raised, so the timeline shows the server's view.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

import httpx

from fastapi_async_katas.engine.awaits import UnawaitedCatcher
from fastapi_async_katas.engine.exits import AppExited, exits_refused
from fastapi_async_katas.engine.explaining import raised_at
from fastapi_async_katas.engine.judging import Run
from fastapi_async_katas.engine.lifespan import Lifespan, LifespanFailed
from fastapi_async_katas.engine.loopwatch import LoopHung, LoopWatch
from fastapi_async_katas.engine.records import RequestRecord
from fastapi_async_katas.engine.suspended import suspended_at
from fastapi_async_katas.engine.userfiles import Place, UserFiles

ASGIApp = Any
BASE_URL = "http://testserver"

_current: contextvars.ContextVar[RequestRecord | None] = contextvars.ContextVar("_current", default=None)
# Called the moment the app sends the last byte of an answer, before any background work runs.
OnAnswer = Callable[[RequestRecord, bytes], None]
_on_answer: contextvars.ContextVar[OnAnswer | None] = contextvars.ContextVar("_on_answer", default=None)


def current_request() -> RequestRecord | None:
    """The request the calling task is sending, if it is one fired by a `Harness`."""
    return _current.get()


@dataclass
class Settings:
    """How long to wait, and when a loop step counts as blocked."""

    request_timeout_s: float = 5.0
    lifespan_timeout_s: float = 5.0
    block_ms: float = 50.0
    hang_s: float = 5.0


class StartupError(Exception):
    """The app could not start: its lifespan failed or did not finish in time."""

    def __init__(self, message: str, place: Place | None = None) -> None:
        super().__init__(message)
        self.place = place


@dataclass
class Harness:
    """A running app. Create it with `serve(app)`; call `fire()` as often as needed."""

    app: ASGIApp
    user_files: UserFiles
    settings: Settings
    watch: LoopWatch = field(init=False)
    unawaited: UnawaitedCatcher = field(init=False)
    client: httpx.AsyncClient = field(init=False)
    startup_blocks: list = field(default_factory=list, init=False)
    runs: list[Run] = field(default_factory=list, init=False)

    async def fire(
        self,
        method: str,
        path: str,
        *,
        n: int = 1,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        stagger_s: float = 0.0,
        on_answer: OnAnswer | None = None,
    ) -> Run:
        """Send `n` identical requests at once (or `stagger_s` apart) and measure them."""
        return await self.fire_many(
            [(method, path, json) for _ in range(n)], headers=headers, params=params, stagger_s=stagger_s, on_answer=on_answer
        )

    async def fire_many(
        self,
        requests: Sequence[tuple[str, str, Any] | tuple[str, str, Any, Mapping[str, str]]],
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        stagger_s: float = 0.0,
        at: Sequence[float] | None = None,
        on_answer: OnAnswer | None = None,
    ) -> Run:
        """Send several requests, each `(method, path, json_body)` or `(method, path, json_body,
        headers)`, concurrently; a request's own headers go over the shared `headers`.

        By default all go at once; `stagger_s` spaces them evenly, and `at` gives each its own
        send time in seconds from the start of the burst. `on_answer(record, body)` is called,
        on the loop, the moment the app sends the last byte of each answer: before any work the
        app left for after the response (a database read there shows what was stored in time).
        """
        records = [RequestRecord(i + 1, request[0].upper(), request[1]) for i, request in enumerate(requests)]
        delays = list(at) if at is not None else [i * stagger_s for i in range(len(requests))]
        begin = time.perf_counter()
        waited_for_cpu = self.watch.cpu_wait_s()
        tasks = []
        for record, request, delay in zip(records, requests, delays):
            own = {**(headers or {}), **(request[3] if len(request) > 3 else {})}  # type: ignore[misc]
            tasks.append(asyncio.create_task(self._send(record, request[2], own or None, params, begin, delay, on_answer)))
        deadline = self.settings.request_timeout_s + max(delays, default=0.0)
        self.watch.deadline = begin + deadline  # past it, a stuck step is interrupted at once
        done, pending = await asyncio.wait(tasks, timeout=deadline)
        for task in pending:
            record = records[tasks.index(task)]
            record.timed_out = True
            record.waiting_at = suspended_at(task, self.user_files)
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)
        self.watch.deadline = None
        for task in done:
            exc = None if task.cancelled() else task.exception()
            if exc is None:
                continue
            record = records[tasks.index(task)]
            if isinstance(exc, LoopHung):
                record.timed_out = True
                record.waiting_at = self.watch.hung.place if self.watch.hung else None
            elif record.error is None:
                record.error = exc
        end = time.perf_counter()
        for record in records:
            _release_frames(record.error)
        self.unawaited.collect()
        run = Run(
            requests=records,
            began=begin,
            ended=end,
            blocks=self.watch.blocks_between(begin, end),
            unawaited=list(self.unawaited.found),
            timeout_s=self.settings.request_timeout_s,
            block_ms=self.settings.block_ms,
            busy_s=max(self.watch.cpu_wait_s() - waited_for_cpu, 0.0),
        )
        self.runs.append(run)
        return run

    async def _send(
        self,
        record: RequestRecord,
        body: Any,
        headers: Mapping[str, str] | None,
        params: Mapping[str, Any] | None,
        fired_at: float,
        delay: float,
        on_answer: OnAnswer | None,
    ) -> None:
        if delay:
            await asyncio.sleep(delay)
        _current.set(record)
        _on_answer.set(on_answer)
        # The burst is sent at once; a task that only gets to run later was kept waiting by the loop.
        record.fired = fired_at + delay
        response = await self.client.request(record.method, record.path, json=body, headers=headers, params=params)
        record.done = time.perf_counter()
        record.status = response.status_code
        record.body = response.content
        record.headers = dict(response.headers)

    async def _recording_app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        record = _current.get()
        if scope["type"] != "http" or record is None:
            await self.app(scope, receive, send)
            return
        scope = {**scope, "state": dict(self._lifespan.state)}
        record.started = time.perf_counter()
        on_answer = _on_answer.get()
        parts: list[bytes] = []

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
                if not message.get("more_body", False) and record.answered is None:
                    record.answered = time.perf_counter()
                    if on_answer is not None:
                        on_answer(record, b"".join(parts))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except SystemExit as exc:
            # Out of a task, SystemExit would stop the test's own loop: the request fails instead.
            record.error = exc
            raise AppExited(f"the app raised SystemExit({exc.code!r})") from exc
        except Exception as exc:
            record.error = exc
            raise
        finally:
            record.finished = time.perf_counter()

    async def _start(self) -> None:
        s = self.settings
        self.watch = LoopWatch(self.user_files, block_ms=s.block_ms, hang_s=s.hang_s).start()
        self.unawaited = UnawaitedCatcher(self.user_files).__enter__()
        self._lifespan = Lifespan(self.app)
        began = time.perf_counter()
        try:
            await asyncio.wait_for(self._lifespan.startup(), s.lifespan_timeout_s)
        except TimeoutError:
            await self._lifespan.cancel()
            raise StartupError(f"timed out: the app's startup did not finish within {s.lifespan_timeout_s:g} s") from None
        except LifespanFailed as exc:
            raise StartupError(f"the app failed to start: {exc}", raised_at(exc.__cause__, self.user_files)) from exc
        except LoopHung:
            place = self.watch.hung.place if self.watch.hung else None
            raise StartupError(f"timed out: the app's startup blocked the event loop for {s.hang_s:g} s", place) from None
        self.startup_blocks = self.watch.blocks_between(began, time.perf_counter())
        # What startup built lives as long as the app: a collection in the middle of a request
        # must not walk it all again, and be taken for the app's own work.
        self.unawaited.settle()
        transport = httpx.ASGITransport(app=self._recording_app, raise_app_exceptions=False)
        self.client = httpx.AsyncClient(transport=transport, base_url=BASE_URL, timeout=None)

    async def _stop(self) -> None:
        """Undo whatever `_start` did, however far it got (a failed start included)."""
        try:
            client = getattr(self, "client", None)
            if client is not None:
                await client.aclose()
            lifespan = getattr(self, "_lifespan", None)
            if lifespan is not None:
                try:
                    await asyncio.wait_for(lifespan.shutdown(), self.settings.lifespan_timeout_s)
                except (TimeoutError, LifespanFailed, LoopHung):
                    await lifespan.cancel()
        finally:
            try:
                unawaited = getattr(self, "unawaited", None)
                if unawaited is not None:
                    unawaited.__exit__(None, None, None)
            finally:
                watch = getattr(self, "watch", None)
                if watch is not None:
                    watch.stop()


@asynccontextmanager
async def serve(
    app: ASGIApp,
    *,
    user_files: UserFiles | None = None,
    settings: Settings | None = None,
) -> AsyncIterator[Harness]:
    """Start `app` (lifespan included), yield a `Harness` to fire requests, then shut it down."""
    harness = Harness(app, user_files or UserFiles(), settings or Settings())
    with exits_refused():
        try:
            await harness._start()
            yield harness
        finally:
            await harness._stop()


def _release_frames(exc: BaseException | None) -> None:
    """Drop the local variables an exception's frames hold (a returned coroutine, say).

    The line numbers stay, for the report; what the locals referenced can now be collected,
    so a coroutine that was never awaited is reported during this run, not at exit.
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        traceback.clear_frames(exc.__traceback__)
        exc = exc.__cause__ or exc.__context__
