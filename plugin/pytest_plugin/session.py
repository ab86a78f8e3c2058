"""A course run's state, and how the command line chooses what it tests.

`pytest katas/01` names a kata; `--solutions`, `--kata-app` and `--submission` say which app
file each kata is tested against; `--reveal` asks for hints; `--kata-report` for a JSON report.
Each is read once, in `pytest_configure`, into the `KataSession` kept in `config.stash`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fastapi_async_katas.course import hints
from fastapi_async_katas.course.listing import KATAS_DIR, CourseError, Kata, expand_argument, kata_of_path
from fastapi_async_katas.course.progress import ProgressFile
from fastapi_async_katas.course.report import TestRecord
from fastapi_async_katas.course.summary import KataResult
from fastapi_async_katas.engine.firing import Settings
from fastapi_async_katas.engine.judging import Run

SUBMISSION_NOT_A_FOLDER = (
    "--submission={value!r} (from the command line) is not a folder. Give the top folder of a student's "
    "copy of the course, the one that holds katas/NN_slug/app.py."
)
SUBMISSION_WITHOUT_KATAS = (
    "--submission={value!r} (from the command line) holds no kata's app.py: expected files such as {example}. "
    "Give the top folder of a student's copy of the course."
)
SUBMISSION_TOOK_SETTINGS = (
    "--submission={value!r}: pytest took its settings from the submission ({inifile}), so the student's "
    "copy would decide how it is graded. Write the option with '=' so pytest does not read it as a test "
    "path, and run from the course's folder: pytest katas --submission={value}"
)
SUBMISSION_CONFLICT = "--submission cannot be combined with {other}: both say which app.py files to test. Use one of them."
SUBMISSION_OWN_TESTS = (
    "{arg!r} is inside the submission {value!r}: a student's own tests are never run. "
    "Run the course's tests against it instead: pytest katas --submission={value}"
)
KATA_REPORT_IS_FOLDER = "--kata-report={value!r} (from the command line) is a folder. Give a file name, such as grades/report.json."
REPORT_WRITTEN = "Report written to {path}"
REPORT_NOT_WRITTEN = "Could not write the report to {path}: {error}"
PROGRESS_NOT_SAVED = "Could not save your progress to {path}: {error}"

@dataclass
class KataSession:
    """Per-session state of the plugin, kept in `config.stash`."""

    root: Path
    course: list[Kata]
    solutions: bool = False
    app_override: Path | None = None
    submission: Path | None = None
    report_path: Path | None = None
    reveal: hints.Reveal | None = None
    named: list[Kata] = field(default_factory=list)
    results: dict[str, KataResult] = field(default_factory=dict)
    settings: Settings = field(default_factory=Settings)
    progress: ProgressFile | None = None
    collected: Counter[str] = field(default_factory=Counter)
    partial: set[str] = field(default_factory=set)
    interrupted: bool = False
    tests: dict[str, dict[str, TestRecord]] = field(default_factory=dict)
    hint_lines: list[str] = field(default_factory=list)
    # Grading: each kata's report entry, as its own process wrote it.
    graded: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def records_progress(self) -> bool:
        """Only a run against the learner's own app.py files counts as the learner's progress."""
        return not self.solutions and self.app_override is None and self.submission is None

    @property
    def against(self) -> str:
        """What the run tests, for the summary; empty for the learner's own files."""
        if self.app_override is not None:
            return str(self.app_override)
        if self.submission is not None:
            return f"the submission in {self.submission}"
        return "the reference solutions" if self.solutions else ""

    def app_path(self, kata: Kata) -> Path:
        if self.app_override is not None:
            return self.app_override
        if self.submission is not None:
            return self.submission / KATAS_DIR / kata.folder / "app.py"
        base = kata.solution_dir(self.root) if self.solutions else kata.kata_dir(self.root)
        return base / "app.py"

    def kata_for(self, path: Path) -> Kata | None:
        return kata_of_path(self.course, self.root, path)



SESSION_KEY = pytest.StashKey[KataSession]()
# Every burst a test's `kata` fired, for the report.
RUNS_KEY = pytest.StashKey[list[Run]]()


def select_katas(config: pytest.Config, session: KataSession) -> None:
    """Expand `katas/01` into the kata's folder; `--solutions` alone also runs the self-tests."""
    args = config.args
    from_testpaths = config.args_source == pytest.Config.ArgsSource.TESTPATHS
    no_paths_given = config.args_source != pytest.Config.ArgsSource.ARGS
    reveal = config.getoption("reveal")
    if reveal and ("/" in reveal or (session.root / reveal).exists()):
        # `pytest --reveal katas/01`: argparse took the path for the hint level.
        if no_paths_given:
            args.clear()
            from_testpaths = False
        args.append(reveal)
        config.option.reveal = hints.NEXT
    try:
        args[:] = [expand_argument(a, session.course, session.root) for a in args]
    except CourseError as exc:
        raise pytest.UsageError(str(exc)) from None
    if session.solutions and from_testpaths and (session.root / "tests").is_dir():
        args.append("tests")
    for arg in args:
        kata = kata_of_path(session.course, session.root, session.root / arg.split("::")[0])
        if kata is not None and kata not in session.named:
            session.named.append(kata)


def parse_submission(config: pytest.Config, session: KataSession) -> None:
    value = config.getoption("submission")
    if value is None:
        return
    for other, given in (("--solutions", session.solutions), ("--kata-app", session.app_override is not None)):
        if given:
            raise pytest.UsageError(SUBMISSION_CONFLICT.format(other=other))
    folder = Path(value).expanduser().resolve()
    if not folder.is_dir():
        raise pytest.UsageError(SUBMISSION_NOT_A_FOLDER.format(value=value))
    session.submission = folder
    inifile = config.inipath or config.rootpath
    if folder == config.rootpath or folder in config.rootpath.parents or folder in inifile.parents:
        raise pytest.UsageError(SUBMISSION_TOOK_SETTINGS.format(value=value, inifile=inifile))
    if session.course and not any(session.app_path(k).is_file() for k in session.course):
        example = Path(value) / KATAS_DIR / session.course[0].folder / "app.py"
        raise pytest.UsageError(SUBMISSION_WITHOUT_KATAS.format(value=value, example=example))


def refuse_submission_tests(config: pytest.Config, session: KataSession) -> None:
    """A submission's own test files are never collected: only the course's tests are trusted."""
    if session.submission is None:
        return
    base = config.rootpath if config.args_source == pytest.Config.ArgsSource.TESTPATHS else config.invocation_params.dir
    for arg in config.args:
        path = (base / arg.split("::")[0]).resolve()
        if path == session.submission or session.submission in path.parents:
            raise pytest.UsageError(SUBMISSION_OWN_TESTS.format(arg=arg, value=config.getoption("submission")))


def parse_kata_report(config: pytest.Config, session: KataSession) -> None:
    value = config.getoption("kata_report")
    if value is None:
        return
    path = Path(value).expanduser().resolve()
    if path.is_dir():
        raise pytest.UsageError(KATA_REPORT_IS_FOLDER.format(value=value))
    session.report_path = path


def parse_reveal(config: pytest.Config, session: KataSession) -> None:
    value = config.getoption("reveal")
    if value is None:
        return
    katas = session.named or session.course
    max_level = max((len(hints.read_hints(k.kata_dir(session.root))) for k in katas), default=0) or 1
    try:
        session.reveal = hints.parse_reveal(str(value), max_level)
    except hints.RevealError as exc:
        raise pytest.UsageError(str(exc)) from None


