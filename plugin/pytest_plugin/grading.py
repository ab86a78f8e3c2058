"""`pytest katas --submission=DIR`: each kata of a student's copy is graded in a process of its own.

The kata's collected tests are replaced by one item that runs them elsewhere (see
`course.grading`): a student's code never runs in this process, so it can neither change the
grader nor another kata's verdict. The kata's report entry comes back from its process.
"""

from __future__ import annotations

from typing import Any

import pytest
from _pytest._code.code import ExceptionInfo, ReprFileLocation

from fastapi_async_katas.course.grading import Graded, grade_kata
from fastapi_async_katas.course.listing import Kata
from fastapi_async_katas.course.report import MISSING
from fastapi_async_katas.engine.userfiles import display_path
from fastapi_async_katas.pytest_plugin.explained import ExplainedFailure
from fastapi_async_katas.pytest_plugin.session import SESSION_KEY

NAME = "graded in a process of its own"


class GradeFailed(AssertionError):
    """The kata's tests failed in its own process; the message is what that process explained."""


class GradeItem(pytest.Item):
    """Run one kata's trusted tests against the student's app.py, in a fresh course and interpreter."""

    def __init__(self, *, kata: Kata, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kata = kata

    def runtest(self) -> None:
        session = self.config.stash[SESSION_KEY]
        app = session.app_path(self.kata)
        if app.is_file():
            graded = grade_kata(session.root, self.kata, app)
        else:
            why = f"{display_path(str(app))} does not exist"
            graded = Graded({"folder": self.kata.folder, "number": self.kata.number, "title": self.kata.title,
                             "status": MISSING, "app": str(app), "passed": 0, "failed": 0, "failure": why, "tests": []}, "")
        session.graded[self.kata.folder] = graded.entry
        if not graded.solved:
            raise GradeFailed(graded.details or graded.failure or "failed")

    def repr_failure(self, excinfo: ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, GradeFailed):
            text = str(excinfo.value)
            return ExplainedFailure(text, ReprFileLocation(str(self.path), 0, text.splitlines()[0] if text else "failed"))
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int, str]:
        return self.path, 0, f"{self.kata.folder}: {NAME}"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    kata_session = config.stash.get(SESSION_KEY, None)
    if kata_session is None or kata_session.submission is None:
        return
    graded: list[pytest.Item] = []
    seen: set[str] = set()
    for item in items:
        kata = kata_session.kata_for(item.path)
        if kata is None or kata.folder in seen:
            continue
        seen.add(kata.folder)
        module = item.getparent(pytest.Module)
        if module is not None:
            graded.append(GradeItem.from_parent(module, name=NAME, kata=kata))
    items[:] = graded
