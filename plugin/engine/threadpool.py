"""Watch FastAPI's threadpool: anyio's default thread limiter, token by token.

Every `def` route, sync dependency and `to_thread.run_sync` call borrows one token from the
limiter for as long as its worker thread runs; with all tokens lent out, the next caller waits
in line. The watch swaps the limiter's set of borrowers and its waiting line for recording
versions, so every token lent, returned or queued for is seen the moment it happens: the peak
of borrowed tokens is exact, not sampled.

A request that got its token straight away is in wave 1. One that had to wait and got the
token a wave-k request gave back is in wave k + 1. With 40 tokens and 100 requests that is
40, 40 and 20: the waves a learner sees in the failure.
"""

from __future__ import annotations

import asyncio
import functools
import linecache
import re
import sys
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread

from fastapi_async_katas.engine.loans import Borrow, Wave, waves_of
from fastapi_async_katas.engine.misconceptions import ONLY_A_BIGGER_LIMIT
from fastapi_async_katas.engine.offloads import Offload, OffloadWatch
from fastapi_async_katas.engine.recording import current_request
from fastapi_async_katas.engine.records import max_overlap
from fastapi_async_katas.engine.threadpool_text import threadpool_lines
from fastapi_async_katas.engine.userfiles import Place, UserFiles
from fastapi_async_katas.engine.verdicts import Inconclusive

WAVES = "{requests} concurrent requests were served in {waves} waves: the threadpool lent at most {peak} worker threads at once."
IN_TURN = "{requests} concurrent requests were served mostly in turn: their {counted} were in flight at most {in_flight} at a time."
QUEUED = "{requests} concurrent requests were served in waves: {queued} of them waited for a thread of a pool of {size}."

# FastAPI's threadpool: anyio's default thread limiter lends this many tokens.
DEFAULT_TOKENS = 40
_DEF_LINE = re.compile(r"^\s*(async\s+)?def\s")


@dataclass
class ThreadpoolWatch:
    """Record how the default thread limiter of the running event loop lends its tokens.

    `attach()` must run on the loop (the `katas_threadpool` fixture does it). `limit` is the number
    of tokens, `peak_borrowed` the most lent at once, `borrows` every loan, `waves` the loans
    grouped by how many others had to finish before they got a thread.
    """

    user_files: UserFiles = field(default_factory=UserFiles)
    borrows: list[Borrow] = field(default_factory=list)
    peak_borrowed: int = 0
    peak_waiting: int = 0
    # (time, borrowed, waiting, total tokens) after every change
    events: list[tuple[float, int, int, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._limiter: Any = None
        self._active: dict[int, Borrow] = {}
        self._asked: dict[int, tuple[float, int | None, Place | None]] = {}
        self._released: tuple[int, Borrow] | None = None
        self._offloads = OffloadWatch(self.user_files)  # work handed to a ThreadPoolExecutor, the app's own too

    # -- lifecycle ---------------------------------------------------------------------
    def attach(self, limiter: Any = None) -> "ThreadpoolWatch":
        limiter = limiter or anyio.to_thread.current_default_thread_limiter()
        if not isinstance(getattr(limiter, "_borrowers", None), set) or not isinstance(
            getattr(limiter, "_wait_queue", None), OrderedDict
        ):
            raise RuntimeError(
                "cannot watch this thread limiter: the installed anyio keeps its tokens in a way this "
                "plugin does not know. Install a supported version: pip install 'anyio>=4.4,<5'"
            )
        self._limiter = limiter
        limiter._borrowers = _Borrowers(limiter._borrowers, self)
        limiter._wait_queue = _WaitingLine(limiter._wait_queue, self)
        self._offloads.install()
        self._note()
        return self

    def detach(self) -> None:
        self._offloads.uninstall()
        if self._limiter is not None:
            self._limiter._borrowers = set(self._limiter._borrowers)
            self._limiter._wait_queue = OrderedDict(self._limiter._wait_queue)
            self._limiter = None

    # -- figures -----------------------------------------------------------------------
    @property
    def limit(self) -> float:
        """The limiter's tokens now (FastAPI's default: 40)."""
        if self._limiter is not None:
            return self._limiter.total_tokens
        return self.events[-1][3] if self.events else 0

    def limit_between(self, start: float, end: float) -> float:
        """The most tokens the limiter had while it lent or took back tokens between `start` and `end`."""
        return max((e[3] for e in self.events if start <= e[0] <= end), default=self.limit)

    @property
    def waited(self) -> list[Borrow]:
        return [b for b in self.borrows if b.waited]

    def borrows_between(self, start: float, end: float) -> list[Borrow]:
        return [b for b in self.borrows if start <= b.asked <= end]

    def pool_work_between(self, start: float, end: float) -> list[Offload]:
        """Work handed to a `ThreadPoolExecutor` (the loop's default one, or the app's own) between `start` and `end`."""
        return [o for o in self._offloads.offloads if start <= o.handed <= end]

    def waves(self, borrows: Sequence[Borrow] | None = None) -> list[Wave]:
        return waves_of(self.borrows if borrows is None else borrows)

    def lines(self, began: float, ended: float) -> list[str]:
        """The threadpool between `began` and `ended`, as a learner reads it."""
        events = [e for e in self.events if e[0] <= ended]
        return threadpool_lines(events, self.borrows_between(began, ended), self.limit_between(began, ended), began, ended)

    # -- checks ------------------------------------------------------------------------
    def expect_no_waves(self, run: Any, *, in_flight: int | None = None, at_least: int = 0, counted: str = "database queries") -> None:
        """No request of `run` waited for a worker thread, of the threadpool or of a `ThreadPoolExecutor`
        (exact counts), and, when the world's peak `in_flight` is given, at least `at_least` of the requests'
        `counted` overlapped: that catches work that takes turns elsewhere (a lock). Keep `at_least` well
        below the number of requests: how many overlap on a busy machine depends on how fast threads start.
        """
        __tracebackhide__ = True
        n = len(run.requests)
        borrows = self.borrows_between(run.began, run.ended)
        waited = [b for b in borrows if b.waited]
        limit = self.limit_between(run.began, run.ended)
        together = []
        if in_flight is not None:
            together = [f"{counted} in flight at once: at most {in_flight}; all {n} requests took {run.wall_s:.2f} s"]
        if waited:
            peak = max((e[1] for e in self.events if run.began <= e[0] <= run.ended), default=self.peak_borrowed)
            longest = max(b.granted - b.asked for b in waited)
            run.fail(
                WAVES.format(requests=n, waves=len(self.waves(borrows)), peak=peak),
                measured=[*together, f"the threadpool has {limit:g} tokens and lent at most {peak} at once; "
                                     f"{len(waited)} requests waited for one, up to {longest:.2f} s"],
                expected=["every request gets a worker thread as soon as it needs one: none waits for a token"],
                extra=[*self.lines(run.began, run.ended), *([""] + [ONLY_A_BIGGER_LIMIT.format(limit=limit)] if limit > DEFAULT_TOKENS else [])],
                show_timeline=False,
            )
        work = self.pool_work_between(run.began, run.ended)
        queued = [o for o in work if o.pool_full]
        if queued:
            size, where = max(o.pool_size or 0 for o in queued), next((o.place for o in queued if o.place is not None), None)
            run.fail(
                QUEUED.format(requests=n, queued=len(queued), size=size),
                measured=[*together, f"{len(queued)} pieces of work handed to a pool of {size} thread{'s' * (size != 1)} waited for one, "
                                     f"up to {max(o.waited_s for o in queued):.2f} s"],
                expected=["every request's work starts as soon as it is handed over: none waits for a thread"],
                extra=([f"Handed to the pool at {where.short()} in {where.function}():", f"    {where.code}", ""] if where else [])
                + [ONLY_A_BIGGER_LIMIT.format(limit=size)] * (size > 1),
                show_timeline=False,
                busy_may_explain=True,
            )
        size, most = max((o.pool_size or 0 for o in work), default=n), max_overlap((o.handed, o.ended or run.ended) for o in work)
        if 1 < most and size < n:  # none waited, but the pool, smaller than the burst, never had more than it has threads
            raise Inconclusive.because(f"the {n} requests reached a pool of {size} threads too far apart to fill it: {most} at most")
        if in_flight is not None and in_flight < at_least:
            run.fail(
                IN_TURN.format(requests=n, in_flight=in_flight, counted=counted),
                measured=[*together, f"no request waited for one of the threadpool's {limit:g} tokens, "
                                     "so something else made them take turns"],
                expected=[f"at least {at_least} of the {n} requests' {counted} in flight at the same time"],
                busy_may_explain=True,
            )

    # -- recording (on the loop thread, called by the limiter's own code) ---------------
    def _note(self) -> None:
        limiter = self._limiter
        borrowed, waiting = len(limiter._borrowers), len(limiter._wait_queue)
        self.peak_borrowed = max(self.peak_borrowed, borrowed)
        self.peak_waiting = max(self.peak_waiting, waiting)
        self.events.append((time.perf_counter(), borrowed, waiting, limiter.total_tokens))

    def _asks(self, borrower: Any) -> None:
        self._asked[id(borrower)] = (time.perf_counter(), _current_request(), _function_run(self.user_files))

    def _lent(self, borrower: Any) -> None:
        now = time.perf_counter()
        asked = self._asked.pop(id(borrower), None)
        if asked is None:
            borrow = Borrow(now, now, 1, _current_request(), _function_run(self.user_files))
        else:
            since, request, place = asked
            releaser = self._released
            handed = releaser is not None and releaser[0] == id(_current_task())
            borrow = Borrow(since, now, releaser[1].wave + 1 if handed else 1, request, place)  # type: ignore[index]
        self._active[id(borrower)] = borrow
        self.borrows.append(borrow)
        self._note()

    def _returned(self, borrower: Any) -> None:
        borrow = self._active.pop(id(borrower), None)
        if borrow is not None:
            borrow.released = time.perf_counter()
            self._released = (id(borrower), borrow)
        self._note()


class _Borrowers(set):  # type: ignore[type-arg]
    """The limiter's set of borrowers, telling the watch of every token lent and returned."""

    def __init__(self, items: set[Any], watch: ThreadpoolWatch) -> None:
        super().__init__(items)
        self.watch = watch

    def add(self, borrower: Any) -> None:
        super().add(borrower)
        self.watch._lent(borrower)

    def remove(self, borrower: Any) -> None:
        super().remove(borrower)
        self.watch._returned(borrower)

    def discard(self, borrower: Any) -> None:
        if borrower in self:
            self.remove(borrower)


class _WaitingLine(OrderedDict):  # type: ignore[type-arg]
    """The limiter's line of callers waiting for a token, telling the watch who joins it."""

    def __init__(self, items: OrderedDict[Any, Any], watch: ThreadpoolWatch) -> None:
        super().__init__(items)
        self.watch = watch

    def __setitem__(self, borrower: Any, event: Any) -> None:
        super().__setitem__(borrower, event)
        self.watch._asks(borrower)
        self.watch._note()

    def popitem(self, last: bool = True) -> tuple[Any, Any]:
        item = super().popitem(last)
        self.watch._note()
        return item

    def pop(self, borrower: Any, *default: Any) -> Any:
        value = super().pop(borrower, *default)
        self.watch._asked.pop(id(borrower), None)
        self.watch._note()
        return value


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


def _current_request() -> int | None:
    """The harness's request being handled in this task, if any."""
    record = current_request()
    return record.index if record is not None else None


def _function_run(user_files: UserFiles) -> Place | None:
    """The user's function this loan is for: the `func` of the `to_thread` call on the stack."""
    frame = sys._getframe(2)
    for _ in range(40):
        if frame is None:
            return None
        if frame.f_code.co_name in ("run_sync_in_worker_thread", "run_sync") and "func" in frame.f_locals:
            return _user_function(frame.f_locals["func"], user_files)
        frame = frame.f_back
    return None


def _user_function(func: Any, user_files: UserFiles, depth: int = 0) -> Place | None:
    """The user's function inside `func`, looking through partials and the wrappers that
    frameworks hand to the threadpool (FastAPI passes the route as an argument)."""
    code = getattr(getattr(func, "__func__", func), "__code__", None)
    if code is not None and code.co_filename in user_files:
        return Place(code.co_filename, _def_line(code.co_filename, code.co_firstlineno), code.co_name)
    if isinstance(func, functools.partial) and depth < 3:
        for inner in (func.func, *func.args, *func.keywords.values()):
            if callable(inner):
                place = _user_function(inner, user_files, depth + 1)
                if place is not None:
                    return place
    return None


def _def_line(filename: str, first: int) -> int:
    """The `def` line of a function whose code starts at `first` (its first decorator)."""
    for line in range(first, first + 30):
        if _DEF_LINE.match(linecache.getline(filename, line)):
            return line
    return first
