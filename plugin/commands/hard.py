"""`katas hard on|off`: take the course the hard way, or back the usual way.

On: each kata whose `app.py` is still as shipped loses its TODO comments, and each README its
tasks, down to the goal. Off: each kata still as the hard way left it is put back as shipped.
A file the learner changed is never touched (the command says which), and the choice is kept
in the progress file, so `katas reset` serves a kata the same way.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fastapi_async_katas.commands.reset import NO_COURSE, replace_file
from fastapi_async_katas.course.hard import served
from fastapi_async_katas.course.listing import KATAS_DIR, Kata, find_course_root, load_course
from fastapi_async_katas.course.progress import load, update
from fastapi_async_katas.course.shipped import NoShippedVersion, find_shipped

STATUS = "The course is taken the {way} way. `katas hard {other}` switches."
SWITCHED = "The course is now taken the {way} way: {count} kata(s) changed."
KEPT = "Left as they are, since you changed them: {files}."
NO_SHIPPED = "katas hard: cannot find the shipped {file}: {why}. It was left as it is."


def main(argv: list[str], prog: str = "katas hard") -> int:
    parser = argparse.ArgumentParser(prog=prog, description="Take the course the hard way (no TODOs, tasks reduced to the goal), or back.")
    parser.add_argument("switch", nargs="?", choices=("on", "off"), help="on or off; without it, say which way is taken")
    options = parser.parse_args(argv)
    root = find_course_root(Path.cwd())
    if root is None:
        print(NO_COURSE, file=sys.stderr)
        return 1
    if options.switch is None:
        hard = load(root).hard
        print(STATUS.format(way="hard" if hard else "usual", other="off" if hard else "on"))
        return 0
    hard = options.switch == "on"
    changed, kept = set(), []
    for kata in load_course(root):
        for name in ("app.py", "README.md"):
            outcome = switch_file(root, kata, name, hard)
            if outcome == "changed":
                changed.add(kata.folder)
            elif outcome == "kept":
                kept.append(f"{KATAS_DIR}/{kata.folder}/{name}")

    def remember(progress):  # type: ignore[no-untyped-def]
        progress.hard = hard

    update(root, remember)
    print(SWITCHED.format(way="hard" if hard else "usual", count=len(changed)))
    if kept:
        print(KEPT.format(files=", ".join(kept)))
    return 0


def switch_file(root: Path, kata: Kata, name: str, hard: bool) -> str:
    """Serve one file the other way if the learner has not changed it: "changed", "kept"
    (changed by the learner), "same" (nothing to do) or "missing"."""
    path = kata.kata_dir(root) / name
    try:
        shipped = find_shipped(root, f"{KATAS_DIR}/{kata.folder}/{name}").text
    except NoShippedVersion as exc:
        print(NO_SHIPPED.format(file=f"{KATAS_DIR}/{kata.folder}/{name}", why=exc), file=sys.stderr)
        return "missing"
    if not path.exists():
        return "missing"
    current, wanted, other = path.read_bytes(), served(kata, name, shipped, hard), served(kata, name, shipped, not hard)
    if current == wanted:
        return "same"
    if current != other:
        return "kept"
    replace_file(path, wanted)
    return "changed"
