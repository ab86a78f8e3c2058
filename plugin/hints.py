"""Hints: read a kata's hints file, and decide which levels a `--reveal` value asks for."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

HINTS_FILE = "hints.md"
NEXT, ALL, SOLUTION = "next", "all", "solution"
_HEADING = re.compile(r"^##\s+Hint\s+(\d+)\s*(?::\s*(.*))?$", re.MULTILINE)


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


def hint_lines(kata_label: str, hints: list[Hint], levels: list[int]) -> list[str]:
    """The lines that show the chosen hint levels of one kata."""
    if not hints:
        return [f"{kata_label}: this kata has no hints."]
    lines = []
    for level in levels:
        hint = next(h for h in hints if h.level == level)
        title = f": {hint.title}" if hint.title else ""
        lines.append(f"{kata_label} · hint {level} of {len(hints)}{title}")
        lines += ["    " + line if line else "" for line in hint.text.splitlines()]
        lines.append("")
    if levels and max(levels) < len(hints):
        lines.append(f"More: --reveal={max(levels) + 1} (or --reveal=all).")
    return lines
