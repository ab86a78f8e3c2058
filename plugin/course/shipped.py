"""The shipped version of a kata's file: what the course gave the learner, before any edit.

The course keeps a copy of each kata's learner-facing files (`app.py`, `test_kata.py`,
`README.md`) under `.shipped/`, so a downloaded copy with no git finds them too; a self-test
checks that the copies match the katas as they ship. With a git ref, the file comes from git.
Course authors refresh the copies with `python -m fastapi_async_katas.course.shipped`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from fastapi_async_katas.course.listing import KATAS_DIR, find_course_root, load_course

SHIPPED_DIR = ".shipped"
SHIPPED_FILES = ("app.py", "test_kata.py", "README.md")
AS_SHIPPED = "as shipped with the course"
NOT_IN_GIT = "this folder is not a git checkout of the course (download the file again from the course's repository)"


@dataclass(frozen=True)
class Shipped:
    text: bytes
    source: str


class NoShippedVersion(Exception):
    pass


def shipped_copy(root: Path, path: str) -> Path:
    """Where the course keeps its copy of `katas/NN_slug/FILE`."""
    return root / SHIPPED_DIR / Path(path).relative_to(KATAS_DIR)


def find_shipped(root: Path, path: str, ref: str | None = None) -> Shipped:
    """The shipped version of a file: the course's copy under `.shipped/`, or from git.

    With `ref`, the file as it is in that git commit or branch. Without one and without a copy,
    the newest committed version whose author is not the learner (so a learner who committed
    their own work still gets the course's version back); if every version is the learner's own
    (a course author, say), the newest.
    """
    copy = shipped_copy(root, path)
    if ref is None and copy.is_file():
        return Shipped(copy.read_bytes(), AS_SHIPPED)
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


def refresh(root: Path) -> list[Path]:
    """Copy each kata's learner-facing files into `.shipped/` (for course authors)."""
    written = []
    for kata in load_course(root):
        for name in SHIPPED_FILES:
            source = kata.kata_dir(root) / name
            if source.is_file():
                target = root / SHIPPED_DIR / kata.folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
                written.append(target)
    return written


if __name__ == "__main__":
    course_root = find_course_root(Path.cwd())
    if course_root is None:
        sys.exit("no course here: run it in the course's folder")
    print(f"refreshed {len(refresh(course_root))} files under {SHIPPED_DIR}/")
