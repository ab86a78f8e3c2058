"""`katas` / `katas list`: the course with your progress, and the next step."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from fastapi_async_katas.course.hints import read_hints
from fastapi_async_katas.course.listing import KATAS_DIR, Kata, find_course_root, load_course
from fastapi_async_katas.course.progress import SOLVED, ProgressFile, load
from fastapi_async_katas.course.summary import SOLVED_MARK, UNSOLVED_MARK, progress_lines

NOT_STARTED_MARK, RESET_MARK, NEXT_POINTER = "·", "↺", "→"
LIST_TITLE = "FastAPI Async Katas: your progress"
LIST_FOOTER = "Progress is kept in {state}. `katas reset NN` restores a kata's app.py (yours is backed up first)."
NO_COURSE = "katas: no course found. Run `katas` inside the course's folder (the one with pyproject.toml)."


def main(argv: list[str], prog: str = "katas list") -> int:
    argparse.ArgumentParser(prog=prog, description="Show the course with your progress, and the next step.").parse_args(argv)
    root = find_course_root(Path.cwd())
    if root is None:
        print(NO_COURSE, file=sys.stderr)
        return 1
    course = load_course(root)
    state = load(root)
    if state.rebuilt_because:
        try:
            state.save()
        except OSError:
            pass
    for line in list_lines(course, state, root):
        print(line)
    return 0


def list_lines(course: list[Kata], state: ProgressFile, root: Path) -> list[str]:
    """The course, one line per kata with its status, then the next step."""
    upcoming = next((k for k in course if not (k.folder in state.katas and state.katas[k.folder].solved)), None)
    width = max((len(k.title) for k in course), default=0)
    lines = [LIST_TITLE, ""]
    for kata in course:
        mark, status = kata_status(kata, state, root)
        pointer = NEXT_POINTER if kata == upcoming else " "
        lines.append(f"{pointer} {mark} {kata.number}  {kata.title:<{width}}  {status}")
    lines.append("")
    lines += progress_lines(course, state)
    lines.append(LIST_FOOTER.format(state=state.path.name))
    note = state.note() if state.rebuilt_because else None
    return lines + ([note] if note else [])


def kata_status(kata: Kata, state: ProgressFile, root: Path) -> tuple[str, str]:
    """The mark and the words for one kata's line."""
    entry = state.katas.get(kata.folder)
    if not (kata.kata_dir(root) / "app.py").is_file():
        return NOT_STARTED_MARK, f"missing: there is no {KATAS_DIR}/{kata.folder}/app.py"
    if entry is None or (entry.status is None and entry.reset_at is None):
        mark, words = NOT_STARTED_MARK, "not started"
    elif entry.status == SOLVED:
        mark, words = SOLVED_MARK, f"solved{_since(' on', entry.first_solved)}"
    elif entry.status is None:
        mark, words = RESET_MARK, f"reset{_since(' on', entry.reset_at)}, not run since"
    else:
        mark, words = UNSOLVED_MARK, "failing"
    if entry is not None and entry.ever_solved and entry.status != SOLVED:
        words += f" (solved before{_since(' on', entry.first_solved)})"
    if entry is not None and entry.revealed:
        total = len(read_hints(kata.kata_dir(root)))
        seen = len(set(entry.revealed) & set(range(1, total + 1)))
        words += f" · hints seen: {seen} of {total}"
    return mark, words


def _since(prefix: str, stamp: str | None) -> str:
    if not stamp:
        return ""
    try:
        return f"{prefix} {datetime.fromisoformat(stamp).astimezone().strftime('%Y-%m-%d')}"
    except ValueError:
        return ""


