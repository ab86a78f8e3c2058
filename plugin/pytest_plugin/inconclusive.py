"""`pytest --solutions` runs a test again, up to three tries in all, while its verdict is inconclusive.

A check that only a busy machine can fail says "inconclusive" instead of failing outright (see
`engine.judging.Inconclusive`); a later try, after a pause, usually meets a quieter machine: the
whole run's workers on a slow machine can keep a test's loop waiting for a CPU most of its time.
Only the reports of the last try are reported. A learner's own run reports the inconclusive
verdict as it is.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from _pytest.runner import runtestprotocol

from fastapi_async_katas.engine.judging import INCONCLUSIVE
from fastapi_async_katas.pytest_plugin.session import SESSION_KEY

_HEAD = INCONCLUSIVE.split("(")[0]
MOST_TRIES = 3
# Before the second try, this long; before the third, twice as long.
PAUSE_S = 1.0


def inconclusive(report: pytest.TestReport) -> bool:
    return report.failed and str(report.longrepr).startswith(_HEAD)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    session = item.config.stash.get(SESSION_KEY, None)
    if session is None or not session.solutions:
        return None
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    reports = runtestprotocol(item, nextitem=nextitem, log=False)
    for tried in range(1, MOST_TRIES):
        if not any(inconclusive(report) for report in reports):
            break
        time.sleep(PAUSE_S * tried)
        if hasattr(item, "_initrequest"):
            item._initrequest()  # a fresh fixture request for the next try, as pytest's own reruns do
        reports = runtestprotocol(item, nextitem=nextitem, log=False)
    for report in reports:
        item.ihook.pytest_runtest_logreport(report=report)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True
