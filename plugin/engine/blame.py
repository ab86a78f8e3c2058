"""Blame: from a copy of the loop thread's stack to the one line of the user's files that ran.

The sampler copies the stack at a moment (each frame's code and last instruction); only a step
that turned out long has its copies resolved to a line, which takes file system calls.
"""

from __future__ import annotations

import asyncio
import dis
import gc
import os
import sys
import threading
from asyncio.base_subprocess import BaseSubprocessTransport
from collections.abc import Iterable
from types import CodeType, FrameType

from fastapi_async_katas.engine.userfiles import COMPREHENSIONS, Place, UserFiles, is_plugin_file

# A copy of a stack, innermost frame first: each frame's code and its last instruction.
Stack = tuple[tuple[CodeType, int], ...]

# Library calls that wait, on the loop, for something only a busy machine makes slow: a new
# thread getting the GIL for the first time, a new process getting to `exec` (asyncio starts
# a subprocess synchronously, even from `create_subprocess_exec`).
_EXCUSED_CODES = frozenset({threading.Thread.start.__code__, BaseSubprocessTransport.__init__.__code__})
_RESUME = dis.opmap["RESUME"]


def copy_stack_of(tid: int, boundary: CodeType | None = None, until: FrameType | None = None) -> tuple[Stack, FrameType | None]:
    """The stack of thread `tid` as it is now, innermost frame first, copied with no garbage
    collection meanwhile; with it, the outermost of its frames that runs `boundary`.

    The copy ends at `until`, that frame included, when the stack holds it: a sampler that found
    the outermost frame of a step once need not copy the frames outside it again (the test, the
    code that runs the loop) at every sample, nor weigh them.

    Reading another thread's frames makes frame objects for them (`sys._current_frames()`,
    `f_back`). A collection started by one of those allocations runs Python code (a GC
    callback, a finalizer) that may let go of the GIL in the middle of it. Then the other
    thread runs on: it may return from the very frame being made (which then points into
    memory that thread reuses, and the interpreter crashes), or start or end a thread while
    `sys._current_frames()` holds the lock on the list of threads (a deadlock no signal can
    end). With collection off, no Python code runs inside those calls, and the copy is of one
    moment. Python code that turns collection back on from another thread in this instant is
    not guarded against.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        frame: FrameType | None = sys._current_frames().get(tid)
        found = []
        outermost = None
        while frame is not None:
            code = frame.f_code
            found.append((code, frame.f_lasti))
            if code is boundary:
                outermost = frame
                if frame is until:
                    break
            frame = frame.f_back
        return tuple(found), outermost
    finally:
        if enabled:
            gc.enable()


def stack_key(stack: Stack) -> tuple[int, ...]:
    """A key equal for equal stacks while their code objects live, quick to hash: a code
    object's own hash walks its bytecode, names and constants each time."""
    return tuple([id(code) for code, _ in stack] + [lasti for _, lasti in stack])


def blamed_place(stack: Stack, user_files: UserFiles, step_code: CodeType) -> Place | None:
    """The innermost user line of `stack` below the outermost timed step (see `blamed_chain`)."""
    chain = blamed_chain(stack, user_files, step_code)
    return chain[-1] if chain else None


def blamed_chain(stack: Stack, user_files: UserFiles, step_code: CodeType) -> tuple[Place, ...]:
    """The user's frames below the outermost timed loop step (`step_code`) on this stack, from the
    outermost (the route, dependency or middleware the server awaited) to the blamed line.

    Frames outside the step (the code that runs the loop: a console script, a test) are
    never blamed, and a loop nested inside a step (`asyncio.run` in a route) stays inside it.
    A stack that is starting a thread, or asyncio's subprocess, blames nobody: `Thread.start`
    waits only until the new thread first runs, which takes long only when other threads hold
    the GIL (a thread pool busy computing, the offloading working as it should); asyncio waits
    for a new process to `exec`, which takes long only when the CPUs are busy.
    """
    found = boundary = None
    candidate = None
    for i, (code, _) in enumerate(stack):
        if code is step_code:
            if candidate is not None:
                found, boundary = candidate, i
        elif candidate is None:
            if code in _EXCUSED_CODES:
                return ()
            if code.co_filename in user_files:
                candidate = _running_line(stack, i, user_files)
    if found is None or boundary is None:
        return ()
    outer = [Place.at(code, lasti) for code, lasti in stack[found + 1 : boundary] if code.co_filename in user_files]
    return tuple(dict.fromkeys([*reversed(outer), Place.at(*stack[found])]))


def heaviest_chain(weights: Iterable[tuple[Stack, float]], user_files: UserFiles, step_code: CodeType) -> tuple[tuple[Place, ...], float]:
    """The user line the samples weigh most on, as the chain of user frames that led to it (the
    heaviest such chain), and the line's weight in seconds; `weights` pairs each stack with its."""
    totals: dict[Place, float] = {}
    chains: dict[Place, tuple[tuple[Place, ...], float]] = {}
    for stack, weight in weights:
        chain = blamed_chain(stack, user_files, step_code)
        if chain:
            place = chain[-1]
            totals[place] = totals.get(place, 0.0) + weight
            if weight >= chains.get(place, ((), -1.0))[1]:
                chains[place] = (chain, weight)
    if not totals:
        return (), 0.0
    place, weight_s = max(totals.items(), key=lambda kv: kv[1])
    return chains[place][0], weight_s


def _running_line(stack: Stack, i: int, user_files: UserFiles) -> int:
    """Which user frame, from `stack[i]` outwards, best says what was running.

    - A comprehension written over several lines runs its loop on one line and its expression
      on another: its caller's line, where it starts, keeps all its samples on one line.
    - A function sampled at its very first instruction has not run a line yet (a sample can
      only be taken where the interpreter lets go of the GIL, and a function's entry is such a
      place): the work was its caller's line, the call (a recursive `return fib(n - 1) + ...`,
      say), not the `def` line.
    """
    while i + 1 < len(stack) and stack[i + 1][0].co_filename in user_files:
        code, lasti = stack[i]
        in_comprehension = code.co_name in COMPREHENSIONS and stack[i + 1][0].co_filename == code.co_filename
        if not in_comprehension and not _at_entry(code, lasti):
            break
        i += 1
    return i


def _at_entry(code: CodeType, lasti: int) -> bool:
    raw = code.co_code
    return 0 <= lasti < len(raw) - 1 and raw[lasti] == _RESUME and raw[lasti + 1] == 0


_ASYNCIO_DIR = os.path.dirname(asyncio.__file__) + os.sep


def may_interrupt(frame: FrameType | None, user_files: UserFiles, stop_code: CodeType) -> bool:
    """Whether an exception raised from a signal handler in `frame` breaks only the app's code:
    the first of the step's frames, from the innermost out, that is the user's or asyncio's or
    the plugin's must be the user's. So never in asyncio's or the plugin's own code, nor in code
    they called (a dataclass's generated `__init__`, the standard library), nor in the frame
    that runs the step (`stop_code`) itself, nor in a frozen module's code, the import machinery
    (raised in a module lock's weakref callback, it is only printed as "Exception ignored")."""
    while frame is not None and frame.f_code is not stop_code:
        filename = frame.f_code.co_filename
        if filename in user_files:
            return True
        if filename.startswith((_ASYNCIO_DIR, "<frozen ")) or is_plugin_file(filename):
            return False
        frame = frame.f_back
    return frame is None  # not inside a step at all: nothing of the loop's to break
