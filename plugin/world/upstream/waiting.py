"""Where the app waited for each call: noted on the app's own loop while the call is in flight."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

from fastapi_async_katas.engine.suspended import awaiting_places
from fastapi_async_katas.engine.userfiles import Place, UserFiles
from fastapi_async_katas.world.upstream.calls import Call


@dataclass(frozen=True)
class AppWatch:
    """The app's loop, its files, and the files (a test's own) whose waiting is not the app's."""

    loop: asyncio.AbstractEventLoop
    user_files: UserFiles
    skip_files: frozenset[str]

    def note_soon(self, call: Call) -> None:
        """From the service's thread: ask the app's loop to note where it waits for `call`."""
        if self.loop.is_closed():
            return
        try:
            self.loop.call_soon_threadsafe(self._note, call)
        except RuntimeError:
            pass

    def _note(self, call: Call) -> None:
        """On the app's loop, while the call is in flight: the lines where the app's tasks wait.

        Each task suspended in the app's code counts once, at its outermost line (the route's
        `await`, say), so a route that awaits a task shows both the route's line and the task's.
        """
        if call.finished is not None:
            return  # the loop was busy until after the answer: nothing honest to report
        places: set[Place] = set()
        for task in asyncio.all_tasks(self.loop):
            chain = awaiting_places(task, self.user_files)
            if chain and not any(os.path.abspath(p.file) in self.skip_files for p in chain):
                places.add(chain[0])
        call.waiting_in_app = sorted(places, key=lambda p: (p.file, p.line))
