"""The harness's settings for a pytest run: a command-line flag each, an ini twin each.

They hold in any project: a course's katas and a project's own tests alike.
"""

from __future__ import annotations

import pytest

from fastapi_async_katas.engine.firing import Settings

TIMEOUT_HELP = "seconds a request may take before it counts as hung (default: 5)"
BLOCK_MS_HELP = "a loop step at least this long, in ms, counts as blocking (default: 50)"
SETTINGS_KEY = pytest.StashKey[Settings]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("katas", "FastAPI async katas")
    group.addoption("--kata-timeout", type=float, default=None, metavar="SECONDS", help=TIMEOUT_HELP)
    group.addoption("--kata-block-ms", type=float, default=None, metavar="MS", help=BLOCK_MS_HELP)
    parser.addini("kata_timeout", TIMEOUT_HELP, default=None)
    parser.addini("kata_block_ms", BLOCK_MS_HELP, default=None)


def setting(config: pytest.Config, name: str, default: float) -> float:
    """A measuring setting: the command line wins, then the ini file, then the default."""
    value = config.getoption(name)
    source = f"--{name.replace('_', '-')}"
    if value is None:
        value, source = config.getini(name), f"the ini setting {name}"
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if number <= 0:
        unit = "seconds" if "timeout" in name else "milliseconds"
        raise pytest.UsageError(f"{source}={value!r} is not valid: give a positive number of {unit}")
    return number


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.stash[SETTINGS_KEY] = Settings(
        request_timeout_s=setting(config, "kata_timeout", Settings.request_timeout_s),
        block_ms=setting(config, "kata_block_ms", Settings.block_ms),
    )


def settings_of(config: pytest.Config) -> Settings:
    """The settings in effect for this run."""
    return config.stash.get(SETTINGS_KEY, None) or Settings()


@pytest.fixture
def kata_settings(request: pytest.FixtureRequest) -> Settings:
    """The measuring settings in effect (request timeout, blocking threshold)."""
    return settings_of(request.config)
