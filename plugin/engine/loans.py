"""Loans of threadpool tokens: who got a worker thread when, and in which wave."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fastapi_async_katas.engine.userfiles import Place


@dataclass
class Borrow:
    """One token lent to one caller: when it asked, got and gave back the token."""

    asked: float
    granted: float
    wave: int
    request: int | None = None
    place: Place | None = None
    released: float | None = None

    @property
    def waited(self) -> bool:
        return self.granted > self.asked


@dataclass(frozen=True)
class Wave:
    number: int
    borrows: tuple[Borrow, ...]

    @property
    def requests(self) -> list[int]:
        return sorted({b.request for b in self.borrows if b.request is not None})


def waves_of(borrows: Sequence[Borrow]) -> list[Wave]:
    """The loans grouped by wave, in wave order."""
    numbers = sorted({b.wave for b in borrows})
    return [Wave(n, tuple(b for b in borrows if b.wave == n)) for n in numbers]
