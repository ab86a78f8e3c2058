"""The common wrong turns of async code, each recognised from what was measured, with the sentence
that names it and says why it does not help. The checks add the sentence to their explanation."""

from __future__ import annotations

import linecache
import re

from fastapi_async_katas.engine.userfiles import Place

ONE_BY_ONE = (
    "Each call started only once the one before it had answered. Creating a coroutine, or even a task, "
    "first does not help if each one is then awaited in turn: the waits still add up. Start them all, then "
    "wait for them together."
)
YIELD_FIRST = (
    "`await asyncio.sleep(0)` before it lets others run for a moment, then the call holds the loop for as long "
    "as ever: a pause is not a way out of the loop."
)
IN_TURN = (
    "The requests were in the app together ({in_app} at once), but {what} took turns: something lets only one "
    "through at a time (a lock, a pool of one thread, one shared connection or client)."
)
WAITED_ON_A_THREAD = (
    "The work itself ran in another thread or process, but the loop stood still here waiting for it "
    "(`.result()`, `.join()`): the loop was blocked all the same. Await the work instead of waiting for it."
)
ONLY_A_BIGGER_LIMIT = (
    "A bigger limit ({limit:g} threads) moves the wall, it does not remove it: each request still holds a thread "
    "for its whole wait, and a bigger burst meets the wall again."
)

_SLEEP_ZERO = re.compile(r"\bawait\s+(asyncio|anyio)\.sleep\(\s*0\s*\)")
_WAITS_ON_THREAD = re.compile(r"\.(result|join)\(\s*\)")
_LOOK_BACK = 6


def waited_on_a_thread(place: Place | None) -> bool:
    """Whether the blamed line waits for a future or a thread to finish (`.result()`, `.join()`)."""
    return place is not None and bool(_WAITS_ON_THREAD.search(place.code))


def yielded_just_before(place: Place | None) -> bool:
    """Whether the lines just above the blamed one, in its function, `await asyncio.sleep(0)`."""
    if place is None:
        return False
    for line in range(place.line - 1, max(place.line - _LOOK_BACK, 1) - 1, -1):
        text = linecache.getline(place.file, line)
        if text.lstrip().startswith(("def ", "async def ")):
            return False
        if _SLEEP_ZERO.search(text):
            return True
    return False


def about_a_block(place: Place | None) -> list[str]:
    """The sentences that name a wrong turn at the line a block was blamed on, if any."""
    found = []
    if waited_on_a_thread(place):
        found.append(WAITED_ON_A_THREAD)
    if yielded_just_before(place):
        found.append(YIELD_FIRST)
    return found
