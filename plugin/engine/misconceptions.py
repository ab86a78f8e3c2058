"""The common wrong turns of async code, each recognised from what was measured, with the sentence
that names it and says why it does not help. The checks add the sentence to their explanation."""

from __future__ import annotations

import linecache
import re
from collections.abc import Sequence

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
    "The requests were in the app together ({in_app} at once), but {what} took turns: something lets only {few} "
    "through at a time (a lock, a semaphore or limiter set low, a small pool of threads, one shared connection or client)."
)


STARTED_TOGETHER_IN_TURN = (
    "The request started its work together, but {what} took turns: something lets only {few} through at a "
    "time (a lock, a semaphore or limiter set low, a small pool of threads, one shared connection or client)."
)


def in_turn(in_app: int, what: str, peak: int) -> str:
    """The offloaded-then-serialized sentence, for `peak` let through at a time (`in_app` requests
    in the app at once; with one, its own tasks took turns)."""
    few = "one" if peak <= 1 else str(peak)
    if in_app <= 1:
        return STARTED_TOGETHER_IN_TURN.format(what=what.replace("their ", "its ", 1), few=few)
    return IN_TURN.format(in_app=in_app, what=what, few=few)


WAITED_ON_A_THREAD = (
    "The work was handed to another thread, process or loop, but the loop stood still here waiting for it "
    "(`.result()`, `.join()`): the loop was blocked all the same, and work that needs this loop can never "
    "finish while it waits. Await the work instead of waiting for it."
)
ONLY_A_BIGGER_LIMIT = (
    "A bigger limit ({limit:g} threads) moves the wall, it does not remove it: each request still holds a thread "
    "for its whole wait, and a bigger burst meets the wall again."
)

_SLEEP_ZERO = re.compile(r"\bawait\s+(asyncio|anyio)\.sleep\(\s*0\s*\)")
_WAITS_ON_THREAD = re.compile(r"\.(result|join)\(\s*\)")
_MOST_LINES = 200


def waited_on_a_thread(place: Place | None) -> bool:
    """Whether the blamed line waits for a future or a thread to finish (`.result()`, `.join()`)."""
    return place is not None and bool(_WAITS_ON_THREAD.search(place.code))


def yields_in_its_function(place: Place | None) -> bool:
    """Whether the function of `place` awaits `asyncio.sleep(0)` anywhere (before the blocking
    call, or between the chunks of a loop)."""
    if place is None:
        return False
    lines = _function_lines(place)
    return any(_SLEEP_ZERO.search(text) for text in lines)


def _function_lines(place: Place) -> list[str]:
    """The source lines of the function that holds `place`: from its `def` to where it ends."""
    start = place.line
    while start > 1 and not linecache.getline(place.file, start).lstrip().startswith(("def ", "async def ")):
        start -= 1
    header = linecache.getline(place.file, start)
    indent = len(header) - len(header.lstrip())
    found, number = [], start + 1
    while (text := linecache.getline(place.file, number)) and number - start < _MOST_LINES:
        if text.strip() and len(text) - len(text.lstrip()) <= indent:
            break
        found.append(text)
        number += 1
    return found


def about_a_block(chain: Sequence[Place]) -> list[str]:
    """The sentences that name a wrong turn along the chain of lines a block was blamed on."""
    found = []
    if chain and waited_on_a_thread(chain[-1]):
        found.append(WAITED_ON_A_THREAD)
    if any(yields_in_its_function(place) for place in chain):
        found.append(YIELD_FIRST)
    return found
