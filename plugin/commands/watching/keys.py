"""Keys for watch mode: single keypresses on a terminal, typed lines otherwise.

On a terminal, cbreak mode delivers each key without Enter and without echo, and leaves Ctrl-C
working. `cbreak()` always puts the terminal back, whether watch mode ends by `q`, Ctrl-C or an error.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO

try:
    import termios
    import tty
except ImportError:  # Windows: keys arrive as typed lines
    termios = None  # type: ignore[assignment]

HINT, NEXT, RERUN, QUIT = "hint", "next", "rerun", "quit"
KEYS = {"h": HINT, "n": NEXT, "r": RERUN, "q": QUIT, "\x04": QUIT}


@dataclass(frozen=True)
class Key:
    action: str


@dataclass(frozen=True)
class KeysClosed:
    """Standard input ended: no more keys will come."""


def action_of(text: str) -> str | None:
    """The action a keypress or a typed line asks for, if any."""
    stripped = text.strip(" \t\r\n")
    return KEYS.get(stripped[:1].lower()) if stripped else None


@contextmanager
def cbreak(stream: TextIO) -> Iterator[bool]:
    """Switch a terminal to single keypresses for the duration; yield whether it did."""
    if termios is None or not _isatty(stream):
        yield False
        return
    fd = stream.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    try:
        yield True
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def start_reading(stream: TextIO, emit: Callable[[Any], None], *, single: bool) -> None:
    """Read keys in a background thread and pass each `Key` (then `KeysClosed`) to `emit`."""

    def read() -> None:
        try:
            if single:
                fd = stream.fileno()
                while chunk := os.read(fd, 32):
                    for char in chunk.decode(errors="ignore"):
                        if action := action_of(char):
                            emit(Key(action))
            else:
                for line in stream:
                    if action := action_of(line):
                        emit(Key(action))
        except (OSError, ValueError):
            pass
        emit(KeysClosed())

    threading.Thread(target=read, name="katas-watch-keys", daemon=True).start()


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
