"""The contract runner proves verdicts do not change with the machine's core count."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

from contract_runner import INCONCLUSIVE_HEAD, MOST_CORES, Variant, VariantResult, run_on_any_machine, run_variant

SIZED_BY_CORES = """
import asyncio
import threading


async def test_a_pool_sized_by_the_machine():
    # Jobs that each wait for all the others pass only when the default executor runs them all at once.
    loop = asyncio.get_running_loop()
    barrier = threading.Barrier({parties}, timeout=1)
    await asyncio.gather(*(loop.run_in_executor(None, barrier.wait) for _ in range({parties})))
"""
AT_MOST_SIX_AT_ONCE = """
import asyncio
import threading
import time

lock = threading.Lock()
running = peak = 0


def job():
    global running, peak
    with lock:
        running += 1
        peak = max(peak, running)
    time.sleep(0.5)
    with lock:
        running -= 1


async def test_a_pool_sized_by_the_machine():
    await asyncio.gather(*(asyncio.to_thread(job) for _ in range(10)))
    assert peak <= 6
"""
ONE_THREAD = """
import asyncio


async def test_one_job_in_the_default_executor():
    await asyncio.to_thread(lambda: None)
"""
ASKS_ITSELF = """
import os


def test_asks_for_the_core_count():
    assert os.cpu_count() >= 1
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
    # Five jobs at once fill a one-core machine's default executor: a bigger one's would not be full.
    result = run_variant(variant_of(tmp_path, SIZED_BY_CORES.format(parties=5)), cores=1)
    assert result.outcomes == {"test_a_pool_sized_by_the_machine": "passed"}
    assert result.asked_for_cores and result.cores == 1
    assert os.cpu_count.__name__ == "cpu_count"  # the process's own answer is put back afterwards


def test_a_verdict_that_changes_with_the_core_count_is_an_error(tmp_path):
    # Six jobs that wait for each other: the default executor has 5 threads on 1 core, 6 on 2.
    result = run_on_any_machine(variant_of(tmp_path, SIZED_BY_CORES.format(parties=6)))
    assert result.outcomes == {"test_a_pool_sized_by_the_machine": "failed"}
    assert "the verdict changes with the machine's core count: with 1 core {'test_a_pool_sized_by_the_machine': 'failed'}, with 2 cores {'test_a_pool_sized_by_the_machine': 'passed'}" in result.error
    assert "What failed, as on 1 core:\n" in result.error and "BrokenBarrierError" in result.error


def test_a_verdict_that_changes_only_on_a_big_machine_is_an_error_too(tmp_path):
    # The default executor has 5 threads on 1 core, 6 on 2, 32 on 64: this passes on the first two.
    result = run_on_any_machine(variant_of(tmp_path, AT_MOST_SIX_AT_ONCE))
    assert result.outcomes == {"test_a_pool_sized_by_the_machine": "passed"}
    assert f"with {MOST_CORES} cores {{'test_a_pool_sized_by_the_machine': 'failed'}}" in result.error


def test_a_variant_that_never_asks_runs_once(tmp_path):
    result = run_on_any_machine(variant_of(tmp_path, NOT_ASKING))
    assert not result.asked_for_cores and not result.error


def test_a_pool_that_never_filled_up_does_not_count_as_asking(tmp_path):
    # One job in the default executor runs at once on any machine: its size did not matter.
    result = run_variant(variant_of(tmp_path, ONE_THREAD), cores=1)
    assert result.outcomes == {"test_one_job_in_the_default_executor": "passed"}
    assert not result.asked_for_cores and not result.sized_pools


def test_code_that_asks_for_the_core_count_itself_counts(tmp_path):
    result = run_variant(variant_of(tmp_path, ASKS_ITSELF), cores=1)
    assert result.outcomes == {"test_asks_for_the_core_count": "passed"} and result.asked_for_cores


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
