"""The learner's progress, kept in a git-ignored JSON file at the repository root.

Per kata it remembers the last result, when the kata was first solved, and which hint levels
have been revealed. A missing or corrupt file never breaks a run: it is rebuilt, and
`load()` says so through `ProgressFile.rebuilt_because`.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

STATE_FILE = ".katas-state.json"
VERSION = 1
SOLVED, FAILING = "solved", "failing"


@dataclass
class KataProgress:
    status: str | None = None
    last_run: str | None = None
    first_solved: str | None = None
    revealed: list[int] = field(default_factory=list)

    @property
    def solved(self) -> bool:
        return self.first_solved is not None


@dataclass
class ProgressFile:
    path: Path
    katas: dict[str, KataProgress] = field(default_factory=dict)
    rebuilt_because: str | None = None

    def kata(self, folder: str) -> KataProgress:
        return self.katas.setdefault(folder, KataProgress())

    def record_result(self, folder: str, solved: bool) -> None:
        entry = self.kata(folder)
        now = _now()
        entry.status = SOLVED if solved else FAILING
        entry.last_run = now
        if solved and entry.first_solved is None:
            entry.first_solved = now

    def record_revealed(self, folder: str, levels: list[int]) -> None:
        entry = self.kata(folder)
        entry.revealed = sorted(set(entry.revealed) | set(levels))

    def save(self) -> None:
        data = {
            "version": VERSION,
            "katas": {
                folder: {
                    "status": p.status,
                    "last_run": p.last_run,
                    "first_solved": p.first_solved,
                    "revealed": p.revealed,
                }
                for folder, p in sorted(self.katas.items())
            },
        }
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".katas-state.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
        os.replace(tmp, self.path)


def load(root: Path) -> ProgressFile:
    """Read the progress file under `root`; rebuild it empty if it is missing or corrupt."""
    path = root / STATE_FILE
    if not path.exists():
        return ProgressFile(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        katas = {folder: _entry(raw) for folder, raw in data["katas"].items()}
        if data.get("version") != VERSION:
            raise ValueError(f"unknown version {data.get('version')!r}")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return ProgressFile(path, rebuilt_because=f"{path.name} could not be read ({exc}); starting a fresh one")
    return ProgressFile(path, katas)


def _entry(raw: Any) -> KataProgress:
    revealed = raw.get("revealed") or []
    if not all(isinstance(level, int) for level in revealed):
        raise ValueError("revealed levels must be whole numbers")
    return KataProgress(raw.get("status"), raw.get("last_run"), raw.get("first_solved"), list(revealed))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
