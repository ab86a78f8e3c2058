"""`katas` / `katas list`: the course with your progress. `katas reset NN`: the shipped app.py back.

Reset never loses work: the learner's app.py is first copied to a new file under
`.katas-backups/` (never overwriting an earlier one), and only then replaced.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from plugin.course import KATAS_DIR, CourseError, Kata, course_listing, find_kata, load_course
from plugin.hints import read_hints
from plugin.progress import BACKUPS_DIR, SOLVED, ProgressFile, load, unused_path
from plugin.summary import SOLVED_MARK, UNSOLVED_MARK, progress_lines

NOT_STARTED_MARK, RESET_MARK, NEXT_POINTER = "·", "↺", "→"
LIST_TITLE = "FastAPI Async Katas: your progress"
LIST_FOOTER = "Progress is kept in {state}. `katas reset NN` restores a kata's app.py (yours is backed up first)."
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
NOT_IN_GIT = "this folder is not a git checkout of the course (download the file again from the course's repository)"


def main(argv: list[str], prog: str = "katas") -> int:
    command, args = (argv[0], argv[1:]) if argv else ("list", [])
    if command == "reset":
        return reset_command(args, prog)
    return list_command(args, prog)


# -- katas list ----------------------------------------------------------------------------


def list_command(args: list[str], prog: str) -> int:
    argparse.ArgumentParser(prog=prog, description="Show the course with your progress, and the next step.").parse_args(args)
    root = find_root(Path.cwd())
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


def find_root(start: Path) -> Path | None:
    """The course's folder: the nearest one upward with a course list, else this package's own."""
    for folder in (start, *start.parents, Path(__file__).resolve().parent.parent):
        try:
            if load_course(folder):
                return folder
        except CourseError:
            continue
    return None


# -- katas reset ---------------------------------------------------------------------------


def reset_command(args: list[str], prog: str) -> int:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Restore a kata's app.py as shipped. Your version is saved under .katas-backups/ first.",
    )
    parser.add_argument("katas", nargs="*", metavar="KATA", help="the kata: 01, 1 or 01_blocking_db")
    parser.add_argument(
        "--from", dest="ref", default=None, metavar="REF",
        help="take the shipped app.py from this git commit or branch (default: the newest version not committed by you)",
    )
    options = parser.parse_args(args)
    root = find_root(Path.cwd())
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


@dataclass(frozen=True)
class Shipped:
    text: bytes
    source: str


class NoShippedVersion(Exception):
    pass


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
    _replace(app, shipped.text)
    print(RESTORED.format(app=shown, source=shipped.source))
    try:
        state = load(root)
        state.record_reset(kata.folder)
        state.save()
    except OSError:
        pass
    print(RUN_AGAIN.format(number=kata.number))
    return 0


def back_up(root: Path, kata: Kata, content: bytes) -> Path:
    """Copy the learner's app.py into a new file under .katas-backups/; never overwrite one."""
    folder = root / BACKUPS_DIR / kata.folder
    folder.mkdir(parents=True, exist_ok=True)
    backup = unused_path(folder, f"app-{datetime.now().strftime('%Y%m%d-%H%M%S')}", ".py")
    with backup.open("wb") as f:
        f.write(content)
        f.flush()
        os.fsync(f.fileno())
    if backup.read_bytes() != content:
        raise OSError(f"the backup {backup} does not match your file; nothing was reset")
    return backup


def find_shipped(root: Path, path: str, ref: str | None = None) -> Shipped:
    """The shipped version of a file, from git.

    With `ref`, the file as it is there. Otherwise the newest committed version whose author is
    not the learner (so a learner who committed their own work still gets the course's
    version back); if every version is the learner's own (a course author, say), the newest.
    """
    try:
        top = Path(_git(root, "rev-parse", "--show-toplevel").decode().strip())
    except NoShippedVersion:
        raise NoShippedVersion(NOT_IN_GIT) from None
    in_repo = (root.resolve() / path).relative_to(top.resolve()).as_posix()
    if ref is not None:
        return Shipped(_git(root, "show", f"{ref}:{in_repo}"), f"from {ref}")
    me = _author_email(root)
    log = _git(root, "log", "--format=%H%x09%h%x09%ae%x09%an%x09%ad", "--date=short", "HEAD", "--", in_repo).decode()
    commits = [line.split("\t") for line in log.splitlines() if line.strip()]
    if not commits:
        raise NoShippedVersion(f"git has no committed version of {in_repo}")
    others = [c for c in commits if c[2] != me]
    for full, short, _, name, date in others or commits:
        try:
            text = _git(root, "show", f"{full}:{in_repo}")
        except NoShippedVersion:
            continue  # this commit deleted the file
        return Shipped(text, f"commit {short} of {date} by {name}")
    raise NoShippedVersion(f"every committed version of {in_repo} was deleted")


def _author_email(root: Path) -> str | None:
    try:
        ident = _git(root, "var", "GIT_AUTHOR_IDENT").decode()
    except NoShippedVersion:
        return None
    start, end = ident.find("<"), ident.find(">")
    return ident[start + 1 : end] if 0 <= start < end else None


def _git(root: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NoShippedVersion(f"git could not be run ({exc})") from None
    if done.returncode != 0:
        raise NoShippedVersion(done.stderr.decode(errors="replace").strip() or f"git {args[0]} failed")
    return done.stdout


def _replace(path: Path, content: bytes) -> None:
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
