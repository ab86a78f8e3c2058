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
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import pytest
import pytest_asyncio

from plugin.measuring.userfiles import Place, UserFiles

WAVES = "{requests} concurrent requests were served in {waves} waves: the threadpool lent at most {peak} worker threads at once."
IN_TURN = "{requests} concurrent requests were served mostly in turn: their {counted} were in flight at most {in_flight} at a time."

TIMELINE_WIDTH = 48
WAIT, RUN = "·", "█"
LEVELS = " ▁▂▃▄▅▆▇█"
_DEF_LINE = re.compile(r"^\s*(async\s+)?def\s")


@dataclass
class Borrow:
    """One token lent to one caller: when it asked, got and gave back the token."""

    asked: float
    granted: float
    wave: int
    request: int | None = None
    place: Place | None = None
    released: float | None = None

    @property
    def waited(self) -> bool:
        return self.granted > self.asked


@dataclass(frozen=True)
class Wave:
    number: int
    borrows: tuple[Borrow, ...]

    @property
    def requests(self) -> list[int]:
        return sorted({b.request for b in self.borrows if b.request is not None})


@dataclass
class ThreadpoolWatch:
    """Record how the default thread limiter of the running event loop lends its tokens.

    `attach()` must run on the loop (the `threadpool` fixture does it). `limit` is the number
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
        self._note()
        return self

    def detach(self) -> None:
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

    def waves(self, borrows: Sequence[Borrow] | None = None) -> list[Wave]:
        chosen = self.borrows if borrows is None else borrows
        numbers = sorted({b.wave for b in chosen})
        return [Wave(n, tuple(b for b in chosen if b.wave == n)) for n in numbers]

    # -- checks ------------------------------------------------------------------------
    def expect_no_waves(
        self, run: Any, *, in_flight: int | None = None, at_least: int = 0, counted: str = "database queries"
    ) -> None:
        """No request of `run` waited for a worker thread (an exact count), and, when the world's
        peak `in_flight` is given, at least `at_least` of the requests' `counted` overlapped.

        The second check catches work that takes turns elsewhere (a lock, a small executor);
        keep `at_least` well below the number of requests, since how many overlap on a busy
        machine also depends on how fast new threads start.
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
                extra=threadpool_lines(self, run.began, run.ended),
                show_timeline=False,
            )
        if in_flight is not None and in_flight < at_least:
            run.fail(
                IN_TURN.format(requests=n, in_flight=in_flight, counted=counted),
                measured=[*together, f"no request waited for one of the threadpool's {limit:g} tokens, "
                                     "so something else made them take turns"],
                expected=[f"at least {at_least} of the {n} requests' {counted} in flight at the same time"],
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
    from plugin.firing import current_request

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


# -- explaining ----------------------------------------------------------------------------


def threadpool_lines(watch: ThreadpoolWatch, began: float, ended: float) -> list[str]:
    """The threadpool over time (tokens borrowed, callers waiting) and the waves of requests."""
    span = max(ended - began, 1e-6)
    borrows = watch.borrows_between(began, ended)
    events = [e for e in watch.events if e[0] <= ended]
    limit = watch.limit_between(began, ended)
    peak = max((e[1] for e in events if e[0] >= began), default=0)
    waiting_peak = max((e[2] for e in events if e[0] >= began), default=0)
    lines = [
        f"The threadpool (anyio's default thread limiter; 0 to {span:.2f} s):",
        f"  tokens borrowed |{sparkline([(e[0], e[1]) for e in events], began, ended, limit)}| "
        f"at most {peak} of {limit:g}",
        f"  requests waiting|{sparkline([(e[0], e[2]) for e in events], began, ended, waiting_peak)}| "
        f"at most {waiting_peak}",
    ]
    waves = watch.waves(borrows)
    if not waves:
        return lines
    lines += ["", f"Requests got a worker thread in {len(waves)} wave{'s' if len(waves) > 1 else ''} "
                  f"({WAIT} waiting for a thread, {RUN} running in one):"]
    labels = [_wave_label(w) for w in waves]
    width = max(len(label) for label in labels)
    for wave, label in zip(waves, labels):
        bar = wave_bar(wave.borrows, began, span, ended)
        done = max((b.released or ended) for b in wave.borrows) - began
        count = len(wave.borrows)
        lines.append(f"  {label:<{width}} |{bar}| {count} request{'s' if count > 1 else ''}, done by {done:.2f} s")
    if len(waves) > 1:
        lines.append("  A request of wave 2 got a thread only when one of wave 1 gave its thread back, and so on.")
    places = {b.place for b in borrows if b.place is not None}
    if len(places) == 1:
        place = places.pop()
        lines += ["", f"Each worker thread ran {place.function}() ({place.short()}), holding its token until it returned:",
                  f"      {place.code}"]
    return lines


def sparkline(points: list[tuple[float, int]], began: float, ended: float, top: float) -> str:
    """One character per column of time: the highest value in it, on a scale up to `top`."""
    span = max(ended - began, 1e-6)
    ordered = sorted(points, key=lambda p: p[0])
    cells = []
    value, i = 0, 0
    for c in range(TIMELINE_WIDTH):
        start, end = began + span * c / TIMELINE_WIDTH, began + span * (c + 1) / TIMELINE_WIDTH
        while i < len(ordered) and ordered[i][0] <= start:
            value = ordered[i][1]
            i += 1
        highest = value
        while i < len(ordered) and ordered[i][0] < end:
            value = ordered[i][1]
            highest = max(highest, value)
            i += 1
        cells.append(_level(highest, top))
    return "".join(cells)


def _level(value: float, top: float) -> str:
    if value <= 0 or top <= 0:
        return LEVELS[0]
    return LEVELS[max(1, min(8, round(8 * value / top)))]


def wave_bar(borrows: Sequence[Borrow], began: float, span: float, ended: float) -> str:
    """`·` from the first request of the wave asking for a thread until it got one, then `█`."""
    scale = TIMELINE_WIDTH / span

    def col(t: float) -> int:
        return min(TIMELINE_WIDTH - 1, max(0, int((t - began) * scale)))

    cells = [" "] * TIMELINE_WIDTH
    asked = min(b.asked for b in borrows)
    granted = min(b.granted for b in borrows)
    released = max(b.released or ended for b in borrows)
    for c in range(col(asked), col(granted)):
        cells[c] = WAIT
    for c in range(col(granted), col(released) + 1):
        cells[c] = RUN
    return "".join(cells)


def _wave_label(wave: Wave) -> str:
    numbers = wave.requests
    if not numbers:
        return f"wave {wave.number}"
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        who = f"#{numbers[0]}" if len(numbers) == 1 else f"#{numbers[0]}-#{numbers[-1]}"
    else:
        who = f"#{numbers[0]}…#{numbers[-1]}"
    return f"wave {wave.number} {who}"


@pytest_asyncio.fixture
async def threadpool(request: pytest.FixtureRequest) -> AsyncIterator[ThreadpoolWatch]:
    """Watch FastAPI's threadpool (anyio's default thread limiter) on the test's event loop.

    After the requests, `threadpool.limit`, `threadpool.peak_borrowed`, `threadpool.borrows`
    and `threadpool.waves()` say how many worker threads the app could use and how it used them.
    """
    watch = ThreadpoolWatch(user_files=_user_files(request)).attach()
    try:
        yield watch
    finally:
        watch.detach()


def _user_files(request: pytest.FixtureRequest) -> UserFiles:
    from plugin.pytest_plugin import SESSION_KEY

    session = request.config.stash.get(SESSION_KEY, None)
    entry = session.kata_for(request.path) if session is not None else None
    return UserFiles.under([session.app_path(entry).parent]) if entry is not None else UserFiles()
