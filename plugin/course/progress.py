"""The learner's progress, kept in a git-ignored JSON file at the repository root.

Per kata it remembers the last result, when the kata was first solved, which hint levels have
been revealed, and when the kata was last reset. A missing or corrupt file never breaks a run:
it is rebuilt, and `load()` says so through `ProgressFile.rebuilt_because`. A corrupt file is
moved into the backups folder rather than overwritten, so nothing is lost.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

STATE_FILE = ".katas-state.json"
BACKUPS_DIR = ".katas-backups"
VERSION = 1
SOLVED, FAILING = "solved", "failing"

MISSING_NOTE = "Started a new progress file, {name} (git-ignored): your results and revealed hints are kept there."
REBUILT_NOTE = "{reason}; started a fresh one{kept}."
KEPT_NOTE = " (the unreadable file was kept as {path})"


@dataclass
class KataProgress:
    status: str | None = None
    last_run: str | None = None
    first_solved: str | None = None
    revealed: list[int] = field(default_factory=list)
    reset_at: str | None = None

    @property
    def solved(self) -> bool:
        """The last full run of this kata passed."""
        return self.status == SOLVED

    @property
    def ever_solved(self) -> bool:
        return self.first_solved is not None


@dataclass
class ProgressFile:
    path: Path
    katas: dict[str, KataProgress] = field(default_factory=dict)
    rebuilt_because: str | None = None
    missing: bool = False
    kept_as: Path | None = None
    # The hard way (`katas hard on`): katas are served without TODOs, their tasks reduced to the goal.
    hard: bool = False

    def kata(self, folder: str) -> KataProgress:
        return self.katas.setdefault(folder, KataProgress())

    def record_result(self, folder: str, solved: bool) -> bool:
        """Note a kata's result. Returns True when this is the first time it is solved."""
        entry = self.kata(folder)
        now = _now()
        entry.status = SOLVED if solved else FAILING
        entry.last_run = now
        if solved and entry.first_solved is None:
            entry.first_solved = now
            return True
        return False

    def record_revealed(self, folder: str, levels: list[int]) -> None:
        entry = self.kata(folder)
        entry.revealed = sorted(set(entry.revealed) | set(levels))

    def record_reset(self, folder: str) -> None:
        """The shipped app.py is back: the last result no longer says anything about it."""
        entry = self.kata(folder)
        entry.status = None
        entry.reset_at = _now()

    def next_hint_level(self, folder: str, available: int) -> int:
        """The lowest hint level not yet revealed; past the last one, the last one."""
        seen = set(self.kata(folder).revealed) if folder in self.katas else set()
        return next((level for level in range(1, available + 1) if level not in seen), max(available, 1))

    def note(self) -> str | None:
        """One line to show when the file was missing or had to be rebuilt; None otherwise."""
        if self.rebuilt_because:
            kept = KEPT_NOTE.format(path=_relative(self.kept_as, self.path.parent)) if self.kept_as else ""
            return REBUILT_NOTE.format(reason=self.rebuilt_because, kept=kept)
        if self.missing:
            return MISSING_NOTE.format(name=self.path.name)
        return None

    def save(self) -> None:
        """Write the file atomically. A corrupt file it replaces is first moved to the backups;
        if it cannot be, nothing is saved (OSError), so that it is never lost."""
        if self.rebuilt_because and self.kept_as is None and self.path.exists():
            self.kept_as = _keep_aside(self.path)
            if self.kept_as is None:
                raise OSError(f"the unreadable {self.path.name} could not be kept aside in {BACKUPS_DIR}/")
        data = {
            "version": VERSION,
            "hard": self.hard,
            "katas": {
                folder: {
                    "status": p.status,
                    "last_run": p.last_run,
                    "first_solved": p.first_solved,
                    "revealed": p.revealed,
                    "reset_at": p.reset_at,
                }
                for folder, p in sorted(self.katas.items())
            },
        }
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".katas-state.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=2)
                f.write("\n")
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def load(root: Path) -> ProgressFile:
    """Read the progress file under `root`; rebuild it empty if it is missing or corrupt."""
    path = root / STATE_FILE
    if not path.exists():
        return ProgressFile(path, missing=True)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        katas = {str(folder): _entry(raw) for folder, raw in data["katas"].items()}
        if data.get("version") != VERSION:
            raise ValueError(f"unknown version {data.get('version')!r}")
        hard = data.get("hard", False)
        if not isinstance(hard, bool):
            raise ValueError("hard must be true or false")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return ProgressFile(path, rebuilt_because=f"{path.name} could not be read ({exc})")
    return ProgressFile(path, katas, hard=hard)


def update(root: Path, change: Callable[[ProgressFile], None]) -> ProgressFile:
    """Load the file afresh, apply `change`, and save it.

    Loading just before saving keeps what another run (watch mode, say) saved meanwhile.
    Raises OSError if the file cannot be written.
    """
    progress = load(root)
    change(progress)
    progress.save()
    return progress


def _entry(raw: Any) -> KataProgress:
    if not isinstance(raw, dict):
        raise ValueError("each kata's entry must be an object")
    revealed = raw.get("revealed") or []
    if not isinstance(revealed, list) or not all(isinstance(level, int) for level in revealed):
        raise ValueError("revealed levels must be whole numbers")
    texts = [raw.get(key) for key in ("status", "last_run", "first_solved", "reset_at")]
    if not all(text is None or isinstance(text, str) for text in texts):
        raise ValueError("status and times must be text")
    status, last_run, first_solved, reset_at = texts
    return KataProgress(status, last_run, first_solved, list(revealed), reset_at)


def _keep_aside(path: Path) -> Path | None:
    """Move an unreadable progress file into the backups folder, under a name never used before.

    Returns None, leaving nothing behind, when it cannot be moved.
    """
    folder = path.parent / BACKUPS_DIR
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    try:
        folder.mkdir(exist_ok=True)
        target = unused_path(folder, f"state-{stamp}", ".json")
    except OSError:
        return None
    try:
        os.replace(path, target)
    except OSError:
        target.unlink(missing_ok=True)  # the empty file that held the name
        return None
    return target


def unused_path(folder: Path, stem: str, suffix: str) -> Path:
    """`folder/stem+suffix`, or `stem-2`, `stem-3`, ... if taken. The file is created, empty."""
    for n in range(1, 10_000):
        candidate = folder / f"{stem}{'' if n == 1 else f'-{n}'}{suffix}"
        try:
            candidate.open("x").close()
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"no free file name for {stem}{suffix} in {folder}")


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
