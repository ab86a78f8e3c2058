"""Self-tests that import an app (the probe does) undo that import afterwards, and only that."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import pytest

from fastapi_async_katas.engine.userfiles import UserFiles


@contextlib.contextmanager
def app_imports_undone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Put `sys.path` back, and forget the modules of user files imported meanwhile (the app's).

    A library imported for the first time meanwhile is kept: modules imported before still hold
    its objects (anyio keeps the backend it loaded first), and a second copy would not know them.
    """
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    users = UserFiles()
    try:
        yield
    finally:
        for name in set(sys.modules) - before:
            if (getattr(sys.modules[name], "__file__", None) or "") in users:
                del sys.modules[name]
