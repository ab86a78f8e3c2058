"""A failed check shows its explanation, not a traceback: in a kata and in a project's own tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from _pytest._code.code import ReprFileLocation

from fastapi_async_katas.engine.firing import StartupError
from fastapi_async_katas.engine.judging import KataFailure
from fastapi_async_katas.engine.loading import KataLoadError
from fastapi_async_katas.engine.serverstart import ServerStartFailed

EXPLAINED = (KataFailure, KataLoadError, StartupError, ServerStartFailed)


@dataclass
class ExplainedFailure:
    """A failure shown as the plugin's explanation instead of a traceback."""

    text: str
    reprcrash: ReprFileLocation

    def toterminal(self, tw: Any) -> None:
        for line in self.text.splitlines():
            tw.line(line)

    def __str__(self) -> str:
        return self.text



@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    excinfo = call.excinfo
    failure = None
    if excinfo is not None and isinstance(excinfo.value, EXPLAINED):
        text = str(excinfo.value)
        headline = text.splitlines()[0] if text else type(excinfo.value).__name__
        failure = ExplainedFailure(text, ReprFileLocation(str(item.path), item.location[1] or 0, headline))
        # pytest would render the traceback, reading the source of every frame, only for it to be
        # replaced: a tenth of a second of a failing kata's run.
        item._repr_failure_py = lambda *args, **kwargs: failure  # type: ignore[method-assign]
    try:
        report = yield
    finally:
        vars(item).pop("_repr_failure_py", None)
    if failure is not None and report.failed:
        report.longrepr = failure
    return report
