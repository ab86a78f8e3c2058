"""The grading report: one JSON file with, for each kata, its status, each test's outcome, what
was measured (requests in flight, wall time, blocked lines) and why a test failed.

The plugin feeds it one `TestRecord` per test as the phases of the test finish; `build_report`
turns them into plain data, and `write_report` saves it. Both are plain functions, unit-tested.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fastapi_async_katas.course.listing import Kata

FORMAT = 1
SOLVED, FAILING, MISSING, NOT_RUN, SKIPPED = "solved", "failing", "missing", "not run", "skipped"
DETAILS_LIMIT = 20_000

# pytest's outcome of one phase -> the test's outcome, worst first.
_RANK = {"error": 3, "failed": 2, "skipped": 1, "passed": 0}


@dataclass
class TestRecord:
    """What happened to one test, over its setup, call and teardown."""

    __test__ = False  # a report's record, not a test class

    nodeid: str
    name: str
    outcome: str = "passed"
    duration_s: float = 0.0
    message: str | None = None
    details: str | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)
    database: dict[str, Any] | None = None

    def note_phase(self, when: str, outcome: str, duration_s: float, message: str | None, details: str | None) -> None:
        """Fold one phase's result in: a failure outside the call is an error, as pytest counts it."""
        self.duration_s += duration_s
        if outcome == "failed" and when != "call":
            outcome = "error"
        if _RANK[outcome] > _RANK[self.outcome]:
            self.outcome = outcome
            if outcome in ("failed", "error"):
                self.message, self.details = message, _clip(details)
            elif outcome == "skipped":
                self.message = message

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "test": self.name,
            "nodeid": self.nodeid,
            "outcome": self.outcome,
            "duration_s": round(self.duration_s, 3),
            "message": self.message,
            "details": self.details,
            "measured": self.runs,
        }
        if self.database is not None:
            data["database"] = self.database
        return data


def run_figures(run: dict[str, Any], relative_to: Path | None) -> dict[str, Any]:
    """A `Run.as_dict()`, with `where` (`file:line`, short) added to each block and unawaited coroutine."""
    figures = dict(run)
    for key in ("blocks", "unawaited"):
        figures[key] = [{**item, "where": _where(item, relative_to)} for item in run.get(key, [])]
    return figures


def database_figures(database: Any, relative_to: Path | None) -> dict[str, Any]:
    """The counters of the kata world's database; queries that blocked the loop, grouped by line."""
    grouped: dict[tuple[str | None, str], dict[str, Any]] = {}
    for query in database.loop_queries:
        place = query.place
        where = _where({"file": place.file if place else None, "line": place.line if place else None}, relative_to)
        entry = grouped.setdefault((where, query.sql), {"where": where, "sql": query.sql, "count": 0, "longest_ms": 0.0})
        entry["count"] += 1
        entry["longest_ms"] = max(entry["longest_ms"], round(query.wall_ms, 1))
    return {"peak_in_flight": database.peak_in_flight, "queries": database.total_queries, "loop_queries": list(grouped.values())}


def kata_status(tests: list[TestRecord], *, app_exists: bool) -> str:
    if not app_exists:
        return MISSING
    if not tests:
        return NOT_RUN
    if any(t.outcome in ("failed", "error") for t in tests):
        return FAILING
    if all(t.outcome == "skipped" for t in tests):
        return SKIPPED
    return SOLVED


def build_report(
    course: list[Kata],
    tests: dict[str, list[TestRecord]],
    app_paths: dict[str, Path],
    *,
    against: str,
    submission: Path | None = None,
) -> dict[str, Any]:
    """The whole report: every kata of the course, in order, with its tests."""
    katas = []
    for kata in course:
        records = tests.get(kata.folder, [])
        app = app_paths[kata.folder]
        status = kata_status(records, app_exists=app.is_file() or not records)
        failure = next((t.message for t in records if t.outcome in ("failed", "error")), None)
        katas.append(
            {
                "folder": kata.folder,
                "number": kata.number,
                "title": kata.title,
                "status": status,
                "app": str(app),
                "passed": sum(t.outcome == "passed" for t in records),
                "failed": sum(t.outcome in ("failed", "error") for t in records),
                "failure": failure,
                "tests": [t.as_dict() for t in records],
            }
        )
    return {
        "format": FORMAT,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "against": against,
        "submission": str(submission) if submission else None,
        "solved": sum(k["status"] == SOLVED for k in katas),
        "total": len(katas),
        "katas": katas,
    }


def write_report(path: Path, data: dict[str, Any]) -> None:
    """Save the report atomically, creating its folder if need be. Raises OSError on failure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, ensure_ascii=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _where(item: dict[str, Any], relative_to: Path | None) -> str | None:
    file, line = item.get("file"), item.get("line")
    if not file:
        return None
    shown = file
    if relative_to is not None:
        try:
            shown = str(Path(file).resolve().relative_to(relative_to.resolve()))
        except ValueError:
            pass
    return f"{shown}:{line}"


def _clip(text: str | None) -> str | None:
    if text is None or len(text) <= DETAILS_LIMIT:
        return text
    return text[:DETAILS_LIMIT] + "\n… (cut)"
