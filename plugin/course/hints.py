"""Hints: read a kata's hints file, decide which levels a `--reveal` value asks for, and show
the reference solution as a diff once the learner has earned it."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from fastapi_async_katas.course.listing import Kata
from fastapi_async_katas.course.progress import KataProgress, ProgressFile

HINTS_FILE = "hints.md"
NEXT, ALL, SOLUTION = "next", "all", "solution"
_HEADING = re.compile(r"^##\s+Hint\s+(\d+)\s*(?::\s*(.*))?$", re.MULTILINE)

MORE_HINTS = "Next hint: run again with --reveal (hint {next} of {total}), or --reveal=all for every hint."
LAST_HINT = "That was the last hint. Still stuck? --reveal=solution shows the reference solution as a diff from your app.py."
NONE_NEEDED = "Every kata in this run is solved: no hints needed."
ALL_SEEN = "You have seen every hint for this kata; here is the last one again."
SOLUTION_REFUSED = (
    "{label}: the reference solution stays hidden until the kata passes or you have seen every hint "
    "({seen} of {total} seen so far)."
)
SOLUTION_TRY_FIRST = "Try the next hint first: pytest katas/{number} --reveal"
SOLUTION_HEADER = "{label} · the reference solution, as a diff from your app.py:"
SOLUTION_SAME = "{label}: your app.py is the same as the reference solution."
SOLUTION_MISSING = "{label}: there is no reference solution at {path}."


class RevealError(ValueError):
    """A `--reveal` value that is not one of the valid ones."""


@dataclass(frozen=True)
class Hint:
    level: int
    title: str
    text: str


@dataclass(frozen=True)
class Reveal:
    """What `--reveal` asked for: the next hint, one level, every hint, or the solution diff."""

    kind: str
    level: int | None = None

    def levels(self, available: int, next_level: int = 1) -> list[int]:
        if self.kind == ALL:
            return list(range(1, available + 1))
        if self.kind == NEXT:
            return [min(next_level, available)] if available else []
        if self.kind == "level" and self.level is not None:
            return [min(self.level, available)] if available else []
        return []


def valid_values(max_level: int) -> str:
    levels = ", ".join(str(i) for i in range(1, max_level + 1))
    return f"{levels}, {ALL}, {SOLUTION} (or --reveal alone for the next hint)"


def parse_reveal(value: str, max_level: int) -> Reveal:
    """Turn the text after `--reveal=` into a `Reveal`, or raise `RevealError`."""
    text = value.strip().lower()
    if text in (NEXT, ""):
        return Reveal(NEXT)
    if text in (ALL, SOLUTION):
        return Reveal(text)
    if text.isdigit() and 1 <= int(text) <= max_level:
        return Reveal("level", int(text))
    raise RevealError(f"--reveal={value!r} is not a valid value. Valid values: {valid_values(max_level)}")


def read_hints(kata_dir: Path) -> list[Hint]:
    """The hints in `kata_dir/hints.md`, in level order. Missing file: no hints."""
    path = kata_dir / HINTS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    matches = list(_HEADING.finditer(text))
    hints = []
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        body = text[match.end() : end].strip()
        hints.append(Hint(int(match.group(1)), (match.group(2) or "").strip(), body))
    return sorted(hints, key=lambda h: h.level)


def hint_lines(kata_label: str, hints: list[Hint], levels: list[int], *, unseen: int | None = None) -> list[str]:
    """The lines that show the chosen hint levels of one kata.

    `unseen` is the lowest level still unrevealed after these, which a bare `--reveal` shows next.
    """
    if not hints:
        return [f"{kata_label}: this kata has no hints."]
    lines = []
    for level in levels:
        hint = next(h for h in hints if h.level == level)
        title = f": {hint.title}" if hint.title else ""
        lines.append(f"{kata_label} · hint {level} of {len(hints)}{title}")
        lines += ["    " + line if line else "" for line in hint.text.splitlines()]
        lines.append("")
    if unseen is not None and unseen <= len(hints):
        lines.append(MORE_HINTS.format(next=unseen, total=len(hints)))
    elif unseen is None and levels and max(levels) < len(hints):
        lines.append(MORE_HINTS.format(next=max(levels) + 1, total=len(hints)))
    elif levels:
        lines.append(LAST_HINT)
    return lines


def solution_allowed(passed: bool, revealed: list[int], available: int) -> bool:
    """The solution may be shown once the kata has passed, or once every hint has been seen."""
    return passed or set(range(1, available + 1)) <= set(revealed)


def refused_lines(kata_label: str, number: str, revealed: list[int], available: int) -> list[str]:
    seen = len(set(revealed) & set(range(1, available + 1)))
    return [SOLUTION_REFUSED.format(label=kata_label, seen=seen, total=available), SOLUTION_TRY_FIRST.format(number=number)]


def solution_diff_lines(kata_label: str, yours: Path, solution: Path, *, yours_name: str, solution_name: str) -> list[str]:
    """A unified diff from the learner's app.py to the reference solution."""
    try:
        after = solution.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return [SOLUTION_MISSING.format(label=kata_label, path=solution_name)]
    try:
        before = yours.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        before = []
    diff = list(difflib.unified_diff(before, after, f"{yours_name} (yours)", f"{solution_name} (reference solution)", lineterm=""))
    if not diff:
        return [SOLUTION_SAME.format(label=kata_label)]
    return [SOLUTION_HEADER.format(label=kata_label), *diff]


def reveal_lines(katas: Iterable[Kata], root: Path, reveal: Reveal, state: ProgressFile) -> tuple[list[str], dict[str, list[int]]]:
    """What `--reveal` shows for each kata, and the hint levels that reveals (to remember them).

    A bare `--reveal` shows the lowest level not yet revealed; `solution` shows the diff only
    once the kata has passed or every hint has been revealed.
    """
    lines: list[str] = []
    revealed: dict[str, list[int]] = {}
    for kata in katas:
        if lines:
            lines.append("")
        available = read_hints(kata.kata_dir(root))
        entry = state.katas.get(kata.folder, KataProgress())
        label = f"Kata {kata.number} ({kata.slug})"
        if reveal.kind == SOLUTION:
            lines += _solution_lines(kata, root, label, entry, len(available))
            continue
        every_level = set(range(1, len(available) + 1))
        levels = reveal.levels(len(available), state.next_hint_level(kata.folder, len(available)))
        unseen = min(every_level - set(entry.revealed) - set(levels), default=len(available) + 1)
        if reveal.kind == NEXT and available and every_level <= set(entry.revealed):
            lines.append(ALL_SEEN)
        lines += hint_lines(label, available, levels, unseen=unseen)
        revealed[kata.folder] = levels
    return lines, revealed


def _solution_lines(kata: Kata, root: Path, label: str, entry: KataProgress, available: int) -> list[str]:
    if not solution_allowed(entry.ever_solved, entry.revealed, available):
        return refused_lines(label, kata.number, entry.revealed, available)
    yours = kata.kata_dir(root) / "app.py"
    solution = kata.solution_dir(root) / "app.py"
    return solution_diff_lines(label, yours, solution, yours_name=_relative(yours, root), solution_name=_relative(solution, root))


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
