"""The course summary printed at the end of a run: one line per kata, and what to do next."""

from __future__ import annotations

from dataclasses import dataclass, field

from plugin.course import Kata

SOLVED_MARK, UNSOLVED_MARK = "✔", "✘"


@dataclass
class KataResult:
    """How one kata's tests went in this run."""

    passed: int = 0
    failed: int = 0
    headlines: list[str] = field(default_factory=list)

    @property
    def solved(self) -> bool:
        return self.failed == 0 and self.passed > 0


def course_lines(course: list[Kata], results: dict[str, KataResult], *, against: str = "") -> list[str]:
    """One line per kata that ran, in course order, then the next step."""
    ran = [k for k in course if k.folder in results]
    if not ran:
        return []
    width = max(len(k.folder) for k in ran)
    suffix = f" (against {against})" if against else ""
    lines = []
    for kata in ran:
        result = results[kata.folder]
        if result.solved:
            status = "solved"
        else:
            total = result.passed + result.failed
            status = f"{result.failed} of {total} test{'s' if total != 1 else ''} failing"
        mark = SOLVED_MARK if result.solved else UNSOLVED_MARK
        lines.append(f"{mark} {kata.folder:<{width}}  {kata.title}  [{status}]")
    solved = sum(results[k.folder].solved for k in ran)
    lines.append("")
    lines.append(f"{solved} of {len(ran)} kata{'s' if len(ran) != 1 else ''} in this run solved{suffix}.")
    unsolved = next((k for k in ran if not results[k.folder].solved), None)
    if unsolved is not None and not against:
        lines.append(
            f"Next: kata {unsolved.number}, {unsolved.title}. Edit katas/{unsolved.folder}/app.py, "
            f"then run: pytest katas/{unsolved.number}   (stuck? add --reveal)"
        )
    return lines
