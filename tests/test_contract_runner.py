"""The contract runner proves verdicts do not change with the machine's core count."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

from contract_runner import INCONCLUSIVE_HEAD, MOST_CORES, Variant, VariantResult, run_on_any_machine, run_variant

SIZED_BY_CORES = """
import asyncio
import os


async def test_a_pool_sized_by_the_machine():
    loop = asyncio.get_running_loop()
    workers = await loop.run_in_executor(None, lambda: loop._default_executor._max_workers)
    assert workers == {expected}
"""
NOT_ASKING = """
def test_nothing_about_cores():
    assert True
"""


def variant_of(tmp_path: Path, source: str) -> Variant:
    folder = tmp_path / "variant"
    folder.mkdir()
    (folder / "test_sized.py").write_text(textwrap.dedent(source))
    app = folder / "app.py"
    app.write_text("app = None\n")
    return Variant("sized", str(folder), str(app))


def test_a_variant_runs_as_on_one_core_and_says_that_it_asked(tmp_path):
    result = run_variant(variant_of(tmp_path, SIZED_BY_CORES.format(expected="min(32, 1 + 4)")), cores=1)
    assert result.outcomes == {"test_a_pool_sized_by_the_machine": "passed"}
    assert result.asked_for_cores and result.cores == 1
    assert os.cpu_count.__name__ == "cpu_count"  # the process's own answer is put back afterwards


def test_a_verdict_that_changes_with_the_core_count_is_an_error(tmp_path):
    result = run_on_any_machine(variant_of(tmp_path, SIZED_BY_CORES.format(expected=5)))
    assert result.outcomes == {"test_a_pool_sized_by_the_machine": "passed"}
    assert "the verdict changes with the machine's core count: with 1 core {'test_a_pool_sized_by_the_machine': 'passed'}, with 2 cores {'test_a_pool_sized_by_the_machine': 'failed'}" in result.error
    assert "What failed, as on 2 cores:\n" in result.error and "assert 6 == 5" in result.error


def test_a_verdict_that_changes_only_on_a_big_machine_is_an_error_too(tmp_path):
    # The default executor has 5 threads on 1 core, 6 on 2, 32 on 64: this passes on the first two.
    result = run_on_any_machine(variant_of(tmp_path, SIZED_BY_CORES.replace("workers == {expected}", "workers < 32")))
    assert result.outcomes == {"test_a_pool_sized_by_the_machine": "passed"}
    assert f"with {MOST_CORES} cores {{'test_a_pool_sized_by_the_machine': 'failed'}}" in result.error


def test_a_variant_that_never_asks_runs_once(tmp_path):
    result = run_on_any_machine(variant_of(tmp_path, NOT_ASKING))
    assert not result.asked_for_cores and not result.error


def test_a_variant_only_inconclusive_is_told_from_one_that_failed():
    """A correct fix whose only failures were "too busy to judge" is skipped, never passed on a
    guess; a real failure beside one is still a failure."""
    busy = f"{INCONCLUSIVE_HEAD} (70% of the time waiting for a CPU); run it again."
    only_busy = VariantResult(outcomes={"test_a": "passed", "test_b": "failed"}, output={"test_b": busy})
    assert only_busy.inconclusive and only_busy.only_inconclusive
    also_wrong = VariantResult(outcomes={"test_a": "failed", "test_b": "failed"}, output={"test_a": "AssertionError", "test_b": busy})
    assert also_wrong.inconclusive and not also_wrong.only_inconclusive
    passed = VariantResult(outcomes={"test_a": "passed"})
    assert not passed.inconclusive and not passed.only_inconclusive


BUSY_ON_BIG_MACHINES = """
import os

from fastapi_async_katas.engine.verdicts import Inconclusive


def test_too_busy_to_judge_on_many_cores():
    if os.cpu_count() > 1:
        raise Inconclusive("{head} (70% of the time waiting for a CPU); run it again.")
"""


def test_a_pass_on_one_core_and_too_busy_to_judge_on_more_is_no_change_of_verdict(tmp_path):
    result = run_on_any_machine(variant_of(tmp_path, BUSY_ON_BIG_MACHINES.format(head=INCONCLUSIVE_HEAD)))
    assert not result.error, result.error
    # The one-core verdict stands, whatever it is: a wrong fix that passed there is still caught.
    assert result.outcomes == {"test_too_busy_to_judge_on_many_cores": "passed"} and result.cores == 1


BUSY_ON_ONE_CORE = """
import os

from fastapi_async_katas.engine.verdicts import Inconclusive


def test_too_busy_to_judge_on_one_core():
    if os.cpu_count() == 1:
        raise Inconclusive("{head} (70% of the time waiting for a CPU); run it again.")
"""


def test_too_busy_to_judge_on_one_core_and_a_pass_on_more_is_no_change_of_verdict(tmp_path):
    result = run_on_any_machine(variant_of(tmp_path, BUSY_ON_ONE_CORE.format(head=INCONCLUSIVE_HEAD)))
    assert not result.error, result.error
    # The first judged verdict stands, and the bigger machine is compared with it.
    assert result.outcomes == {"test_too_busy_to_judge_on_one_core": "passed"} and result.cores == 2
