"""The pytest plugin: a thin layer of hooks and fixtures over the engine, the world and the course.

pytest loads it through its `pytest11` entry point wherever the package is installed. In any
project it brings the harness's settings (`options`) and the kata world's fixtures (`world`).
In a course (the root's pyproject.toml lists `[[tool.katas.course]]`) it also brings the course
(`course`): the kata selection, the `kata` fixture, hints, progress, the summary and grading.
"""

from __future__ import annotations

import pytest

from fastapi_async_katas.course.listing import has_course

pytest_plugins = [
    "fastapi_async_katas.pytest_plugin.options",
    "fastapi_async_katas.pytest_plugin.world",
    "fastapi_async_katas.pytest_plugin.explained",
]
COURSE_PLUGIN = "fastapi_async_katas.pytest_plugin.course"


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Bring the course in before the command line is parsed, so its options are known."""
    if has_course(early_config.rootpath):
        early_config.pluginmanager.import_plugin(COURSE_PLUGIN)
