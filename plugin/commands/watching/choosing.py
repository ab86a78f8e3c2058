"""Which kata watch mode works on: the first one that is not solved, in course order."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from fastapi_async_katas.commands.watching.changes import IGNORED_DIRS, is_relevant
from fastapi_async_katas.course.listing import Kata
from fastapi_async_katas.course.progress import SOLVED, KataProgress, ProgressFile


def solved_on_record(entry: KataProgress | None, newest_change: float | None) -> bool:
    """Whether the state file's word that a kata is solved still holds.

    It holds only if the kata's last run passed and none of its files changed since that run.
    Otherwise watch mode runs the kata to find out: an extra run costs seconds, while skipping
    a kata that no longer passes would mislead the learner.
    """
    if entry is None or entry.status != SOLVED or not entry.last_run or newest_change is None:
        return False
    try:
        last_run = datetime.fromisoformat(entry.last_run).timestamp()
    except ValueError:
        return False
    return newest_change < last_run


def newest_change(kata_dir: Path) -> float | None:
    """The latest modification time of the kata's own files, or None if it has none."""
    times = []
    for dirpath, dirnames, filenames in os.walk(kata_dir):
        dirnames[:] = [d for d in dirnames if d not in IGNORED_DIRS and not d.startswith(".")]
        for name in filenames:
            path = Path(dirpath, name)
            if is_relevant(path, kata_dir):
                try:
                    times.append(path.stat().st_mtime)
                except OSError:
                    pass
    return max(times, default=None)


def known_results(course: list[Kata], root: Path, progress: ProgressFile, session: Mapping[str, bool]) -> dict[str, bool]:
    """Each kata's solved-or-not: this session's own runs first, then the state file where it still holds."""
    return {
        kata.folder: session[kata.folder]
        if kata.folder in session
        else solved_on_record(progress.katas.get(kata.folder), newest_change(kata.kata_dir(root)))
        for kata in course
    }


def choose_next(course: list[Kata], solved: Mapping[str, bool], after: Kata | None = None) -> Kata | None:
    """The first kata not solved, in course order.

    With `after`, the search starts at the kata after it and wraps around to the start, but never
    returns `after` itself: that is "move on".
    """
    if after is None:
        order = course
    else:
        i = course.index(after)
        order = course[i + 1 :] + course[:i]
    return next((kata for kata in order if not solved.get(kata.folder, False)), None)
