"""The course summary printed at the end of a run: one line per kata, and what to do next."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi_async_katas.course.listing import Kata
from fastapi_async_katas.course.progress import ProgressFile

SOLVED_MARK, UNSOLVED_MARK = "✔", "✘"
COURSE_PROGRESS = "{solved} of {total} katas solved."
NEXT_STEP = "Next: kata {number}, {title}. Edit katas/{folder}/app.py, then run: pytest katas/{number}   (stuck? add --reveal)"
NEXT_NEW = "Next: kata {number}, {title}. Read katas/{folder}/README.md, then run: pytest katas/{number}"
PASSED_BUT = "    Passed, but {why}"
BETTER = "    Better: {better}"
ALL_SOLVED = "Every kata is solved. Well done! `katas bench 01` shows, in numbers, why the fixes matter."


@dataclass
class KataResult:
    """How one kata's tests went in this run."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    headlines: list[str] = field(default_factory=list)
    # "Passed, but…": why the fix that passed is the lesser one, and what the better one is.
    lesser: list[tuple[str, str]] = field(default_factory=list)

    @property
    def solved(self) -> bool:
        return self.failed == 0 and self.passed > 0


def course_lines(
    course: list[Kata],
    results: dict[str, KataResult],
    *,
    against: str = "",
    progress: ProgressFile | None = None,
) -> list[str]:
    """One line per kata that ran, in course order, then the next step.

    With `progress` (a run against the learner's own files) the totals are the whole
    course's, as recorded in the progress file; otherwise they are this run's.
    """
    ran = [k for k in course if k.folder in results]
    if not ran:
        return []
    width = max(len(k.folder) for k in ran)
    lines = []
    for kata in ran:
        result = results[kata.folder]
        if result.solved:
            status = "solved"
        elif result.failed == 0:
            status = "no test ran" if result.skipped == 0 else "every test skipped"
        else:
            total = result.passed + result.failed
            status = f"{result.failed} of {total} test{'s' if total != 1 else ''} failing"
        mark = SOLVED_MARK if result.solved else UNSOLVED_MARK
        lines.append(f"{mark} {kata.folder:<{width}}  {kata.title}  [{status}]")
        if result.solved:
            for why, better in dict.fromkeys(result.lesser):
                lines += [PASSED_BUT.format(why=why), BETTER.format(better=better)]
    lines.append("")
    if progress is not None:
        return lines + progress_lines(course, progress, results)
    solved = sum(results[k.folder].solved for k in ran)
    suffix = f" (against {against})" if against else ""
    lines.append(f"{solved} of {len(ran)} kata{'s' if len(ran) != 1 else ''} in this run solved{suffix}.")
    unsolved = next((k for k in ran if not results[k.folder].solved), None)
    if unsolved is not None and not against:
        lines.append(next_step_line(unsolved, progress=None))
    return lines


def progress_lines(course: list[Kata], progress: ProgressFile, results: dict[str, KataResult] | None = None) -> list[str]:
    """"N of M katas solved.", then the next kata and its title (or the end of the course)."""
    solved = sum(progress.kata(k.folder).solved for k in course if k.folder in progress.katas)
    lines = [COURSE_PROGRESS.format(solved=solved, total=len(course))]
    upcoming = next_kata(course, progress, results or {})
    lines.append(next_step_line(upcoming, progress) if upcoming else ALL_SOLVED)
    return lines


def next_kata(course: list[Kata], progress: ProgressFile, results: dict[str, KataResult]) -> Kata | None:
    """The kata to work on: the first one failing in this run, or else the first unsolved one."""
    failing = next((k for k in course if k.folder in results and not results[k.folder].solved), None)
    if failing is not None:
        return failing
    return next((k for k in course if not (k.folder in progress.katas and progress.katas[k.folder].solved)), None)


def next_step_line(kata: Kata, progress: ProgressFile | None) -> str:
    """What to do next on `kata`: start it, or keep at it."""
    fields = {"number": kata.number, "title": kata.title, "folder": kata.folder}
    started = progress is None or (kata.folder in progress.katas and progress.katas[kata.folder].status is not None)
    return (NEXT_STEP if started else NEXT_NEW).format(**fields)
