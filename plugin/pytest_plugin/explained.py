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
    report = yield
    excinfo = call.excinfo
    if excinfo is not None and report.failed and isinstance(excinfo.value, EXPLAINED):
        text = str(excinfo.value)
        headline = text.splitlines()[0] if text else type(excinfo.value).__name__
        report.longrepr = ExplainedFailure(text, ReprFileLocation(str(item.path), item.location[1] or 0, headline))
    return report
