"""A course run ends without walking its whole heap again.

By the end of a kata run its process holds FastAPI, the learner's app, the world and every
collected test. Then pytest collects garbage twice more (looking for unraisable exceptions, at
unconfigure and at cleanup) and the interpreter once more as it tears down: each walk visits
that whole heap. Together they took half a second of a solved kata's three-second run here,
more than its tests' own CPU time. The run's outermost session freezes what is alive at its
end (`gc.freeze()`), which those walks skip. A worker of the spread `--solutions` run is such
a session, too.

Only the outermost session: one run inside another (the contract check's variants, pytester's
inline runs) ends in a process that goes on, where frozen garbage would never be freed. The
price: an exception raised in `__del__` by garbage that the last test left in a reference
cycle goes unreported; without the freeze it would come out after the run's summary, as stray
text that no test owns.
"""

from __future__ import annotations

import gc
import sys

import pytest
from _pytest.main import wrap_session


def sessions_running() -> int:
    """How many pytest sessions this thread is inside of (one run within another counts two)."""
    count, frame = 0, sys._getframe()
    while frame is not None:
        count += frame.f_code is wrap_session.__code__
        frame = frame.f_back
    return count


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    if sessions_running() == 1:
        gc.freeze()
