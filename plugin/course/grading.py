"""Grade one kata of a student's copy in a process of its own, away from the grader's checkout.

The kata's trusted files (its tests, README and hints) and this plugin are copied into a fresh
temporary course, with the student's `app.py` beside the tests; pytest runs there, in a new
interpreter, and writes a JSON report. Whatever the student's code does to its working folder,
or to the plugin it can find, changes only that copy; a crash, `os._exit()` or a hang past the
deadline ends that kata's process alone, and is graded as failed with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi_async_katas.course.listing import KATAS_DIR, Kata

PACKAGE = "fastapi_async_katas"
DEADLINE_S = 600.0
COURSE_FILES = ("pyproject.toml", "conftest.py")
TAMPERED = "the app changed the grader"
NO_RESULT = "the kata's process ended without a result (exit code {code}){why}"
TIMED_OUT = "timed out: the kata's process was still running after {seconds:g} s, and was stopped"


@dataclass
class Graded:
    """One kata's verdict: its entry for the report, and the output of its process."""

    entry: dict[str, Any]
    output: str

    @property
    def solved(self) -> bool:
        return self.entry.get("status") == "solved"

    @property
    def failure(self) -> str | None:
        return self.entry.get("failure")

    @property
    def details(self) -> str | None:
        failing = [t for t in self.entry.get("tests", []) if t.get("outcome") in ("failed", "error")]
        return failing[0].get("details") if failing else None


def grade_kata(root: Path, kata: Kata, app: Path, *, deadline_s: float = DEADLINE_S) -> Graded:
    """Run the course's tests of `kata` against the student's `app` in a fresh course and interpreter."""
    with tempfile.TemporaryDirectory(prefix=f"katas-grade-{kata.number}-") as tmp:
        course = Path(tmp) / "course"
        _copy_course(root, kata, app, course)
        plugin_copy = Path(tmp) / "grader"
        shutil.copytree(Path(__file__).resolve().parent.parent, plugin_copy / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
        report = Path(tmp) / "report.json"
        env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugin_copy), env.get("PYTHONPATH", "")]))
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        command = [sys.executable, "-m", "pytest", f"{KATAS_DIR}/{kata.folder}", "-p", "no:cacheprovider", "-q",
                   "--color=no", f"--kata-report={report}", *_quiet(os.environ.get("PYTEST_ADDOPTS", ""))]
        try:
            done = subprocess.run(command, cwd=course, env=env, capture_output=True, text=True, timeout=deadline_s)
        except subprocess.TimeoutExpired as exc:
            output = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
            return Graded(_failed(kata, app, TIMED_OUT.format(seconds=deadline_s)), output)
        output = done.stdout + done.stderr
        entry = _entry_from(report, kata)
        if entry is None:
            last = output.strip().splitlines()[-1:] if output.strip() else []
            why = f": {last[0]}" if last else ""
            return Graded(_failed(kata, app, NO_RESULT.format(code=done.returncode, why=why)), output)
        entry["app"] = str(app)
        for test in entry.get("tests", []):
            if (test.get("message") or "").startswith(TAMPERED):
                entry["status"] = "tampered"
                entry["failure"] = test["message"]
        return Graded(entry, output)


def _copy_course(root: Path, kata: Kata, app: Path, course: Path) -> None:
    course.mkdir()
    for name in COURSE_FILES:
        if (root / name).is_file():
            shutil.copy(root / name, course / name)
    target = course / KATAS_DIR / kata.folder
    shutil.copytree(kata.kata_dir(root), target, ignore=shutil.ignore_patterns("__pycache__", "app.py"))
    shutil.copy(app, target / "app.py")


def _entry_from(report: Path, kata: Kata) -> dict[str, Any] | None:
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
        return next(k for k in data["katas"] if k["folder"] == kata.folder)
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return None


def _failed(kata: Kata, app: Path, why: str) -> dict[str, Any]:
    return {
        "folder": kata.folder, "number": kata.number, "title": kata.title, "status": "failing", "app": str(app),
        "passed": 0, "failed": 1, "failure": why, "tests": [],
    }


def _quiet(addopts: str) -> list[str]:
    """The grader's `-p no:...` options, passed on: which plugins to leave out is the grader's call."""
    words = addopts.split()
    return [w for pair in zip(words, words[1:]) if pair[0] == "-p" and pair[1].startswith("no:") for w in pair]
