"""Decide which source files are the user's own, so that blame never lands in a library."""

from __future__ import annotations

import functools
import linecache
import os
import sys
import sysconfig
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType, FrameType

_PLUGIN_DIR = str(Path(__file__).resolve().parent.parent) + os.sep
_LIBRARY_FOLDERS = ("site-packages", "dist-packages")
COMPREHENSIONS = ("<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>")


def _library_prefixes() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    roots.update(p for p in sys.path if "site-packages" in p or "dist-packages" in p)
    roots.discard("")
    # Both spellings: a stdlib reached through a symlink must still count as the stdlib.
    return tuple({os.path.abspath(r) + os.sep for r in roots} | {os.path.realpath(r) + os.sep for r in roots})


_LIBRARY_PREFIXES = _library_prefixes()


@functools.lru_cache(maxsize=4096)
def _is_user_file(roots: tuple[str, ...], filename: str) -> bool:
    """Whether blame may land in `filename` (cached: the sampler asks for every frame)."""
    if not filename or filename.startswith("<"):
        return False
    path = os.path.realpath(filename)
    if path.startswith(_PLUGIN_DIR):
        return False
    if roots:
        root = next((r for r in roots if path.startswith(r)), None)
        # A virtualenv inside the project is still a library.
        return root is not None and not _in_library_folder(path[len(root):])
    if path.startswith(_LIBRARY_PREFIXES) or os.path.abspath(filename).startswith(_LIBRARY_PREFIXES):
        return False
    return not _in_library_folder(path)


def is_plugin_file(filename: str) -> bool:
    """Whether `filename` is one of this plugin's own modules."""
    return os.path.realpath(filename).startswith(_PLUGIN_DIR)


def _in_library_folder(path: str) -> bool:
    return any(part in _LIBRARY_FOLDERS for part in Path(path).parts)


@dataclass(frozen=True)
class UserFiles:
    """The files whose lines may be blamed.

    With `roots`, only files under those folders count (a kata's folder, say). Without, any
    file counts that is not in the standard library, site-packages or this plugin.
    """

    roots: tuple[str, ...] = ()
    # Each file name asked about, with the answer: asked for every frame of every sample and of
    # every suspended task's chain, mostly of the same few library files.
    _known: dict[str, bool] = field(default_factory=dict, init=False, compare=False, repr=False)

    @classmethod
    def under(cls, folders: Iterable[str | os.PathLike[str]]) -> "UserFiles":
        return cls(tuple(str(Path(f).resolve()) + os.sep for f in folders))

    def __contains__(self, filename: str) -> bool:
        known = self._known.get(filename)
        if known is None:
            known = self._known[filename] = _is_user_file(self.roots, filename)
        return known

    def innermost(self, frame: FrameType | None) -> FrameType | None:
        """The innermost frame of this stack that is in a user file."""
        while frame is not None:
            if frame.f_code.co_filename in self:
                return frame
            frame = frame.f_back
        return None


@dataclass(frozen=True)
class Place:
    """A line in a user's file."""

    file: str
    line: int
    function: str

    @property
    def code(self) -> str:
        return linecache.getline(self.file, self.line).strip()

    def short(self, relative_to: str | os.PathLike[str] | None = None) -> str:
        return f"{display_path(self.file, relative_to)}:{self.line}"

    @classmethod
    def of(cls, frame: FrameType) -> "Place":
        return cls.at(frame.f_code, frame.f_lasti)

    @classmethod
    def at(cls, code: CodeType, lasti: int) -> "Place":
        """The line of `code` whose instruction at offset `lasti` is running."""
        return cls(_absolute(code.co_filename), line_at(code, lasti), function_name(code))


def line_at(code: CodeType, lasti: int) -> int:
    """The line of the instruction at `lasti`. An instruction the compiler gave no line (the
    jump back at the end of some loops) belongs to the line before it."""
    line = code.co_firstlineno
    for start, _, number in code.co_lines():
        if start > lasti:
            break
        if number is not None:
            line = number
    return line


def function_name(code: CodeType) -> str:
    """The function a code object belongs to; a comprehension counts as its enclosing function."""
    name = code.co_name
    if name in COMPREHENSIONS:
        outer = code.co_qualname.rsplit(".<locals>.", 1)[0]
        if outer != code.co_qualname:
            return outer.rsplit(".", 1)[-1]
    return name


@functools.lru_cache(maxsize=4096)
def _absolute(filename: str) -> str:
    return filename if filename.startswith("<") else os.path.abspath(filename)


def display_path(filename: str, relative_to: str | os.PathLike[str] | None = None) -> str:
    """A path as short as is still clear: relative to the given folder or the working directory."""
    base = Path(relative_to) if relative_to else Path.cwd()
    try:
        return str(Path(filename).resolve().relative_to(base.resolve()))
    except ValueError:
        return filename
