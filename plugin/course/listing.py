"""The course: which katas there are, in what order, and how a command-line argument names one."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

KATAS_DIR = "katas"
SOLUTIONS_DIR = "solutions"
_SHORT_ARG = re.compile(r"^(?P<prefix>(?:.*/)?katas/)(?P<number>\d{1,2})(?P<rest>(?:/.*|::.*)?)$")


class CourseError(Exception):
    """The course list is missing or malformed, or an argument names no kata."""


@dataclass(frozen=True)
class Kata:
    """One entry of the course list."""

    folder: str
    title: str

    @property
    def number(self) -> str:
        return self.folder.split("_", 1)[0]

    @property
    def slug(self) -> str:
        return self.folder.split("_", 1)[1] if "_" in self.folder else self.folder

    def kata_dir(self, root: Path) -> Path:
        return root / KATAS_DIR / self.folder

    def solution_dir(self, root: Path) -> Path:
        return root / SOLUTIONS_DIR / self.folder


# The course lists read, by file and version: a run reads its course several times, and the
# contract check starts hundreds of runs in one process.
_READ: dict[tuple[str, int, int], tuple[Kata, ...]] = {}


def load_course(root: Path) -> list[Kata]:
    """Read `[[tool.katas.course]]` from the project's pyproject.toml."""
    pyproject = root / "pyproject.toml"
    try:
        stat = pyproject.stat()
        key = (str(pyproject.resolve()), stat.st_mtime_ns, stat.st_size)
        if key in _READ:
            return list(_READ[key])
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CourseError(f"cannot read the course list from {pyproject}: {exc}") from exc
    entries = data.get("tool", {}).get("katas", {}).get("course", [])
    course = []
    for i, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or "folder" not in entry or "title" not in entry:
            raise CourseError(f"{pyproject}: course entry {i} needs both 'folder' and 'title'")
        course.append(Kata(str(entry["folder"]), str(entry["title"])))
    _READ[key] = tuple(course)
    return course


def has_course(root: Path) -> bool:
    """Whether `root` holds a course: its pyproject.toml lists at least one kata."""
    try:
        return bool(load_course(root))
    except CourseError:
        return False


def find_kata(course: list[Kata], name: str) -> Kata | None:
    """The kata that `name` means: `01`, `1`, or the full folder name `01_blocking_db`."""
    for kata in course:
        if name in (kata.folder, kata.number) or (name.isdigit() and int(name) == int(kata.number)):
            return kata
    return None


def kata_of_path(course: list[Kata], root: Path, path: Path) -> Kata | None:
    """The kata whose folder (under katas/) holds `path`."""
    try:
        parts = path.resolve().relative_to((root / KATAS_DIR).resolve()).parts
    except ValueError:
        return None
    return find_kata(course, parts[0]) if parts else None


def expand_argument(arg: str, course: list[Kata], root: Path) -> str:
    """Turn `katas/01` (and `katas/01/test_kata.py::test_x`) into the kata's real folder.

    Arguments that already exist, or do not look like `katas/NN`, are returned unchanged.
    An `NN` that matches no kata raises `CourseError` listing the katas there are.
    """
    match = _SHORT_ARG.match(arg.rstrip("/") if "::" not in arg else arg)
    if not match or (root / arg.split("::")[0]).exists() or Path(arg.split("::")[0]).exists():
        return arg
    kata = find_kata(course, match["number"])
    if kata is None:
        raise CourseError(f"there is no kata {match['number']!r}. The katas are:\n{course_listing(course)}")
    return f"{match['prefix']}{kata.folder}{match['rest'] or ''}"


def course_listing(course: list[Kata]) -> str:
    return "\n".join(f"  {k.number}  {k.folder:<28} {k.title}" for k in course)


def find_course_root(start: Path) -> Path | None:
    """The course's folder: the nearest one upward with a course list, else this package's own."""
    for folder in (start, *start.parents, Path(__file__).resolve().parent.parent.parent):
        try:
            if load_course(folder):
                return folder
        except CourseError:
            continue
    return None
