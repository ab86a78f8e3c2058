"""The grader's own marks: whatever of the plugin an app replaces while a test runs is named."""

from __future__ import annotations

import pytest

from fastapi_async_katas.engine import judging
from fastapi_async_katas.pytest_plugin import tamper, world


def test_nothing_replaced_is_no_change(pytestconfig):
    assert tamper.Marks(pytestconfig).changes(pytestconfig) == []


@pytest.mark.parametrize(
    ("owner", "name", "key"),
    [
        (judging.Run, "fail", "fastapi_async_katas.engine.judging.Run.fail"),
        (judging, "Run", "fastapi_async_katas.engine.judging.Run"),
        (world, "katas_db", "fastapi_async_katas.pytest_plugin.world.katas_db"),
    ],
    ids=["a judging method", "a judging class", "a fixture"],
)
def test_a_replaced_function_class_or_fixture_is_named(pytestconfig, monkeypatch, owner, name, key):
    marks = tamper.Marks(pytestconfig)
    monkeypatch.setattr(owner, name, lambda *a, **k: None)
    assert key in marks.changes(pytestconfig)
    monkeypatch.undo()
    assert marks.changes(pytestconfig) == []


def test_a_replaced_code_object_is_named(pytestconfig, monkeypatch):
    marks = tamper.Marks(pytestconfig)
    monkeypatch.setattr(judging.Run.fail, "__code__", (lambda self, *a, **k: self).__code__)
    assert marks.changes(pytestconfig) == ["fastapi_async_katas.engine.judging.Run.fail.__code__"]


def test_a_replaced_hook_is_named(pytestconfig):
    marks = tamper.Marks(pytestconfig)
    hooked = [key for key in marks.found if key.startswith("hook pytest_runtest_call of ")]
    assert hooked, "the tamper check itself wraps pytest_runtest_call"
    impl = next(i for i in pytestconfig.pluginmanager.hook.pytest_runtest_call.get_hookimpls() if i.function is tamper.pytest_runtest_call)
    impl.function = lambda item: (yield)
    try:
        assert f"hook pytest_runtest_call of {impl.plugin_name}" in marks.changes(pytestconfig)
    finally:
        impl.function = tamper.pytest_runtest_call
    assert marks.changes(pytestconfig) == []
