"""The pytest plugin: a thin layer of hooks and fixtures over the engine, the world and the course.

pytest loads it through its `pytest11` entry point wherever the package is installed. In any
project it brings the harness's settings (`options`) and the kata world's fixtures (`world`).
In a course (the root's pyproject.toml lists `[[tool.katas.course]]`) it also brings the course
(`course`): the kata selection, the `kata` fixture, hints, progress, the summary and grading.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from types import ModuleType

import pytest

from fastapi_async_katas.course.listing import has_course

# Registered by `pytest_plugin_registered` below, not through `pytest_plugins`: pytest would look
# each of those names up among the entry points of every installed distribution first, in every
# session (hundreds of them in the contract check).
PLUGINS = [
    "fastapi_async_katas.pytest_plugin.options",
    "fastapi_async_katas.pytest_plugin.world",
    "fastapi_async_katas.pytest_plugin.explained",
]
COURSE_PLUGIN = "fastapi_async_katas.pytest_plugin.course"
# pytest-asyncio comes with this package, and warns in every project that has not chosen a loop
# scope for async fixtures. The choice stays the project's: only the warning goes.
ASYNCIO_LOOP_SCOPE_UNSET = r'The configuration option "asyncio_default_fixture_loop_scope" is unset'


SUBMISSION_SPACED = (
    "--submission {value!r}: written with a space, pytest reads the student's folder as a test path and would "
    "take settings and conftest.py files from it. Write it with '=': --submission={value}"
)
SUBMISSION_SETTINGS = (
    "--submission={value!r}: pytest took its settings from inside the submission ({found}), so the student's "
    "copy would decide how it is graded. Run from the course's folder: pytest katas --submission={value}"
)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, args: list[str]) -> None:
    """Before any conftest.py is imported: refuse a submission that would load the student's own
    settings or conftests, then bring the course in, so that its options are known."""
    _refuse_a_submission_that_brings_its_own_settings(early_config, args)
    if has_course(early_config.rootpath):
        early_config.pluginmanager.import_plugin(COURSE_PLUGIN)


def pytest_plugin_registered(plugin: object, manager: pytest.PytestPluginManager) -> None:
    """This package's plugin modules bring the modules listed in their `PLUGINS`."""
    if isinstance(plugin, ModuleType) and plugin.__name__.startswith(__name__):
        for name in getattr(plugin, "PLUGINS", ()):
            manager.import_plugin(name)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    warnings.filterwarnings("ignore", message=ASYNCIO_LOOP_SCOPE_UNSET, category=pytest.PytestDeprecationWarning)


def _refuse_a_submission_that_brings_its_own_settings(config: pytest.Config, args: list[str]) -> None:
    for i, arg in enumerate(args):
        if arg == "--submission" and i + 1 < len(args):
            raise pytest.UsageError(SUBMISSION_SPACED.format(value=args[i + 1]))
        if arg.startswith("--submission="):
            value = arg.split("=", 1)[1]
            folder = Path(value).expanduser().resolve()
            found = [p for p in (config.inipath, config.rootpath) if p is not None and (p == folder or folder in p.parents)]
            if found:
                raise pytest.UsageError(SUBMISSION_SETTINGS.format(value=value, found=found[0]))
