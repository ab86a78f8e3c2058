"""What watch mode prints: plain functions from the situation to the lines, kept apart from the loop."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fastapi_async_katas.course.listing import KATAS_DIR, Kata

CLEAR = "\033[H\033[2J"
RULE = "─" * 72
KEYS_SINGLE = "Keys: h hint · n next kata · r re-run · q quit"
KEYS_LINES = "Keys: type h (hint), n (next kata), r (re-run) or q (quit), then Enter"
SOLVED_TEXT = "✔ Kata {number} ({slug}) is solved!"
NOT_SOLVED_TEXT = "✘ Kata {number} ({slug}) is not solved yet."
ERROR_TEXT = "✘ The tests of kata {number} ({slug}) could not run (pytest exit code {code}): see the output above."
EDIT_TEXT = "Edit {path} and save it: the tests run again by themselves."
MISSING_TEXT = "✘ Kata {number} ({slug}) has no folder {path}/ yet. Press n for the next kata."
MOVING_ON_TEXT = "On to kata {number}: {title}."
ALL_SOLVED_TEXT = "🎉 Every kata in the course is solved. Well done!"
NO_OTHER_TEXT = "Every other kata is solved: staying on kata {number}."
SAVED_TEXT = "{names} saved: running the tests again."
STOPPED_TEXT = "Stopped watching."

_GREEN, _RED, _BOLD, _RESET = "\033[32m", "\033[31m", "\033[1m", "\033[0m"


def command(kata: Kata, extra: Sequence[str] = ()) -> list[str]:
    """The pytest arguments for one run of a kata."""
    return [f"{KATAS_DIR}/{kata.folder}", *extra]


def header_lines(kata: Kata, course: list[Kata], solved: Mapping[str, bool], args: list[str], news: list[str]) -> list[str]:
    """The top of a run: news since the last run, which kata this is, and the command."""
    count = sum(solved.get(k.folder, False) for k in course)
    position = course.index(kata) + 1
    return [
        *news,
        f"katas watch · kata {kata.number} ({position} of {len(course)}, {count} solved): {kata.title}",
        f"$ pytest {' '.join(args)}",
        "",
    ]


def verdict_lines(kata: Kata, code: int, *, missing: bool = False) -> list[str]:
    """What a finished run means for the learner. Exit code 1 is failing tests; other codes mean no verdict."""
    names = {"number": kata.number, "slug": kata.slug}
    if code == 0:
        return [SOLVED_TEXT.format(**names)]
    if missing:
        return [MISSING_TEXT.format(path=f"{KATAS_DIR}/{kata.folder}", **names)]
    path = f"{KATAS_DIR}/{kata.folder}/app.py"
    first = NOT_SOLVED_TEXT.format(**names) if code == 1 else ERROR_TEXT.format(code=code, **names)
    return [first, EDIT_TEXT.format(path=path)]


def moving_on_lines(solved_kata: Kata, next_kata: Kata | None) -> list[str]:
    """The news when a kata passes: on to the next kata, or the end of the course."""
    lines = verdict_lines(solved_kata, 0)
    if next_kata is None:
        return [*lines, ALL_SOLVED_TEXT]
    return [*lines, MOVING_ON_TEXT.format(number=next_kata.number, title=next_kata.title), ""]


def status_lines(mode: str, keys: str | None) -> list[str]:
    """The footer under a finished run: how saves are noticed, and the keys."""
    return [mode, *([keys] if keys else [])]


def saved_lines(paths: set[str]) -> list[str]:
    """The news that files were saved, naming them; nothing when none were."""
    return [SAVED_TEXT.format(names=", ".join(sorted(paths)))] if paths else []


def paint(line: str, color: bool) -> str:
    """The line with a colour that matches its meaning, if colour is on."""
    if not color:
        return line
    if line.startswith(("✔", "🎉")):
        return f"{_GREEN}{_BOLD}{line}{_RESET}"
    if line.startswith("✘"):
        return f"{_RED}{_BOLD}{line}{_RESET}"
    if line.startswith("katas watch"):
        return f"{_BOLD}{line}{_RESET}"
    return line
