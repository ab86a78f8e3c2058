"""What `katas probe` measures: a burst of requests at once, or a steady stream for a while.

The app runs in this process with its lifespan, exactly as the katas' tests run theirs
(`serve`). Ctrl-C stops the requests and keeps what was measured so far: the requests not
answered by then are left out, and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi_async_katas.engine.firing import Settings, serve
from fastapi_async_katas.engine.judging import Run
from fastapi_async_katas.engine.loopwatch import Block
from fastapi_async_katas.engine.userfiles import UserFiles

DEFAULT_REQUESTS = 20
DEFAULT_RATE = 20.0
# Each request is a task of this process, measured as it runs: past this many in one probe, a
# probe measures its own weight more than the app's.
MAX_REQUESTS = 10_000
MAX_DURATION_S = 600.0


@dataclass(frozen=True)
class Load:
    """How the requests are sent: `n` at once, or `rate` per second for `duration_s`."""

    method: str
    path: str
    n: int = DEFAULT_REQUESTS
    duration_s: float | None = None
    rate: float = DEFAULT_RATE
    body: Any = None
    headers: dict[str, str] | None = None

    @property
    def count(self) -> int:
        """How many requests this load sends, if it runs to the end."""
        if self.duration_s is None:
            return self.n
        return max(1, int(self.duration_s * self.rate))

    @property
    def send_times(self) -> list[float] | None:
        """Each request's send time from the start, in seconds (None: all at once)."""
        if self.duration_s is None:
            return None
        return [i / self.rate for i in range(self.count)]

    def describe(self) -> str:
        if self.duration_s is None:
            return f"{self.method} {self.path} × {self.n} at once"
        return f"{self.method} {self.path} at {self.rate:g} per second for {self.duration_s:g} s"


@dataclass
class ProbeResult:
    """What one probe measured: the requests, and any blocks while the app started."""

    run: Run
    load: Load
    startup_blocks: list[Block] = field(default_factory=list)
    # Steps as long as blocks while the app started, that the sampler never saw (a machine too busy).
    startup_unjudged: list[Block] = field(default_factory=list)
    interrupted: bool = False


async def probe(app: Any, load: Load, *, settings: Settings | None = None, user_files: UserFiles | None = None) -> ProbeResult:
    """Start `app`, send `load`'s requests, and return what was measured. Ctrl-C (SIGINT) ends
    the requests early; what was measured until then is returned, marked `interrupted`."""
    stop = asyncio.Event()
    with _stop_on_ctrl_c(stop):
        async with serve(app, user_files=user_files, settings=settings) as harness:
            requests = [(load.method, load.path, load.body)] * load.count
            run = await harness.fire_many(requests, headers=load.headers, at=load.send_times, stop=stop)
    return ProbeResult(run, load, list(harness.startup_blocks), list(harness.startup_unjudged), interrupted=stop.is_set())


@contextlib.contextmanager
def _stop_on_ctrl_c(stop: asyncio.Event) -> Iterator[None]:
    """The first Ctrl-C sets `stop`; a second one interrupts as usual."""
    loop = asyncio.get_running_loop()

    def first() -> None:
        stop.set()
        loop.remove_signal_handler(signal.SIGINT)

    try:
        loop.add_signal_handler(signal.SIGINT, first)
    except (RuntimeError, ValueError, NotImplementedError):  # not the main thread, or no signals here
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)

