"""The loop step in progress, as the loop watch times it and its sampler weighs it."""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any

from fastapi_async_katas.engine.blame import Stack, stack_key


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
    # Seconds the thread was held off the GIL by other threads (see `engine.gilwait`).
    gil_s = 0.0
    # Seconds credited from samples that found the thread asleep in a call of its own.
    own_s = 0.0
    cpu_last: float | None = None
    hang_signalled = False
    samples = 0
    longest_gap_s = 0.0
    context: Any = None  # the step's contextvars.Context, read when it ends
    # Each stack sampled, by its `stack_key`, with the seconds credited to it.
    weights: dict[tuple[int, ...], tuple[Stack, float]] | None = None
    # The step's outermost frame, once a sample found it: later samples copy no frame outside it.
    outermost: FrameType | None = None

    def __init__(self, started: float, cpu0: float, ready0: float, process_cpu0: float, runs0: int = 0) -> None:
        self.started = self.last = started
        self.cpu0 = cpu0
        self.ready0 = self.ready_last = ready0
        self.runs_last = runs0  # times the thread was given a CPU (see `ReadyClock.read_runs`)
        # The whole process's CPU time at the start: what other threads computed meanwhile shows.
        self.process_cpu0 = process_cpu0

    def weigh(self, stack: Stack, now: float, ready: float, sample_after: float, cpu: float, in_own_call: bool, runs: int = 0) -> None:
        """Credit `stack` with the time since the last sample that the thread could have run.

        The first `sample_after` of a step is nobody's: short library steps are common, and
        crediting their start to the first line sampled would blame lines for others' time.
        A thread found asleep in a call of its own is credited all of it. Otherwise it is credited
        the CPU time (`cpu`, its clock now) it used meanwhile, and the rest was a wait for the GIL
        only as far as its wake-ups (`runs`, see `ReadyClock.read_runs`) allow: a thread waiting
        for the GIL wakes at least once per switch interval to ask for it, while one asleep on
        its own account (until just before a sampler that was itself held off looked) does not.
        """
        since = now - max(self.last, self.started + sample_after)
        waited = (ready - self.ready_last) + (self.held_s - self.held_last) + (self.starting_s - self.starting_last)
        collected = self.gc_s - self.gc_last
        self.last, self.ready_last, self.gc_last, self.held_last, self.starting_last = now, ready, self.gc_s, self.held_s, self.starting_s
        ran = max(cpu - (self.cpu_last if self.cpu_last is not None else self.cpu0), 0.0)
        # It cannot have waited while it ran: work that lets go of the GIL (hashing) goes on while
        # the sampler holds it. A garbage collection is never its code's, computing or not.
        weight = max(since - min(waited, max(since - ran, 0.0)) - collected, 0.0)
        if in_own_call:
            self.own_s += weight
        else:
            rest = max(weight - ran, 0.0)
            gil = min(rest, (max(runs - self.runs_last, 0) + 1) * sys.getswitchinterval()) if runs else rest
            self.gil_s += gil
            weight -= gil
        self.cpu_last, self.runs_last = cpu, runs
        self.samples += 1
        self.longest_gap_s = max(self.longest_gap_s, since)
        weights = self.weights = self.weights if self.weights is not None else {}
        key = stack_key(stack)
        weights[key] = (stack, weights[key][1] + weight) if key in weights else (stack, weight)

    def stack_weights(self) -> list[tuple[Stack, float]]:
        """Each stack sampled, with its weight in seconds (a copy: a late sample may still add)."""
        return list((self.weights or {}).values())
