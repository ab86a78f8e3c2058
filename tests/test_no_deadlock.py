"""The loop watch never deadlocks or crashes the process it measures, however its threads meet.

A deadlock inside the interpreter cannot be ended by any signal or timeout of that process, and
a crash takes the process with it, so the stress runs in a subprocess of its own, bounded from
outside.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

STRESS_S = 2.0
HARD_LIMIT_S = 20.0

# The loop starts and ends threads all the time (as aiosqlite does for each connection); every
# allocation starts a collection; the sampler copies the loop's stack as often as it can; and a
# GC callback lets go of the GIL on any thread but the loop's, as a finalizer that writes a
# warning does. Before the sampler kept collections out of its copy of the loop's stack, this
# hung within milliseconds (the sampler held the interpreter's thread-list lock, waiting for the
# GIL, while the loop held the GIL in `Thread.start()`, waiting for that lock), or crashed (a
# frame object made for a frame the loop had meanwhile returned from).
STRESS = textwrap.dedent(
    """
    import asyncio, gc, sys, threading, time
    from fastapi_async_katas.engine.loopwatch import LoopWatch

    loop_thread = threading.current_thread()

    def lets_go_of_the_gil(phase, info):
        if threading.current_thread() is not loop_thread:
            time.sleep(0.0002)

    async def churn(seconds):
        end, steps = time.perf_counter() + seconds, 0
        while time.perf_counter() < end:
            for _ in range(10):
                threading.Thread(target=lambda: None).start()
            if steps % 50 == 0:
                gc.collect()
            steps += 1
            await asyncio.sleep(0)
        return steps

    gc.set_threshold(1, 1, 1)
    gc.callbacks.append(lets_go_of_the_gil)
    with LoopWatch(interval_ms=0.0001, sample_after_ms=0.0, block_ms=1.0):
        steps = asyncio.run(churn(float(sys.argv[1])))
    print("steps", steps)
    """
)


def test_the_sampler_and_a_collection_that_lets_go_of_the_gil_never_deadlock_or_crash_the_loop():
    try:
        done = subprocess.run(
            [sys.executable, "-X", "faulthandler", "-c", STRESS, str(STRESS_S)], capture_output=True, text=True, timeout=HARD_LIMIT_S
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the stressed process hung: no end after {HARD_LIMIT_S:g} s (a deadlock)") from None
    assert done.returncode == 0 and done.stderr == "", done.stderr
    steps = int(done.stdout.split()[-1])
    assert steps > 10, f"the loop ran only {steps} steps: the stress did not stress"
