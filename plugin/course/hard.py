"""The hard way through the course: a kata's app.py with no TODO comments, and its README's
tasks reduced to the goal. The failure output and the hints still carry everything else."""

from __future__ import annotations

import re

from fastapi_async_katas.course.listing import Kata

_TODO = re.compile(r"^(?P<indent>\s*)# TODO\b")
_SECTION = re.compile(r"^## ", re.M)
HARD_TASKS = (
    "## Tasks\n\n"
    "Make `pytest katas/{number}` pass. This is the hard way: no `TODO` marks the place, and the\n"
    "goal above is all the README says. The failure output shows what happened, and\n"
    "`pytest katas/{number} --reveal` still gives hints.\n\n"
)


def harden_app(text: str) -> str:
    """`app.py` without its TODO comments: each `# TODO` line and the comment lines that go on
    with it at the same indentation."""
    kept: list[str] = []
    inside: str | None = None
    for line in text.splitlines(keepends=True):
        todo = _TODO.match(line)
        if todo:
            inside = todo["indent"]
            continue
        if inside is not None and line.startswith(inside + "#") and not line.startswith(inside + "##"):
            continue
        inside = None
        kept.append(line)
    return "".join(kept)


def harden_readme(text: str, number: str) -> str:
    """The README with its tasks reduced to the goal, and without what the kata teaches."""
    parts = _SECTION.split(text)
    head, sections = parts[0], ["## " + part for part in parts[1:]]
    out = [head]
    for section in sections:
        title = section.splitlines()[0].strip().lower()
        if title == "## tasks":
            out.append(HARD_TASKS.format(number=number))
        elif title != "## what you learn":
            out.append(section)
    return "".join(out).rstrip("\n") + "\n"


def served(kata: Kata, name: str, shipped: bytes, hard: bool) -> bytes:
    """A kata's file as the course serves it: as shipped, or the hard way."""
    if not hard:
        return shipped
    text = shipped.decode("utf-8")
    return (harden_app(text) if name == "app.py" else harden_readme(text, kata.number)).encode("utf-8")
