"""Wait on the loop for a blocking call made in a thread of its own.

Not `asyncio.to_thread`: the loop's default executor sizes itself from `os.cpu_count()`, and the
plugin's own waits must not make a kata's run ask how many cores the machine has.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def in_a_thread(call: Callable[[], T], name: str = "katas helper") -> T:
    """Run `call()` in a new daemon thread; its result (or exception) comes back on the loop."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        if not done.done():
            outcome()

    def run() -> None:
        try:
            value = call()
        except BaseException as exc:  # handed to the waiting task
            error = exc
            loop.call_soon_threadsafe(settle, lambda: done.set_exception(error))
        else:
            loop.call_soon_threadsafe(settle, lambda: done.set_result(value))

    threading.Thread(target=run, name=name, daemon=True).start()
    return await done
