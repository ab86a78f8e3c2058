"""Decide which source files are the user's own, so that blame never lands in a library."""

from __future__ import annotations

import linecache
import os
import sys
import sysconfig
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

_PLUGIN_DIR = str(Path(__file__).resolve().parent.parent) + os.sep


def _library_prefixes() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    roots.update(p for p in sys.path if "site-packages" in p or "dist-packages" in p)
    return tuple(str(Path(r).resolve()) + os.sep for r in roots if r)


_LIBRARY_PREFIXES = _library_prefixes()


@dataclass(frozen=True)
class UserFiles:
    """The files whose lines may be blamed.

    With `roots`, only files under those folders count (a kata's folder, say). Without, any
    file counts that is not in the standard library, site-packages or this plugin.
    """

    roots: tuple[str, ...] = ()

    @classmethod
    def under(cls, folders: Iterable[str | os.PathLike[str]]) -> "UserFiles":
        return cls(tuple(str(Path(f).resolve()) + os.sep for f in folders))

    def __contains__(self, filename: str) -> bool:
        if not filename or filename.startswith("<"):
            return False
        path = os.path.abspath(filename)
        if path.startswith(_PLUGIN_DIR):
            return False
        if self.roots:
            return path.startswith(self.roots)
        return not path.startswith(_LIBRARY_PREFIXES)

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
        return cls(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)


def display_path(filename: str, relative_to: str | os.PathLike[str] | None = None) -> str:
    """A path as short as is still clear: relative to the given folder or the working directory."""
    base = Path(relative_to) if relative_to else Path.cwd()
    try:
        return str(Path(filename).resolve().relative_to(base.resolve()))
    except ValueError:
        return filename
