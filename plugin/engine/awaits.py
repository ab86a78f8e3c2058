"""Catch coroutines that were created and never awaited, with the line that created them.

Python warns "coroutine 'f' was never awaited" when such a coroutine is garbage collected.
With coroutine origin tracking on, the coroutine itself (passed to the warning as its
`source`) knows the frames that created it.

Only objects created while the catcher is active can be such coroutines, so everything older
is frozen (`gc.freeze()`) on entry: each collection then walks the run's own objects, not every
module and object the process has, which made a full collection cost tens of milliseconds.
"""

from __future__ import annotations

import gc
import sys
import warnings
from dataclasses import dataclass
from typing import Any

from fastapi_async_katas.engine.userfiles import Place, UserFiles

_ORIGIN_DEPTH = 32


@dataclass(frozen=True)
class Unawaited:
    """A coroutine that was never awaited."""

    name: str
    created_at: Place | None

    def as_dict(self) -> dict[str, Any]:
        place = self.created_at
        return {
            "coroutine": self.name,
            "file": place.file if place else None,
            "line": place.line if place else None,
            "code": place.code if place else None,
        }


class UnawaitedCatcher:
    """Record never-awaited coroutines while active. Use it as a context manager."""

    def __init__(self, user_files: UserFiles | None = None) -> None:
        self.user_files = user_files or UserFiles()
        self.found: list[Unawaited] = []
        self._records: list[warnings.WarningMessage] = []
        self._catch: warnings.catch_warnings | None = None  # type: ignore[type-arg]
        self._old_depth = 0
        self._unfreeze = False

    def __enter__(self) -> "UnawaitedCatcher":
        self._old_depth = sys.get_coroutine_origin_tracking_depth()
        sys.set_coroutine_origin_tracking_depth(max(self._old_depth, _ORIGIN_DEPTH))
        self._catch = warnings.catch_warnings(record=True)
        self._records = self._catch.__enter__()
        warnings.filterwarnings("always", message="coroutine .* was never awaited")
        # A process that froze objects itself keeps them frozen: unfreezing is all or nothing.
        self._unfreeze = gc.get_freeze_count() == 0
        gc.freeze()
        return self

    def __exit__(self, *exc: object) -> None:
        self.collect()
        assert self._catch is not None
        self._catch.__exit__(*exc)
        sys.set_coroutine_origin_tracking_depth(self._old_depth)
        if self._unfreeze:
            gc.unfreeze()
        self._replay_others()

    def settle(self) -> None:
        """Collect now, then freeze what is left, so later collections skip it (after startup, say)."""
        self.collect()
        gc.freeze()

    def collect(self) -> list[Unawaited]:
        """Run the garbage collector, then turn the warnings so far into `Unawaited` records."""
        gc.collect()
        kept = []
        for record in self._records:
            if "was never awaited" in str(record.message):
                self.found.append(self._describe(record))
            else:
                kept.append(record)
        self._records[:] = kept
        return self.found

    def _replay_others(self) -> None:
        """Re-issue warnings that were not about un-awaited coroutines, so none are lost."""
        for record in self._records:
            warnings.warn_explicit(record.message, record.category, record.filename, record.lineno)

    def _describe(self, record: warnings.WarningMessage) -> Unawaited:
        coro = record.source
        name = getattr(coro, "__qualname__", None) or str(record.message).split("'")[1]
        origin = getattr(coro, "cr_origin", None) or ()
        place = None
        for filename, lineno, function in origin:  # innermost first
            if filename in self.user_files:
                place = Place(filename, lineno, function)
                break
        return Unawaited(name, place)
