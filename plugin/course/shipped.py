"""The shipped version of a kata's file: what the course gave the learner, before any edit."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

NOT_IN_GIT = "this folder is not a git checkout of the course (download the file again from the course's repository)"


@dataclass(frozen=True)
class Shipped:
    text: bytes
    source: str


class NoShippedVersion(Exception):
    pass


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
