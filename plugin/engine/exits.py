"""An app under test that tries to end the process gets an exception instead, and the run says so.

`os._exit()` ends a process at once, with no chance to report anything; `sys.exit()` raised in a
request would stop the test's event loop. While the harness serves an app, `os._exit` raises
`AppExited` in this process (a forked child still exits, as it must), and a `SystemExit` raised
by the app is turned into one, so the request fails and the run explains it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

TRIED_TO_EXIT = (
    "The app tried to end the whole process here: under a server, every request in flight would end with it, "
    "and the server would stop serving."
)


class AppExited(Exception):
    """The app called `os._exit()` or `sys.exit()`."""


@contextmanager
def exits_refused() -> Iterator[None]:
    """While active, `os._exit()` in this process raises `AppExited` instead of ending it."""
    original, pid = os._exit, os.getpid()

    def refuse(code: int = 0) -> None:
        if os.getpid() != pid:  # a forked child (a process pool's worker) must still be able to exit
            original(code)
        raise AppExited(f"the app called os._exit({code})")

    os._exit = refuse  # type: ignore[assignment]
    try:
        yield
    finally:
        os._exit = original
