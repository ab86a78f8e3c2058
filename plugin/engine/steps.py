"""The loop step in progress, as the loop watch times it and its sampler weighs it."""

from __future__ import annotations

from typing import Any

from fastapi_async_katas.engine.blame import Stack


class Step:
    """The loop step in progress; the sampler adds to `weights` while the loop thread runs it.

    One is made for every callback the loop runs, and most end young: the fields only long steps
    use have their defaults on the class, and the sampler sets them.
    """

    # Seconds spent collecting garbage: the machine's doing, not the code's.
    gc_s = 0.0
    gc_began: float | None = None
    gc_last = 0.0
    # Seconds in `Thread.start`, net of the waits counted apart: no sample's weight, but a step
    # held up meanwhile by work another thread computes is still a stall.
    starting_s = 0.0
    starting_last = 0.0
    held_s = 0.0
    held_last = 0.0
    hang_signalled = False
    samples = 0
    longest_gap_s = 0.0
    context: Any = None  # the step's contextvars.Context, read when it ends
    weights: dict[Stack, float] | None = None

    def __init__(self, started: float, cpu0: float, ready0: float, process_cpu0: float) -> None:
        self.started = self.last = started
        self.cpu0 = cpu0
        self.ready0 = self.ready_last = ready0
        # The whole process's CPU time at the start: what other threads computed meanwhile shows.
        self.process_cpu0 = process_cpu0
