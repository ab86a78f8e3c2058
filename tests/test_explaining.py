"""The lines of a failure report: the timeline, blocked lines, coroutines never awaited."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi_async_katas.engine.awaits import Unawaited
from fastapi_async_katas.engine.explaining import (
    EXCEPTION_GROUP,
    MISSING_AWAIT,
    TIMELINE_MAX_ROWS,
    TIMELINE_WIDTH,
    block_lines,
    error_lines,
    timeline_lines,
    unawaited_lines,
)
from fastapi_async_katas.engine.loopwatch import Block
from fastapi_async_katas.engine.misconceptions import WAITED_ON_A_THREAD, YIELD_FIRST
from fastapi_async_katas.engine.records import RequestRecord, max_overlap
from fastapi_async_katas.engine.remedies import remedy_for
from fastapi_async_katas.engine.userfiles import Place, UserFiles


def record(i: int, started: float, finished: float, status: int = 200) -> RequestRecord:
    return RequestRecord(i, "GET", "/x", fired=0.0, started=started, finished=finished, done=finished, status=status)


def bar(line: str) -> str:
    return line.split("|")[1]


def test_serial_requests_make_a_staircase_of_waiting_then_busy():
    requests = [record(i + 1, i * 0.1, (i + 1) * 0.1) for i in range(4)]
    lines = timeline_lines(requests, 0.0, 0.4)
    assert lines[0].startswith("Timeline (one row per request; · waiting for the app, █ being handled; 0 to 0.40 s)")
    rows = [bar(line) for line in lines[1:]]
    assert all(len(row) == TIMELINE_WIDTH for row in rows)
    assert rows[0].startswith("█") and "·" not in rows[0]
    assert rows[3].startswith("·" * 36) and rows[3].rstrip().endswith("█")
    assert [row.index("█") for row in rows] == sorted(row.index("█") for row in rows)


def test_overlapping_requests_are_busy_in_the_same_columns():
    requests = [record(i + 1, 0.0, 0.1) for i in range(3)]
    rows = [bar(line) for line in timeline_lines(requests, 0.0, 0.1)[1:]]
    assert rows[0] == rows[1] == rows[2] == "█" * TIMELINE_WIDTH


def test_a_row_shows_latency_and_status():
    line = timeline_lines([record(1, 0.0, 0.25, 503), record(2, 0.0, 0.5)], 0.0, 0.5)[1]
    assert line.endswith("|  0.25 s  503")


def test_a_request_that_timed_out_is_marked():
    stuck = RequestRecord(1, "GET", "/x", fired=0.0, started=0.0, timed_out=True)
    line = timeline_lines([stuck, record(2, 0.0, 0.1)], 0.0, 1.0)[1]
    assert bar(line).endswith("?") and line.endswith("timed out")


def test_a_long_burst_shows_a_sample_of_rows_and_says_so():
    requests = [record(i + 1, 0.0, 0.1) for i in range(100)]
    lines = timeline_lines(requests, 0.0, 0.1)
    assert len(lines) == TIMELINE_MAX_ROWS + 1
    assert f"{TIMELINE_MAX_ROWS} of 100 shown" in lines[0]


def test_blocks_are_grouped_by_line_with_wall_against_cpu(tmp_path):
    app = tmp_path / "app.py"
    app.write_text("import time\n\ntime.sleep(1)\nsum(range(10**8))\n")
    sleep, loop = Place(str(app), 3, "route"), Place(str(app), 4, "report")
    blocks = [Block(sleep, 100, 1, 0.0), Block(sleep, 120, 2, 0.2), Block(loop, 300, 290, 0.4)]
    lines = block_lines(blocks, relative_to=str(tmp_path))
    assert lines == [
        "The event loop was blocked 3 times (0.52 s in all), by:",
        "  app.py:4 in report()",
        "      sum(range(10**8))",
        "      1 block: 300 ms wall against 290 ms CPU",
        "      CPU time about equal to the time it ran: the loop was busy computing, so nothing else could run.",
        "  app.py:3 in route()",
        "      time.sleep(1)",
        "      2 blocks: 100–120 ms wall against 1–2 ms CPU",
        "      wall time far above CPU time: the loop sat waiting (on I/O, a sleep or a lock) and could not serve anyone else.",
    ]


def test_unawaited_coroutines_show_where_they_were_created(tmp_path):
    app = tmp_path / "app.py"
    app.write_text("async def save(): ...\n\nsave()\n")
    lines = unawaited_lines([Unawaited("save", Place(str(app), 3, "create"))])
    assert lines[0] == "Coroutines created but never awaited (they never ran):"
    assert lines[1] == "  save()"
    assert lines[2].endswith("app.py:3 in create()") and lines[3].strip() == "save()"


def test_max_overlap_counts_requests_in_the_app_at_once():
    assert max_overlap([(0, 1), (1, 2), (2, 3)]) == 1
    assert max_overlap([(0, 1), (0.5, 2), (0.6, 0.7)]) == 3
    assert max_overlap([]) == 0


def test_the_same_unawaited_coroutine_from_many_requests_is_listed_once_with_a_count(tmp_path):
    app = tmp_path / "app.py"
    app.write_text("async def save(): ...\n\nsave()\n")
    place = Place(str(app), 3, "create")
    lines = unawaited_lines([Unawaited("save", place)] * 200)
    assert lines[1] == "  save() (200 times)" and len(lines) == 4


def test_a_burst_of_several_paths_names_the_path_on_each_row():
    health = RequestRecord(2, "GET", "/health", fired=0.0, started=0.1, finished=0.1, done=0.1, status=200)
    lines = timeline_lines([record(1, 0.0, 0.1), health], 0.0, 0.1)
    assert lines[1].endswith("200  GET /x") and lines[2].endswith("200  GET /health")


def test_time_spent_waiting_for_a_cpu_core_is_called_out(tmp_path):
    app = tmp_path / "app.py"
    app.write_text("x = sum(range(10**8))\n")
    block = Block(Place(str(app), 1, "report"), 1200, 380, 0.0, waiting_for_cpu_ms=800)
    lines = block_lines([block], relative_to=str(tmp_path))
    assert lines[-3] == "      1 block: 1200 ms wall against 380 ms CPU"
    assert lines[-2].startswith("      (of that wall time, the loop thread was ready but waited 800 ms for a CPU core")
    assert lines[-1] == "      CPU time about equal to the time it ran: the loop was busy computing, so nothing else could run."


def test_time_spent_waiting_for_the_gil_is_called_out_and_the_kind_is_the_lines_own(tmp_path):
    """A line blamed for its own 150 ms of computing is a `cpu` block, however long other threads
    held it off the GIL besides; that wait is said apart, with its figure."""
    app = tmp_path / "app.py"
    app.write_text("x = sum(range(10**8))\n")
    block = Block(Place(str(app), 1, "report"), 600, 150, 0.0, waiting_for_cpu_ms=20, waiting_for_gil_ms=400, gil_measured=True)
    assert block.kind == "cpu"
    lines = block_lines([block], relative_to=str(tmp_path))
    assert lines[-3] == "      1 block: 600 ms wall against 150 ms CPU"
    assert lines[-2] == "      (of that wall time, the loop thread waited 400 ms for the GIL while other threads of this process ran Python.)"
    assert lines[-1].startswith("      CPU time about equal to the time it ran")


def test_a_step_no_line_is_blamed_for_that_mostly_waited_for_the_gil_is_of_kind_gil():
    assert Block(None, 300, 10, 0.0, waiting_for_gil_ms=250, gil_measured=True).kind == "gil"
    assert Block(None, 300, 10, 0.0, waiting_for_gil_ms=100, gil_measured=True, waiting_own_ms=180).kind == "io"


def test_the_sampler_starved_tells_of_a_gil_wait_only_where_gil_waits_are_not_measured():
    """Where they are measured, a sampler that could not run for long is no sign of its own:
    the loop may have slept on its own account while other threads computed."""
    starved = dict(others_cpu_ms=250, longest_gap_ms=200)
    assert Block(PLACE_ANY, 300, 10, 0.0, **starved).kind == "gil"
    assert Block(PLACE_ANY, 300, 10, 0.0, **starved, gil_measured=True, waiting_own_ms=280).kind == "io"


PLACE_ANY = Place("/app.py", 1, "route")


def test_blocks_that_differ_show_their_range_and_equal_ones_say_each(tmp_path):
    app = tmp_path / "app.py"
    app.write_text("import time\ntime.sleep(0.1)\n")
    place = Place(str(app), 2, "route")
    same = block_lines([Block(place, 102, 2, 0.0), Block(place, 102.3, 2.4, 0.2)], relative_to=str(tmp_path))
    assert same[3] == "      2 blocks: 102 ms wall each against 2 ms CPU each"
    differ = block_lines([Block(place, 100, 1, 0.0), Block(place, 180, 3, 0.2)], relative_to=str(tmp_path))
    assert differ[3] == "      2 blocks: 100–180 ms wall against 1–3 ms CPU"


def test_cpu_well_below_the_time_it_ran_is_not_called_about_equal(tmp_path):
    app = tmp_path / "app.py"
    app.write_text("x = 1\n")
    block = Block(Place(str(app), 1, "report"), 200, 120, 0.0)
    assert block_lines([block], relative_to=str(tmp_path))[-1].startswith("      CPU time most of the time it ran")


def test_waiting_on_a_thread_and_yielding_first_are_named_at_the_blamed_line(tmp_path):
    app = tmp_path / "app.py"
    app.write_text(
        "async def route(pool):\n"
        "    await asyncio.sleep(0)\n"
        "    return pool.submit(work).result()\n"
    )
    lines = block_lines([Block(Place(str(app), 3, "route"), 150, 1, 0.0)], relative_to=str(tmp_path))
    assert lines[-2:] == ["      " + WAITED_ON_A_THREAD, "      " + YIELD_FIRST]


def test_the_probe_cites_what_usually_helps_for_the_blamed_call(tmp_path):
    app = tmp_path / "app.py"
    app.write_text("import time\ntime.sleep(0.2)\n")
    block = Block(Place(str(app), 2, "route"), 200, 1, 0.0)
    assert block_lines([block], relative_to=str(tmp_path))[-1].startswith("      wall time far above CPU time")
    assert block_lines([block], relative_to=str(tmp_path), remedies=True)[-1] == (
        f"      What usually helps (time.sleep): {remedy_for('time.sleep(0.2)', 'io').text}."
    )


def test_a_route_that_returned_a_coroutine_is_said_to_miss_an_await():
    async def fetch():
        return {}

    coroutine = fetch()
    try:
        iter(coroutine)
    except TypeError as exc:
        error = exc
    finally:
        coroutine.close()
    broken = RequestRecord(1, "GET", "/orders/1", fired=0.0, started=0.0, finished=0.1, done=0.1, status=500, error=error)
    lines = error_lines([broken])
    assert lines[:2] == ["Errors raised by the app:", "  GET /orders/1 → TypeError: 'coroutine' object is not iterable"]
    assert MISSING_AWAIT in lines


def test_other_errors_are_not_said_to_miss_an_await():
    broken = RequestRecord(1, "GET", "/x", fired=0.0, started=0.0, finished=0.1, done=0.1, status=500, error=KeyError("price"))
    assert MISSING_AWAIT not in error_lines([broken])


def test_a_task_groups_error_names_what_its_tasks_raised_and_where():
    async def page():
        async def price():
            raise LookupError("no price for 2\nsecond line of the message")

        async with asyncio.TaskGroup() as group:
            group.create_task(price())

    try:
        asyncio.run(page())
    except BaseExceptionGroup as exc:
        error = exc
    broken = RequestRecord(1, "GET", "/page/2", fired=0.0, started=0.0, finished=0.1, done=0.1, status=500, error=error)
    lines = error_lines([broken], UserFiles.under([Path(__file__).parent]))
    assert lines[1] == "  GET /page/2 → ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)"
    assert f"    {EXCEPTION_GROUP}" in lines
    inside = lines.index("    inside it: LookupError: no price for 2")
    assert lines[inside + 1].endswith("in price()") and lines[inside + 2] == '          raise LookupError("no price for 2\\nsecond line of the message")'
