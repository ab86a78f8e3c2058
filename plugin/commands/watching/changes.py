"""Which file changes count as a save, and a background watcher that reports them.

The watcher uses watchfiles: file events where the system has them, polling where asked or
where events are not available. It never raises into the watch loop; it reports instead.
"""

from __future__ import annotations

import platform
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

POLL_DELAY_MS = 300
IGNORED_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", ".git", ".idea", ".vscode"})
# Editor and Python litter: hidden and lock files (.app.py.swp, .#app.py), backups (app.py~),
# vim's write test file (4913), emacs autosaves (#app.py#), JetBrains safe-write copies, bytecode.
_LITTER = re.compile(r"^(\..*|#.*#|4913|.*~|.*\.(sw[a-p]|tmp|bak|orig|py[cod])|.*___jb_\w+___)$")
_FALSE = {"", "0", "false", "no", "off", "disable", "disabled"}


def is_relevant(path: Path, folder: Path) -> bool:
    """Whether a change to `path` is a save of one of the files in `folder` (and not litter)."""
    try:
        parts = path.relative_to(folder).parts
    except ValueError:
        return False
    if not parts or any(part in IGNORED_DIRS for part in parts) or any(part.startswith(".") for part in parts[:-1]):
        return False
    return not _LITTER.match(parts[-1])


def polling_reason(poll_flag: bool, environ: Mapping[str, str], uname_release: str | None = None) -> str | None:
    """Why watch mode should poll instead of using file events, or None to use file events.

    In order: `--poll`; the KATAS_WATCH_POLL variable; watchfiles' own WATCHFILES_FORCE_POLLING;
    WSL, where file events from Windows drives never arrive (watchfiles' own rule).
    """
    if poll_flag:
        return "--poll was given"
    if environ.get("KATAS_WATCH_POLL", "").strip().lower() not in _FALSE:
        return "KATAS_WATCH_POLL is set"
    if environ.get("WATCHFILES_FORCE_POLLING", "").strip().lower() not in _FALSE:
        return "WATCHFILES_FORCE_POLLING is set"
    release = platform.uname().release if uname_release is None else uname_release
    if "microsoft-standard" in release.lower():
        return "this is WSL, where file events from Windows drives do not arrive"
    return None


@dataclass
class Debounce:
    """Turns a burst of file events (one save can make several) into one run.

    `note()` each relevant event; `due()` is true once, when no event came for `quiet` seconds.
    """

    quiet: float = 0.1
    _last: float | None = None

    def note(self, now: float) -> None:
        self._last = now

    @property
    def pending(self) -> bool:
        return self._last is not None

    def cancel(self) -> None:
        self._last = None

    def due(self, now: float) -> bool:
        if self._last is None or now - self._last < self.quiet:
            return False
        self._last = None
        return True


@dataclass(frozen=True)
class Changed:
    """Files changed under the watched folder (any of them; the loop decides which count)."""

    paths: frozenset[Path]


@dataclass(frozen=True)
class WatchNotice:
    """The watcher changed how it works, or stopped working; `mode` is its new description."""

    text: str
    mode: str


def describe_mode(polling_because: str | None) -> str:
    if polling_because is None:
        return "Watching for saves (file events)."
    return f"Polling for saves every {POLL_DELAY_MS / 1000:g} s: {polling_because}."


class FileWatch:
    """Watches `folder` in a background thread and passes `Changed` and `WatchNotice` to `emit`."""

    def __init__(self, folder: Path, emit: Callable[[Any], None], *, polling_because: str | None, watch: Callable[..., Any] | None = None) -> None:
        self.folder = folder
        self.emit = emit
        self.polling_because = polling_because
        self._watch = watch
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="katas-watch-files", daemon=True)

    @property
    def mode(self) -> str:
        return describe_mode(self.polling_because)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)

    def _run(self) -> None:
        try:
            self._follow(polling=self.polling_because is not None)
            return
        except Exception as exc:  # noqa: BLE001 - any failure to watch means: poll instead
            if self._stop.is_set():
                return
            failure = f"{type(exc).__name__}: {exc}"
        if self.polling_because is None:
            self.polling_because = f"file events are not available: {failure}"
            self.emit(WatchNotice(f"File events are not available ({failure}). Polling for saves instead.", self.mode))
            try:
                self._follow(polling=True)
                return
            except Exception as exc:  # noqa: BLE001
                if self._stop.is_set():
                    return
                failure = f"{type(exc).__name__}: {exc}"
        self.emit(WatchNotice(f"Cannot watch {self.folder} ({failure}). Press r to re-run by hand.", "Not watching files: press r to run the tests again."))

    def _follow(self, polling: bool) -> None:
        watch = self._watch
        if watch is None:
            from watchfiles import watch
        for changes in watch(
            self.folder,
            watch_filter=None,
            stop_event=self._stop,
            force_polling=polling,
            poll_delay_ms=POLL_DELAY_MS,
            raise_interrupt=False,
        ):
            self.emit(Changed(frozenset(Path(path) for _, path in changes)))
