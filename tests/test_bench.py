"""`katas bench`: which apps it runs, the table it prints, and one short real run of kata 01.

No figure is checked against another: speed belongs in the bench's output, not in a test.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from fastapi_async_katas.commands import bench
from fastapi_async_katas.commands.bench import (
    CURRENT,
    HANGS,
    SAME_AS_SHIPPED,
    SHIPPED,
    SOLUTION,
    Figures,
    Workload,
    bench_app,
    plan,
    table_lines,
)
from fastapi_async_katas.commands.benchserver import AppServer, BenchError

ROOT = Path(__file__).resolve().parent.parent


def test_an_unchanged_app_is_run_once_as_the_shipped_one(tmp_path):
    current, solution = tmp_path / "app.py", tmp_path / "solution.py"
    current.write_text("shipped\n")
    rows = plan(b"shipped\n", current, solution, tmp_path)
    assert [(label, note) for label, _, note in rows] == [(SHIPPED, ""), (CURRENT, SAME_AS_SHIPPED), (SOLUTION, "")]
    assert rows[0][1].read_text() == "shipped\n" and rows[1][1] is None and rows[2][1] == solution


def test_an_edited_app_is_run_between_the_shipped_one_and_the_solution(tmp_path):
    current = tmp_path / "app.py"
    current.write_text("edited\n")
    rows = plan(b"shipped\n", current, tmp_path / "solution.py", tmp_path)
    assert [(label, app is not None) for label, app, _ in rows] == [(SHIPPED, True), (CURRENT, True), (SOLUTION, True)]
    assert rows[1][1] == current


def test_without_git_the_shipped_app_is_said_to_be_unknown(tmp_path):
    current = tmp_path / "app.py"
    current.write_text("edited\n")
    rows = plan("this folder is not a git checkout", current, tmp_path / "solution.py", tmp_path)
    assert rows[0] == (SHIPPED, None, "not found: this folder is not a git checkout")
    assert [label for label, app, _ in rows if app is not None] == [CURRENT, SOLUTION]


def test_the_table_shows_rate_latencies_errors_and_speedup_over_the_shipped_app():
    shipped = Figures(SHIPPED, latencies_s=[2.0] * 50, seconds=5.0)
    same = Figures(CURRENT, note=SAME_AS_SHIPPED)
    solution = Figures(SOLUTION, latencies_s=[0.1] * 990 + [0.3] * 10, errors=2, seconds=5.0)
    assert table_lines([shipped, same, solution]) == [
        "app                   requests     req/s        p50        p99  errors  speedup over shipped",
        "--------------------------------------------------------------------------------------------",
        "shipped app.py              50      10.0     2.00 s     2.00 s       0  1.0x",
        f"your app.py           ({SAME_AS_SHIPPED})",
        "reference solution        1000     200.0     100 ms     100 ms       2  20.0x",
    ]


def test_percentiles_are_nearest_rank():
    figures = Figures("x", latencies_s=[i / 100 for i in range(1, 101)], seconds=1.0)
    assert (figures.percentile(0.5), figures.percentile(0.99)) == (0.5, 0.99)
    assert Figures("x").percentile(0.5) is None


def test_a_kata_without_a_benchmark_says_why(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert bench.main(["02"]) == 1
    err = capsys.readouterr().err
    assert "kata 02 (missing_await) has no benchmark: its mistake loses work rather than time" in err
    assert "Katas with one: 01" in err


def test_an_unknown_kata_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert bench.main(["99"]) == 2
    assert "there is no kata '99'" in capsys.readouterr().err


def test_bench_01_serves_each_app_on_uvicorn_and_prints_the_table(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert bench.main(["01", "-t", "0.3", "-c", "4"]) == 0
    out = capsys.readouterr().out
    assert "Kata 01 · A blocking database call in an async route" in out
    assert "GET /products/1, /products/2, /products/3: 4 clients for 0.3 s per app, uvicorn on 127.0.0.1" in out
    figures = r"\s+\d+\s+\d+\.\d\s+(\d+ ms|\d\.\d\d s|-)\s+(\d+ ms|\d\.\d\d s|-)\s+0  "
    assert re.search(rf"^shipped app\.py{figures}", out, re.M), out
    assert re.search(rf"^reference solution{figures}", out, re.M), out
    assert re.search(rf"^your app\.py(\s+\({re.escape(SAME_AS_SHIPPED)}\)|{figures})", out, re.M), out


@pytest.mark.parametrize("args", [["01", "-c", "0"], ["01", "-t", "0"]])
def test_clients_and_seconds_must_be_positive(args, monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit) as exit_:
        bench.main(args)
    assert exit_.value.code == 2


def test_an_app_that_needs_a_loop_at_import_is_a_row_that_says_so(tmp_path):
    app = tmp_path / "app.py"
    app.write_text("import anyio.to_thread\nanyio.to_thread.current_default_thread_limiter().total_tokens = 200\n")
    with AppServer(app, (), dict(os.environ), tmp_path) as server:
        with pytest.raises(BenchError) as failure:
            server.wait_until_up()
    message = str(failure.value)
    assert "did not start" in message and "app.py:2: this line needs a running event loop" in message
    assert "Traceback" not in message


def test_an_app_whose_requests_hang_is_a_row_that_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "WARMUP_TIMEOUT_S", 0.5)
    app = tmp_path / "app.py"
    app.write_text(
        "import asyncio\nfrom fastapi import FastAPI\napp = FastAPI()\n\n"
        "@app.get('/products/{product_id}/page')\nasync def page(product_id: int):\n    await asyncio.Event().wait()\n"
    )
    workload = Workload(("/products/1/page",))
    with AppServer(app, (), dict(os.environ), tmp_path) as server:
        figures = bench_app(server, workload, clients=2, seconds=0.3)
    assert figures.note == HANGS.format(seconds=0.5)
    figures.label = SHIPPED
    row = table_lines([figures])[2]
    assert row.startswith("shipped app.py") and "its requests hang" in row and "Traceback" not in row
