"""The event loop held up between its steps: with work to do, but unable to run it.

Between two steps the loop thread runs asyncio's own code, and, when it has nothing ready, sits
in `select()`. Either way it must hold the GIL to go on. When another thread of the process holds
the GIL while it computes (`json.dumps` of a big object handed to `asyncio.to_thread`, say), the
loop waits for it, though no line of the app's own code is running. The watch notes the end of
each step (with the process's CPU clock) and the time spent in `select()` since; a gap between
steps, not spent in `select()`, of a block's length or more, during which other threads
computed for most of it, is a stall of kind `gil`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi_async_katas.engine.records import GIL_SHARE, Block


class WakeWatch:
    """Wrap the running loop's selector to time `select()`; undo it with `close()`."""

    def __init__(self) -> None:
        self._selector: Any = None
        self._ended: float | None = None
        # The loop thread's clocks (ready wait, its CPU, the process's CPU) at the last reading.
        self._clocks: tuple[float, float, float] | None = None
        self._selecting_s = 0.0
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop runs yet: a watch started before `asyncio.run` sees no stalls
        selector = getattr(loop, "_selector", None)
        if selector is None or "select" in vars(selector):
            return
        original = selector.select

        def select(timeout: Any = None) -> Any:
            began = time.perf_counter()
            try:
                return original(timeout)
            finally:
                took = time.perf_counter() - began
                # `select()` takes the GIL back before it returns: past its timeout, the loop was
                # not selecting but waiting for the GIL (or a CPU, counted apart), and that is a stall.
                self._selecting_s += took if timeout is None else min(took, max(timeout, 0.0))

        selector.select = select
        self._selector = selector

    def close(self) -> None:
        if self._selector is not None and "select" in vars(self._selector):
            del self._selector.select
        self._selector = None

    def step_ended(self, now: float, ready: float | None = None, cpu: float = 0.0, process: float = 0.0) -> None:
        """A step ended at `now`. A long step also gives the clocks at its end; a short one does
        not (reading them on every step would cost every request), and the clocks read at its
        start stand in for them."""
        self._ended = now
        if ready is not None:
            self._clocks = (ready, cpu, process)
        self._selecting_s = 0.0

    def stall_before(self, now: float, ready_now: float, cpu_now: float, process_now: float, block_ms: float) -> Block | None:
        """A `gil` block for the time since the last step ended, if it was one; None otherwise.

        Clocks read at the last step's start count its time too: the wait for a CPU then is
        taken for the gap's (so a stall is never overstated), and its CPU time is the loop's own.
        """
        ended_at, clocks = self._ended, self._clocks
        self._ended, self._clocks = None, (ready_now, cpu_now, process_now)
        if ended_at is None or clocks is None or self._selector is None:
            return None
        ready0, cpu0, process0 = clocks
        waiting_ms = max(ready_now - ready0, 0.0) * 1000
        stalled_ms = (now - ended_at - self._selecting_s) * 1000 - waiting_ms
        if stalled_ms < block_ms:
            return None
        others_ms = max(((process_now - process0) - (cpu_now - cpu0)) * 1000, 0.0)
        if others_ms < GIL_SHARE * stalled_ms:
            return None
        # No line of the app ran meanwhile (so no place to blame, and no CPU of the loop's own):
        # the stall is the GIL's, and the work another thread ran is named when it is known.
        return Block(None, stalled_ms + waiting_ms, 0.0, ended_at, 0, waiting_ms, (), others_ms, stalled_ms)
