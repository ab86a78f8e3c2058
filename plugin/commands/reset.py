"""`katas reset NN`: put back a kata's app.py as shipped (the hard way, if the course is taken so),
and its test_kata.py if it was edited or deleted.

Reset never loses work: the learner's file is first copied to a new file under
`.katas-backups/` (never overwriting an earlier one), and only then replaced.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from fastapi_async_katas.course.hard import served
from fastapi_async_katas.course.listing import KATAS_DIR, Kata, course_listing, find_course_root, find_kata, load_course
from fastapi_async_katas.course.progress import BACKUPS_DIR, load, unused_path
from fastapi_async_katas.course.shipped import NoShippedVersion, find_shipped

NO_COURSE = "katas: no course found. Run `katas` inside the course's folder (the one with pyproject.toml)."
RESET_WHICH = "katas reset: name the kata to reset, for example `katas reset 01`. The katas are:\n{listing}"
RESET_UNKNOWN = "katas reset: there is no kata {name!r}. The katas are:\n{listing}"
BACKED_UP = "Saved your {app} to {backup}"
BACKUP_FAILED = "katas reset: could not back up your {app} ({error}), so it was not touched."
NOTHING_TO_BACK_UP = "There was no {app} to back up."
SAME_AS_SHIPPED = "(It was the same as the shipped version; the backup is kept all the same.)"
RESTORED = "Restored {app} as shipped ({source})."
RUN_AGAIN = "Run it again: pytest katas/{number}"
NO_SHIPPED = "katas reset: cannot find the shipped {app}: {why}. Your file was not touched."
TESTS_RESTORED = "Restored {tests} as shipped: the kata's tests are the course's, not yours to change."
HARD_WAY = " The hard way: without its TODO comments."


def main(argv: list[str], prog: str = "katas reset") -> int:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Restore a kata's app.py as shipped. Your version is saved under .katas-backups/ first.",
    )
    parser.add_argument("katas", nargs="*", metavar="KATA", help="the kata: 01, 1 or 01_blocking_db")
    parser.add_argument(
        "--from", dest="ref", default=None, metavar="REF",
        help="take the shipped app.py from this git commit or branch (default: the newest version not committed by you)",
    )
    options = parser.parse_args(argv)
    root = find_course_root(Path.cwd())
    if root is None:
        print(NO_COURSE, file=sys.stderr)
        return 1
    course = load_course(root)
    if not options.katas:
        print(RESET_WHICH.format(listing=course_listing(course)), file=sys.stderr)
        return 2
    chosen = []
    for name in options.katas:
        kata = find_kata(course, name)
        if kata is None:
            print(RESET_UNKNOWN.format(name=name, listing=course_listing(course)), file=sys.stderr)
            return 2
        chosen.append(kata)
    status = 0
    for kata in chosen:
        status = max(status, reset_kata(root, kata, options.ref))
    return status


def reset_kata(root: Path, kata: Kata, ref: str | None = None) -> int:
    app = kata.kata_dir(root) / "app.py"
    shown = f"{KATAS_DIR}/{kata.folder}/app.py"
    try:
        shipped = find_shipped(root, f"{KATAS_DIR}/{kata.folder}/app.py", ref)
    except NoShippedVersion as exc:
        print(NO_SHIPPED.format(app=shown, why=exc), file=sys.stderr)
        return 1
    if app.exists():
        current = app.read_bytes()
        try:
            backup = back_up(root, kata, current)
        except OSError as exc:
            print(BACKUP_FAILED.format(app=shown, error=exc), file=sys.stderr)
            return 1
        print(BACKED_UP.format(app=shown, backup=backup.relative_to(root)))
        if current == shipped.text:
            print(SAME_AS_SHIPPED)
    else:
        print(NOTHING_TO_BACK_UP.format(app=shown))
    _replace_app(root, kata, app, shipped.text)
    print(RESTORED.format(app=shown, source=shipped.source) + (HARD_WAY if load(root).hard else ""))
    status = _restore_tests(root, kata, ref)
    try:
        state = load(root)
        state.record_reset(kata.folder)
        state.save()
    except OSError:
        pass
    print(RUN_AGAIN.format(number=kata.number))
    return status


def _replace_app(root: Path, kata: Kata, app: Path, shipped: bytes) -> None:
    replace_file(app, served(kata, "app.py", shipped, load(root).hard))


def _restore_tests(root: Path, kata: Kata, ref: str | None) -> int:
    """Put back the kata's test_kata.py if it was edited or deleted (keeping the edited one)."""
    tests = kata.kata_dir(root) / "test_kata.py"
    shown = f"{KATAS_DIR}/{kata.folder}/test_kata.py"
    try:
        shipped = find_shipped(root, shown, ref).text
    except NoShippedVersion as exc:
        print(NO_SHIPPED.format(app=shown, why=exc), file=sys.stderr)
        return 1
    if tests.exists() and tests.read_bytes() == shipped:
        return 0
    if tests.exists():
        try:
            backup = back_up(root, kata, tests.read_bytes(), stem="test_kata")
        except OSError as exc:
            print(BACKUP_FAILED.format(app=shown, error=exc), file=sys.stderr)
            return 1
        print(BACKED_UP.format(app=shown, backup=backup.relative_to(root)))
    replace_file(tests, shipped)
    print(TESTS_RESTORED.format(tests=shown))
    return 0


def back_up(root: Path, kata: Kata, content: bytes, stem: str = "app") -> Path:
    """Copy the learner's file into a new file under .katas-backups/; never overwrite one."""
    folder = root / BACKUPS_DIR / kata.folder
    folder.mkdir(parents=True, exist_ok=True)
    backup = unused_path(folder, f"{stem}-{datetime.now().strftime('%Y%m%d-%H%M%S')}", ".py")
    with backup.open("wb") as f:
        f.write(content)
        f.flush()
        os.fsync(f.fileno())
    if backup.read_bytes() != content:
        raise OSError(f"the backup {backup} does not match your file; nothing was reset")
    return backup


def replace_file(path: Path, content: bytes) -> None:
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
