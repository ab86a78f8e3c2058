"""Self-tests of the slow storage world: real files whose reads block in the OS."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from verdicts import explanation

from fastapi_async_katas.engine.firing import serve
from fastapi_async_katas.engine.judging import Inconclusive, KataFailure, Run
from fastapi_async_katas.engine.loading import load_app
from fastapi_async_katas.engine.records import RequestRecord
from fastapi_async_katas.engine.userfiles import UserFiles
from fastapi_async_katas.world.storage import ENV_VAR, SlowStorage
from fastapi_async_katas.world.storage_checks import (
    FEW_READS,
    LOOP_BLOCKED,
    NOT_FOUND_BUT_THERE,
    NOT_REGULAR,
    READS_IN_TURN,
    SLOW_PROBE,
)

LATENCY_S = 0.2


@pytest.fixture
def slow(tmp_path: Path):
    with SlowStorage(tmp_path / "share", latency_s=LATENCY_S) as storage:
        yield storage


def read_in_thread(path: Path) -> tuple[str, float, float]:
    """Read a file in a new thread: its text, the wall time and that thread's CPU time."""
    out: dict[str, object] = {}

    def read() -> None:
        started, cpu = time.perf_counter(), time.thread_time()
        out["text"] = path.read_text()
        out["wall"], out["cpu"] = time.perf_counter() - started, time.thread_time() - cpu

    thread = threading.Thread(target=read)
    thread.start()
    thread.join(10)
    return out["text"], out["wall"], out["cpu"]  # type: ignore[return-value]


def test_a_read_waits_out_the_latency_in_the_os_not_on_the_cpu(slow):
    path = slow.put("invoices/INV-1.json", '{"number": "INV-1"}')
    text, wall, cpu = read_in_thread(path)
    assert text == '{"number": "INV-1"}'
    assert wall >= LATENCY_S * 0.95
    assert cpu < LATENCY_S / 4
    assert slow.total_reads == 1 and slow.in_flight == 0


def test_files_are_real_paths_that_exist_under_the_folder(slow):
    path = slow.put("a/b/c.txt", "Foo")
    assert path == slow.root / "a" / "b" / "c.txt"
    assert path.exists() and sorted(os.listdir(slow.root / "a" / "b")) == ["c.txt"]
    assert slow.content("a/b/c.txt") == b"Foo"
    assert slow.total_reads == 0


def test_a_missing_file_is_file_not_found_at_once(slow):
    with pytest.raises(FileNotFoundError):
        open(slow.root / "nope.txt").read()
    assert slow.total_reads == 0


def test_every_read_of_a_file_gets_the_whole_file_and_is_counted(slow):
    path = slow.put("report.txt", "Foo" * 30_000)  # more than a pipe holds at once
    for _ in range(3):
        assert path.read_text() == "Foo" * 30_000
    slow.put("report.txt", "Bar")
    assert path.read_text() == "Bar"
    assert slow.total_reads == 4
    assert [r.name for r in slow.reads] == ["report.txt"] * 4


def test_reads_of_different_files_are_in_flight_together(slow):
    slow.latency_s = 0.6  # the world threads must all get a CPU within it, on a busy machine too
    paths = [slow.put(f"f{i}.txt", f"Baz {i}") for i in range(4)]
    files = [open(p) for p in paths]  # every reader has opened its file: all four reads are in flight
    try:
        texts = [f.read() for f in files]
    finally:
        for f in files:
            f.close()
    assert texts == [f"Baz {i}" for i in range(4)]
    assert slow.peak_in_flight == 4
    assert slow.peak_between(0, time.perf_counter()) == 4


def test_closing_releases_every_world_thread(tmp_path):
    storage = SlowStorage(tmp_path / "share")
    for i in range(3):
        storage.put(f"f{i}.txt", "Foo")
    storage.close()
    assert not any(t.is_alive() for t in storage._threads)


def test_the_fixture_tells_the_app_where_the_storage_is(katas_storage):
    assert os.environ[ENV_VAR] == str(katas_storage.root)
    assert katas_storage.latency_s == 0.3


# -- checks ------------------------------------------------------------------------------


def make_run(*requests: tuple[str, float, float], blocks: list | None = None) -> Run:
    """A run of requests, each (path, fired, done), as the harness would record it."""
    records = [
        RequestRecord(i + 1, "GET", path, fired=fired, started=fired, finished=done, done=done, status=200)
        for i, (path, fired, done) in enumerate(requests)
    ]
    return Run(records, began=0.0, ended=max(r.done for r in records), blocks=blocks or [], unawaited=[], timeout_s=5, block_ms=50)


def test_a_slow_probe_fails_with_every_probe_latency_and_which_requests_they_are(slow):
    run = make_run(("/invoices/1", 0.0, 0.3), ("/health", 0.02, 0.45), ("/invoices/2", 0.04, 0.6), ("/health", 0.06, 0.9))
    with pytest.raises(KataFailure) as failure:
        slow.expect_responsive(run, probe="/health", within_s=0.1)
    lines = explanation(failure.value).splitlines()
    assert lines[0] == SLOW_PROBE.format(probe="GET /health", seconds=0.43)
    assert "  measured: 2 GET /health probes answered in 0.43 s and 0.84 s, while 0 files were read from storage" in lines
    assert "  expected: GET /health answers within 0.10 s, even while files are being read" in lines
    assert "In the timeline below, #2 and #4 are the probes (GET /health)." in lines


def test_slow_probes_are_inconclusive_when_the_loop_waited_for_a_cpu_through_the_quickest(slow):
    run = make_run(("/invoices/1", 0.0, 1.8), ("/health", 0.04, 0.16), ("/health", 0.2, 0.33))
    quickest, other = run.requests[1], run.requests[2]
    other.busy_s = 0.1  # the slower probe waited most: the quickest one is the one judged
    with pytest.raises(KataFailure) as failure:
        slow.expect_responsive(run, probe="/health", within_s=0.1)
    assert not isinstance(failure.value, Inconclusive)
    quickest.busy_s = 0.04  # a third of its 0.12 s, in a run of 1.8 s: a twentieth of the run
    with pytest.raises(Inconclusive):
        slow.expect_responsive(run, probe="/health", within_s=0.1)


def test_fast_probes_pass_when_the_loop_was_never_blocked(slow):
    run = make_run(("/invoices/1", 0.0, 0.3), ("/health", 0.02, 0.03), ("/health", 0.06, 0.5))
    slow.expect_responsive(run, probe="/health", within_s=0.1)


def test_fast_probes_still_fail_when_the_loop_was_blocked(slow):
    from fastapi_async_katas.engine.loopwatch import Block

    run = make_run(("/invoices/1", 0.0, 0.3), ("/health", 0.02, 0.03), blocks=[Block(None, 300.0, 1.0, 0.0)])
    with pytest.raises(KataFailure) as failure:
        slow.expect_responsive(run, probe="/health", within_s=0.1)
    assert explanation(failure.value).splitlines()[0] == LOOP_BLOCKED


def test_a_run_without_probes_is_a_mistake_in_the_test(slow):
    with pytest.raises(ValueError, match="no request for '/health'"):
        slow.expect_responsive(make_run(("/invoices/1", 0.0, 0.3)))


def test_too_few_reads_fail_with_the_count(slow):
    run = make_run(("/invoices/1", 0.0, 0.3), ("/invoices/2", 0.0, 0.3))
    with pytest.raises(KataFailure) as failure:
        slow.expect_reads(run, at_least=2)
    assert explanation(failure.value).splitlines()[0] == FEW_READS.format(requests=2, reads="0 reads")


def test_reads_one_after_another_fail_the_overlap_check(slow):
    paths = [slow.put(f"f{i}.txt", "Foo") for i in range(2)]
    began = time.perf_counter()
    for path in paths:
        path.read_text()
    run = make_run(("/a", 0.0, 0.1))
    run.began, run.ended = began, time.perf_counter()
    slow.expect_reads(run, at_least=2)
    with pytest.raises(KataFailure) as failure:
        slow.expect_reads_together(run, at_least=2)
    assert explanation(failure.value).splitlines()[0] == READS_IN_TURN.format(how="one after another")


# -- with an app on the event loop -------------------------------------------------------

APP = '''
import os
from pathlib import Path
from fastapi import FastAPI

app = FastAPI()

@app.get("/report")
async def report():
    return {"text": (Path(os.environ["SHOP_STORAGE"]) / "report.txt").read_text()}
'''


async def test_a_blocking_read_in_async_code_is_blamed_on_its_line_as_waiting(slow, tmp_path, monkeypatch):
    slow.put("report.txt", "Foo")
    monkeypatch.setenv(ENV_VAR, str(slow.root))
    app_file = tmp_path / "app.py"
    app_file.write_text(APP)
    async with serve(load_app(app_file, "storage_selftest_app"), user_files=UserFiles.under([tmp_path])) as harness:
        run = await harness.fire("GET", "/report", n=2)
    run.expect_status(200).expect_json({"text": "Foo"})
    # Both reads block; on a very busy machine one may be excused as time spent waiting for a CPU.
    assert [b.place.line for b in run.blocks if b.place] in ([10], [10, 10])
    assert all(b.kind == "io" and b.wall_ms >= LATENCY_S * 1000 * 0.9 for b in run.blocks)
    assert slow.peak_between(run.began, run.ended) == 1


def test_a_404_for_a_file_that_is_there_says_why_it_may_have_been_missed(slow):
    slow.put("invoices/INV-7.json", "{}")
    record = RequestRecord(1, "GET", "/invoices/INV-7", fired=0.0, started=0.0, finished=0.01, done=0.01, status=404)
    run = Run([record], 0.0, 0.01, [], [], timeout_s=5.0, block_ms=50.0)
    with pytest.raises(KataFailure) as failure:
        slow.expect_served(run, "invoices/INV-7.json")
    text = explanation(failure.value)
    assert text.startswith(NOT_FOUND_BUT_THERE.format(label="GET /invoices/INV-7", name="invoices/INV-7.json"))
    assert "the app never read it" in text and NOT_REGULAR in text
    slow.expect_served(run, "invoices/INV-8.json")  # not on the storage: a 404 is right


def test_a_regular_file_check_is_false_on_the_storage_but_the_file_exists_and_reads(slow):
    path = slow.put("invoices/INV-9.json", "{}")
    assert path.exists() and not path.is_file()
    assert read_in_thread(path)[0] == "{}"
