"""The checks of a `Run`: each one passes and fails exactly at the bound it is given."""

from __future__ import annotations

import pytest

from fastapi_async_katas.engine.judging import KataFailure, Run
from fastapi_async_katas.engine.loopwatch import Block
from fastapi_async_katas.engine.records import RequestRecord
from fastapi_async_katas.engine.userfiles import Place

PLACE = Place(__file__, 1, "route")


def run_with_blocks(*blocks: Block) -> Run:
    record = RequestRecord(1, "GET", "/", fired=0.0, started=0.0, finished=0.3, done=0.3, status=200)
    return Run([record], 0.0, 0.3, list(blocks), [], timeout_s=5.0, block_ms=50.0)


def test_expect_no_blocks_judges_against_the_bound_it_is_given():
    run = run_with_blocks(Block(PLACE, wall_ms=80.0, cpu_ms=1.0, started=0.1))
    run.expect_no_blocks(at_least_ms=100)
    with pytest.raises(KataFailure, match=r"blocked for 80 ms"):
        run.expect_no_blocks(at_least_ms=60)


def test_expect_no_blocks_judges_against_the_runs_threshold_by_default():
    run_with_blocks(Block(PLACE, wall_ms=40.0, cpu_ms=1.0, started=0.1)).expect_no_blocks()
    with pytest.raises(KataFailure, match=r"no step of the event loop longer than 50 ms"):
        run_with_blocks(Block(PLACE, wall_ms=55.0, cpu_ms=1.0, started=0.1)).expect_no_blocks()


def test_expect_no_cpu_blocks_judges_cpu_time_not_wall_time():
    run = run_with_blocks(Block(PLACE, wall_ms=300.0, cpu_ms=20.0, started=0.1))
    run.expect_no_cpu_blocks(cpu_ms=50)
    with pytest.raises(KataFailure, match=r"spent 20 ms computing"):
        run.expect_no_cpu_blocks(cpu_ms=10)
