"""Serve an ASGI app in process and fire concurrent requests at it, recording each one.

App, client and test share one event loop: requests go through `httpx.AsyncClient` over
`ASGITransport`, each as its own task. A thin ASGI wrapper notes when the app started and
finished each request, and any exception it raised, so the timeline shows the server's view.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

import httpx

from fastapi_async_katas.engine.awaits import UnawaitedCatcher
from fastapi_async_katas.engine.exits import exits_refused
from fastapi_async_katas.engine.explaining import raised_at
from fastapi_async_katas.engine.judging import Run
from fastapi_async_katas.engine.lazyparts import load_lazy_parts
from fastapi_async_katas.engine.lifespan import Lifespan, LifespanFailed
from fastapi_async_katas.engine.loopwatch import LoopHung, LoopWatch
from fastapi_async_katas.engine.recording import REQUEST_VAR, OnAnswer, recording, sending_now
from fastapi_async_katas.engine.records import RequestRecord
from fastapi_async_katas.engine.routing import record_routing, waiting_chain
from fastapi_async_katas.engine.threadwaits import ThreadWaits
from fastapi_async_katas.engine.userfiles import Place, UserFiles

ASGIApp = Any
BASE_URL = "http://testserver"

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
    startup_unjudged: list = field(default_factory=list, init=False)  # long startup steps the sampler never saw
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
        stop: asyncio.Event | None = None,
        give_up_s: float | None = None,
    ) -> Run:
        """Send several requests, each `(method, path, json_body)` or `(method, path, json_body,
        headers)`, concurrently; a request's own headers go over the shared `headers`.

        By default all go at once; `stagger_s` spaces them evenly, and `at` gives each its own
        send time in seconds from the start of the burst. `on_answer(record, body)` is called,
        on the loop, the moment the app sends the last byte of each answer: before any work the
        app left for after the response (a database read there shows what was stored in time).
        When `stop` is set, the run ends there: requests not yet sent are left out (counted in
        `Run.left_out`), and those still unanswered are cancelled and marked `timed_out`, with
        the line each waited at, as at the deadline. `give_up_s` sets such a stop that many
        seconds in, not counting the time the loop waited for a CPU: a busy machine gets the time
        it took away, up to the deadline.
        """
        records = [RequestRecord(i + 1, request[0].upper(), request[1]) for i, request in enumerate(requests)]
        delays = list(at) if at is not None else [i * stagger_s for i in range(len(requests))]
        begin = time.perf_counter()
        waited_for_cpu, threads_waited = self.watch.cpu_wait_s(), ThreadWaits()
        unawaited_before = len(self.unawaited.found)
        tasks = []
        for record, request, delay in zip(records, requests, delays):
            own = {**(headers or {}), **(request[3] if len(request) > 3 else {})}  # type: ignore[misc]
            tasks.append(asyncio.create_task(self._send(record, request[2], own or None, params, begin, delay, on_answer)))
        deadline = self.settings.request_timeout_s + max(delays, default=0.0)
        self.watch.deadline = begin + deadline  # past it, a stuck step is interrupted at once
        if give_up_s is not None:
            stop = stop or asyncio.Event()
            giving_up = asyncio.create_task(self._give_up(stop, begin + give_up_s, waited_for_cpu))
        try:
            done, pending = await _wait_all(tasks, deadline, stop)
        finally:
            if give_up_s is not None:
                giving_up.cancel()
        stopped = bool(pending) and stop is not None and stop.is_set()
        unsent = {task for task in pending if records[tasks.index(task)].fired is None} if stopped else set()
        if unsent:  # stopped before their time to be sent: not part of what was measured
            for task in unsent:
                task.cancel()
            await asyncio.wait(unsent, timeout=1.0)
            kept = [i for i, task in enumerate(tasks) if task not in unsent]
            records, tasks, pending = [records[i] for i in kept], [tasks[i] for i in kept], pending - unsent
        for task in pending:  # unanswered at the deadline, or when stopped: where were they waiting?
            record = records[tasks.index(task)]
            record.timed_out = True
            record.waiting_chain = waiting_chain(record, task, self.user_files)
            record.waiting_at = record.waiting_chain[-1] if record.waiting_chain else None
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
            record.note_busy(self.watch.marks, end)  # how busy the machine was meanwhile
        self.unawaited.collect()
        run = Run(
            requests=records,
            began=begin,
            ended=end,
            blocks=self.watch.blocks_between(begin, end),
            unjudged=self.watch.blocks_between(begin, end, unjudged=True),
            unawaited=self.unawaited.found[unawaited_before:],
            timeout_s=self.settings.request_timeout_s,
            block_ms=self.settings.block_ms,
            busy_s=max(self.watch.cpu_wait_s() - waited_for_cpu, 0.0),
            others_busy_s=threads_waited.end(skip=self.watch.own_threads),
            left_out=len(unsent),
            stopped=stopped,
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
        sending_now(record, on_answer)
        # The burst is sent at once; a task that only gets to run later was kept waiting by the loop.
        record.fired = fired_at + delay
        try:
            response = await self.client.request(record.method, record.path, json=body, headers=headers, params=params)
        finally:
            self.unawaited.notice()
        record.done = time.perf_counter()
        record.status = response.status_code
        record.body = response.content
        record.headers = dict(response.headers)

    async def _start(self) -> None:
        s = self.settings
        self.watch = LoopWatch(self.user_files, block_ms=s.block_ms, hang_s=s.hang_s)
        self.watch.request_var = REQUEST_VAR
        self.watch.start()
        self.unawaited = UnawaitedCatcher(self.user_files).__enter__()
        self._lifespan = Lifespan(self.app)
        self._unroute = record_routing(self.app, REQUEST_VAR)
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
        started = time.perf_counter()
        self.startup_blocks = self.watch.blocks_between(began, started)
        self.startup_unjudged = self.watch.blocks_between(began, started, unjudged=True)
        # What startup built lives as long as the app: a collection in the middle of a request
        # must not walk it all again, and be taken for the app's own work.
        self.unawaited.settle()
        transport = httpx.ASGITransport(app=recording(self.app, lambda: self._lifespan.state), raise_app_exceptions=False)
        self.client = httpx.AsyncClient(transport=transport, base_url=BASE_URL, timeout=None)

    async def _give_up(self, stop: asyncio.Event, at: float, waited_for_cpu: float) -> None:
        """Set `stop` at `at`, later by each second the loop has waited for a CPU since."""
        while (left := at + self.watch.cpu_wait_s() - waited_for_cpu - time.perf_counter()) > 0:
            await asyncio.sleep(left)
        stop.set()

    async def _stop(self) -> None:
        """Undo whatever `_start` did, however far it got (a failed start included)."""
        try:
            client = getattr(self, "client", None)
            if client is not None:
                await client.aclose()
            getattr(self, "_unroute", lambda: None)()
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
async def serve(app: ASGIApp, *, user_files: UserFiles | None = None, settings: Settings | None = None) -> AsyncIterator[Harness]:
    """Start `app` (lifespan included), yield a `Harness` to fire requests, then shut it down."""
    load_lazy_parts()  # not in the first request's time: see `lazyparts`
    harness = Harness(app, user_files or UserFiles(), settings or Settings())
    with exits_refused():
        try:
            await harness._start()
            yield harness
        finally:
            await harness._stop()


async def _wait_all(tasks: list[asyncio.Task[None]], timeout: float, stop: asyncio.Event | None) -> tuple[set[Any], set[Any]]:
    """Wait for every task until `timeout`, or until `stop` is set; return (done, pending)."""
    if stop is None:
        return await asyncio.wait(tasks, timeout=timeout)
    everything = asyncio.ensure_future(asyncio.wait(tasks))
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([everything, stopped], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        everything.cancel()
        stopped.cancel()
    return {t for t in tasks if t.done()}, {t for t in tasks if not t.done()}


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
