"""The lines an app writes to one of its loggers, and a check that they name the right values.

`capture_log("shop.audit")` keeps the records of that logger (at INFO and up) while it is active,
out of pytest's own log capture. `expect_values` checks that a `key=value` field of the lines
names what each request should have named: the user behind each read, say.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi_async_katas.engine.explaining import place_lines, plural
from fastapi_async_katas.engine.userfiles import Place


@dataclass
class LogLines:
    """The records one logger wrote while captured."""

    name: str
    records: list[logging.LogRecord] = field(default_factory=list)

    def values(self, key: str) -> Counter[str]:
        """How often each value of the `key=value` field appears in the lines."""
        pattern = re.compile(rf"\b{re.escape(key)}=(\S+)")
        found = (pattern.search(record.getMessage()) for record in self.records)
        return Counter(match.group(1) if match else f"(no {key}=)" for match in found)

    def expect_values(self, run: Any, key: str, expected: Counter[str], *, headline: str, explain: Any = None) -> None:
        """The lines' `key=` values are exactly `expected`; `explain` (a `ThreadpoolCalls`) says
        where a value set in a worker thread was lost, when it was."""
        __tracebackhide__ = True
        named = self.values(key)
        if named == expected:
            return
        measured = [f"{plural(len(self.records), 'line')} in the {self.name} log: {_tally(named, key) or 'none'}"]
        extra: list[str] = []
        if explain is not None:
            more, extra = explain.explain_lost(len(run.requests))
            measured += more
        if self.records:
            first = self.records[0]
            extra += [""] * bool(extra) + [f"The {self.name} log read the {key} here:", *place_lines(Place(first.pathname, first.lineno, first.funcName))]
        run.fail(
            headline,
            measured=measured,
            expected=[f"{sum(expected.values())} lines, one per request, naming its {key}: {_tally(expected, key)}"],
            extra=extra,
            show_timeline=False,
        )


@contextmanager
def capture_log(name: str, level: int = logging.INFO) -> Iterator[LogLines]:
    """Keep what the logger `name` writes meanwhile (out of pytest's own log capture)."""
    lines = LogLines(name)
    handler = logging.Handler(level)
    handler.emit = lines.records.append  # type: ignore[method-assign]
    logger = logging.getLogger(name)
    old_level, propagate = logger.level, logger.propagate
    logger.setLevel(level)
    logger.propagate = False
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = propagate


def _tally(counts: Counter[str], key: str) -> str:
    return ", ".join(f"{n}× {key}={value}" for value, n in counts.most_common())
