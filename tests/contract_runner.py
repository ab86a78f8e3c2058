"""Run kata variants (the shipped app, other correct fixes, wrong fixes) and keep what they did.

A variant is one kata's tests run against one app file. It runs in the calling process, as a
pytest session of its own, so one contract test is one variant: `pytest --solutions` spreads
them over its worker processes like any other test.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Variant:
    """One kata run against one app file: only `test` when it names one, else every test; a
    failure must say each of `diagnosis`."""

    name: str
    kata_dir: str
    app: str
    test: str = ""
    diagnosis: list[str] = field(default_factory=list)
    # For a correct fix: what its "passed, but…" note must say (none: it gets no note).
    note: list[str] = field(default_factory=list)


@dataclass
class VariantResult:
    exit_code: int = -1
    outcomes: dict[str, str] = field(default_factory=dict)
    output: dict[str, str] = field(default_factory=dict)
    error: str = ""
    notes: list[str] = field(default_factory=list)
    cores: int | None = None
    # Whether the run's verdict could depend on how many cores the machine has: something in it
    # asked, other than a thread pool that sizes itself by it and never had that many threads.
    asked_for_cores: bool = False
    # The thread pools that sized themselves by the core count (a default executor does).
    sized_pools: list[ThreadPoolExecutor] = field(default_factory=list, repr=False)

    def note_pools(self) -> None:
        """A pool that started as many threads as it may have could have kept work waiting for one,
        which a bigger machine's pool would not. One that never did ran all its work at once, as
        any bigger pool would: its size did not matter."""
        self.asked_for_cores = self.asked_for_cores or any(len(pool._threads) >= pool._max_workers for pool in self.sized_pools)

    @property
    def inconclusive(self) -> bool:
        """Whether a test could not be judged: the machine was too busy."""
        return any(text.startswith(INCONCLUSIVE_HEAD) for text in self.output.values())

    @property
    def only_inconclusive(self) -> bool:
        """Whether every test that failed failed as inconclusive, and one did."""
        failed = [name for name, outcome in self.outcomes.items() if outcome == "failed"]
        return bool(failed) and all(self.output.get(name, "").startswith(INCONCLUSIVE_HEAD) for name in failed)

    def failed(self, test: str) -> bool:
        return self.outcomes.get(test) == "failed"

    @property
    def all_passed(self) -> bool:
        return self.exit_code == 0 and bool(self.outcomes) and all(o == "passed" for o in self.outcomes.values())


class _Collector:
    """A pytest plugin object that keeps each test's outcome and failure text."""

    def __init__(self) -> None:
        self.result = VariantResult()

    def pytest_runtest_logreport(self, report: Any) -> None:
        name = report.nodeid.split("::")[-1]
        if report.when == "call" or report.failed:
            if report.failed or name not in self.result.outcomes:
                self.result.outcomes[name] = report.outcome
            if report.failed:
                self.result.output[name] = self.result.output.get(name, "") + str(report.longrepr)
            if report.when == "call" and report.passed:
                self.result.notes += [" ".join(value) for key, value in report.user_properties if key == "passed_but"]


# A thread pool with no `max_workers` asks for the core count here.
_SIZED_POOL = ThreadPoolExecutor.__init__.__code__


@contextlib.contextmanager
def _cores(count: int, result: VariantResult) -> Any:
    """Make this process report `count` cores, noting whether anything asks."""
    names = [n for n in ("cpu_count", "process_cpu_count") if hasattr(os, n)]
    originals = {n: getattr(os, n) for n in names}

    def faked() -> int:
        caller = sys._getframe(1)
        if caller.f_code is _SIZED_POOL:
            result.sized_pools.append(caller.f_locals["self"])
        else:
            result.asked_for_cores = True
        return count

    for name in names:
        setattr(os, name, faked)
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(os, name, original)


# A kata session needs these plugins, and only these: not every plugin this environment happens
# to have installed (each would set itself up again in each of the hundreds of variant sessions).
# They are handed over as modules: named with `-p`, each would be looked up among the entry
# points of every installed distribution, in every session.
KATA_PLUGINS = ("pytest_asyncio.plugin", "pytest_timeout", "fastapi_async_katas.pytest_plugin")


def run_variant(variant: Variant, cores: int | None = None) -> VariantResult:
    """Run one variant's tests in this process; its output goes nowhere, its failures are kept.

    With `cores`, the process reports that many cores meanwhile (`os.cpu_count()`), as a
    machine of that size would: a default executor sizes itself from it.
    """
    import pytest

    collector = _Collector()
    collector.result.cores = cores
    target = f"{variant.kata_dir}/test_kata.py::{variant.test}" if variant.test else variant.kata_dir
    # Without the unraisable-exception plugin, the session does not end by collecting garbage
    # across this whole process (every module, every test collected), twice per variant.
    # The app's start on a real uvicorn server is the kata's own check, not its contract's.
    settings = ["-c", str(ROOT / "pyproject.toml"), f"--rootdir={ROOT}", "-o", "katas_server_check=false"]
    args = [target, *settings, f"--kata-app={variant.app}", "-q", "-p", "no:cacheprovider", "-p", "no:unraisableexception", "--color=no"]
    faked = _cores(cores, collector.result) if cores is not None else contextlib.nullcontext()
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull), contextlib.chdir(ROOT), faked, \
            mock.patch.dict(os.environ, {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}):
        try:
            plugins = [importlib.import_module(name) for name in KATA_PLUGINS]
            collector.result.exit_code = int(pytest.main(args, plugins=[*plugins, collector]))
        except BaseException as exc:  # a crashing variant is a failed contract test, not a crashed run
            collector.result.error = f"{type(exc).__name__}: {exc}"
    collector.result.note_pools()
    collector.result.sized_pools.clear()
    return collector.result


# A one-core machine first; if anything asked, a two-core one (a small CI runner, a laptop in a
# container) and a 64-core server: Python's default executor has 5, 6 and 32 threads on them.
FEWEST_CORES, MORE_CORES = 1, (2, 64)
MOST_CORES = MORE_CORES[-1]
INCONCLUSIVE_HEAD = "inconclusive: this machine was too busy to judge"


# Runs of a variant while its tests are inconclusive (the machine too busy to judge).
MOST_RUNS = 3


def run_once_more_if_inconclusive(variant: Variant, cores: int) -> VariantResult:
    """Run a variant; again, up to `MOST_RUNS` in all, while a test was inconclusive."""
    result = run_variant(variant, cores=cores)
    for _ in range(MOST_RUNS - 1):
        if not result.inconclusive:
            break
        result = run_variant(variant, cores=cores)
    return result


def run_on_any_machine(variant: Variant) -> VariantResult:
    """Run a variant as on a one-core machine, and, if its verdict could depend on how many cores
    there are (see `VariantResult.asked_for_cores`), again as on a two-core and a 64-core one:
    the verdict must not change with the machine's size.
    A core count where the machine stayed too busy to judge, beside one that passed, is left out;
    a verdict that differs is run once more on the side that failed before it counts as a change."""
    few = run_once_more_if_inconclusive(variant, FEWEST_CORES)
    if not few.asked_for_cores:
        return few
    for cores in MORE_CORES:
        more = run_once_more_if_inconclusive(variant, cores)
        if more.only_inconclusive and "failed" not in few.outcomes.values():
            continue  # passed on one core, too busy to judge on this many: no verdict to compare
        if few.only_inconclusive and "failed" not in more.outcomes.values():
            few = more  # too busy to judge on one core, passed on this many: the verdict to compare with
            continue
        if few.outcomes != more.outcomes:
            # A busy machine can fail one run that the next one passes; a verdict that depends on
            # the core count fails again. The side that failed runs once more.
            if "failed" in more.outcomes.values():
                more = run_once_more_if_inconclusive(variant, cores)
            else:
                few = run_once_more_if_inconclusive(variant, FEWEST_CORES)
        if few.outcomes != more.outcomes:
            failed = more if "failed" in more.outcomes.values() else few
            few.error = (
                f"{variant.name}: the verdict changes with the machine's core count: "
                f"with {FEWEST_CORES} core {few.outcomes}, with {cores} cores {more.outcomes}. "
                f"What failed, as on {failed.cores} core{'' if failed.cores == 1 else 's'}:\n" + "\n".join(failed.output.values())
            )
            break
    return few


@dataclass
class Contract:
    """What tests/contract/<folder>/contract.toml says about one kata."""

    folder: str
    failing_test: str
    diagnosis: list[str]
    wrong: dict[str, dict[str, Any]]
    fix: dict[str, dict[str, Any]]
    fixes: list[Path]
    wrongs: list[Path]

    @property
    def kata_dir(self) -> str:
        return f"katas/{self.folder}"

    # As shipped, only the test that must fail is run: the others may pass or fail. So is a
    # wrong fix's, where contract.toml names it. A correct fix runs every test.
    def shipped_variant(self) -> Variant:
        app = str(ROOT / self.kata_dir / "app.py")
        return Variant(f"{self.folder}/shipped", self.kata_dir, app, self.failing_test, self.diagnosis)

    def fix_variants(self) -> list[Variant]:
        return [
            Variant(f"{self.folder}/{p.stem}", self.kata_dir, str(p), note=list(self.fix.get(p.stem, {}).get("note", [])))
            for p in self.fixes
        ]

    def wrong_variants(self) -> list[Variant]:
        found = []
        for p in self.wrongs:
            entry = self.wrong.get(p.stem, {})
            found.append(Variant(f"{self.folder}/{p.stem}", self.kata_dir, str(p), entry.get("test", ""), list(entry.get("diagnosis", []))))
        return found


CONTRACT_DIR = ROOT / "tests" / "contract"


def load_contract(folder: str) -> Contract | None:
    """The contract of one kata, or None when its folder or contract.toml is missing."""
    import tomllib

    folder_path = CONTRACT_DIR / folder
    try:
        data = tomllib.loads((folder_path / "contract.toml").read_text(encoding="utf-8"))
    except OSError:
        return None
    return Contract(
        folder=folder,
        failing_test=str(data.get("failing_test", "")),
        diagnosis=[str(d) for d in data.get("diagnosis", [])],
        wrong=dict(data.get("wrong", {})),
        fix=dict(data.get("fix", {})),
        fixes=sorted(folder_path.glob("fix_*.py")),
        wrongs=sorted(folder_path.glob("wrong_*.py")),
    )
