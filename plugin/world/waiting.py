"""Where the app waited while the world worked for it: noted on the app's own loop while a call,
a query or a read is in flight, so that a failure can show the lines of the app that waited."""

from __future__ import annotations

import asyncio
import os
import threading
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

from fastapi_async_katas.engine.suspended import awaiting_places, thread_places
from fastapi_async_katas.engine.userfiles import Place, UserFiles

MAX_PLACES_PER_ITEM = 3
MAX_LABELS_PER_ROW = 3


class InFlight(Protocol):
    """Something the world does for the app: a call, a query, a read."""

    finished: float | None
    waiting_in_app: list[Place] | None
    tasks_waiting: int
    threads_waiting: list[Place] | None

    @property
    def label(self) -> str: ...


@dataclass(frozen=True)
class AppWatch:
    """The app's loop, its files, and the files (a test's own) whose waiting is not the app's."""

    loop: asyncio.AbstractEventLoop
    user_files: UserFiles
    skip_files: frozenset[str]
    # Calls waiting to be noted. Twenty queries in flight at once are noted in one walk over
    # the app's tasks, not in twenty: each walk follows every task's chain of awaits.
    _pending: list[InFlight] = field(default_factory=list, compare=False, repr=False)
    _pending_lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def note_soon(self, call: InFlight) -> None:
        """From the service's thread: ask the app's loop to note where it waits for `call`."""
        if self.loop.is_closed():
            return
        with self._pending_lock:
            self._pending.append(call)
            if len(self._pending) > 1:
                return  # the loop is already asked to note what is pending
        try:
            self.loop.call_soon_threadsafe(self._note_pending)
        except RuntimeError:  # the loop closed meanwhile
            with self._pending_lock:
                self._pending.clear()

    def _note_pending(self) -> None:
        with self._pending_lock:
            calls, self._pending[:] = list(self._pending), []
        # A call answered before the loop got here: the loop was busy until after the answer,
        # and there is nothing honest to report for it.
        calls = [call for call in calls if call.finished is None]
        if calls:
            places, tasks = self._waiting_places()
            for call in calls:
                call.waiting_in_app = places
                call.tasks_waiting = tasks

    def thread_places(self, skip: Collection[int] = ()) -> list[Place]:
        """Where the app's threads stand now (but those in `skip`, idents): see `thread_places`."""
        return [p for p in thread_places(self.user_files, skip) if os.path.abspath(p.file) not in self.skip_files]

    def _waiting_places(self) -> tuple[list[Place], int]:
        """On the app's loop: the lines where the app's tasks wait, and how many tasks wait there.

        Each task suspended in the app's code counts once, at its outermost line (the route's
        `await`, say), so a route that awaits a task shows both the route's line and the task's.
        """
        places: set[Place] = set()
        tasks = 0
        for task in asyncio.all_tasks(self.loop):
            chain = awaiting_places(task, self.user_files)
            if chain and not any(os.path.abspath(p.file) in self.skip_files for p in chain):
                places.add(chain[0])
                tasks += 1
        return sorted(places, key=lambda p: (p.file, p.line)), tasks


def waiting_lines(items: list[Any], title: str) -> list[str]:
    """The lines of the app that waited while each item was in flight, where known; items that
    waited at the same lines share a row."""
    groups: dict[tuple[Place, ...], list[Any]] = {}
    for item in items:
        if item.waiting_in_app:
            groups.setdefault(tuple(item.waiting_in_app[:MAX_PLACES_PER_ITEM]), []).append(item)
    if not groups:
        return []
    lines = [title]
    for places, group in groups.items():
        labels = [item.label for item in group]
        if len(set(labels)) == 1 and len(labels) > 1:
            lines.append(f"  {len(labels)}× {labels[0]}")
        else:
            more = f" and {len(group) - MAX_LABELS_PER_ROW} more" if len(group) > MAX_LABELS_PER_ROW else ""
            lines.append(f"  {', '.join(labels[:MAX_LABELS_PER_ROW])}{more}")
        for place in places:
            lines += [f"    {place.short()} in {place.function}()", f"        {place.code}"]
    return lines


def thread_lines(items: list[Any], title: str) -> list[str]:
    """The lines of the app where its threads stood while an item was in flight (`threads_waiting`),
    each with the most threads seen there at one moment; none when no thread was seen."""
    most: Counter[Place] = Counter()
    for item in items:
        for place, count in Counter(item.threads_waiting or ()).items():
            most[place] = max(most[place], count)
    if not most:
        return []
    lines = [title]
    for place, count in sorted(most.items(), key=lambda pc: (-pc[1], pc[0].file, pc[0].line)):
        threads = "1 thread" if count == 1 else f"up to {count} threads at once"
        lines += [f"  {threads} at {place.short()} in {place.function}()", f"      {place.code}"]
    return lines
