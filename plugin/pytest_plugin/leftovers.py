"""A course run that is otherwise done is not held open by threads the app left running (a
kata test already failed on them: see `katafixture`)."""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading

import pytest

from fastapi_async_katas.engine.leftovers import lingering, names_text, threads_text

STILL_RUNNING = (
    "katas: the tests are done, but {count} your app started {are} still running ({names}); "
    "exiting without waiting for {them}."
)
_EXIT_KEY = pytest.StashKey[int]()
# The session that configured first in this process and has not ended: the contract check runs
# kata sessions inside a test, and only the outermost one may end the process. (Not a count of
# open sessions: a session whose configuring failed part-way is unconfigured all the same, and a
# count would then take a nested session for the outermost, and end an xdist worker with it.)
_outermost: pytest.Config | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _outermost
    if _outermost is None:
        _outermost = config


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_EXIT_KEY] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """The very last thing of a course run: if threads the app left would keep the process
    open, say so and end it, with the run's own exit status."""
    global _outermost
    if config is not _outermost:
        return  # a session inside a test
    _outermost = None
    if config.stash.get(_EXIT_KEY, None) is None or hasattr(config, "workerinput"):
        return  # a session that never ran, or an xdist worker (whose end its controller drives)
    left = lingering({threading.main_thread()})
    if not left:
        return
    n = len(left)
    print(STILL_RUNNING.format(count=threads_text(n), are="is" if n == 1 else "are", names=names_text(left),
                               them="it" if n == 1 else "them"), file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    # A process pool's workers would outlive the run: nothing is left to tell them to stop.
    for child in multiprocessing.active_children():
        child.kill()
    os._exit(config.stash[_EXIT_KEY])

