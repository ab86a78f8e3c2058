"""`katas probe`: targets of every form, the report, the one-object JSON, and clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from appimports import app_imports_undone

from fastapi_async_katas.commands import probe
from fastapi_async_katas.commands.probe_json import FORMAT, KEYS
from fastapi_async_katas.commands.probe_report import NO_BLOCKS, STILL_WAITING

TOO_BUSY = "this machine was too busy"

APPS = Path(__file__).parent / "probe_apps"
BLOCK_KEYS = {"file", "line", "function", "code", "wall_ms", "cpu_ms", "kind", "chain", "held_by", "request", "remedy"}


@pytest.fixture(autouse=True)
def _isolated_imports(monkeypatch):
    """The probe puts the app's folder on sys.path and imports it: undo both after each test."""
    with app_imports_undone(monkeypatch):
        yield


def marked_line(path: Path) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if "# BLOCKS:" in line)


def run_probe(capsys, *args: str) -> tuple[int, str, str]:
    code = probe.main(list(args), prog="katas probe")
    out, err = capsys.readouterr()
    return code, out, err


def test_the_report_shows_the_timeline_figures_and_the_line_that_blocked(capsys, monkeypatch):
    monkeypatch.chdir(APPS)
    code, out, _ = run_probe(capsys, "blocking_sleep.py", "GET", "/", "-n", "2")
    assert code == 0
    line = marked_line(APPS / "blocking_sleep.py")
    lines = out.splitlines()
    assert lines[0] == "Probe: GET / × 2 at once, on blocking_sleep.py:app"
    assert any(row.startswith("Timeline (one row per request") for row in lines)
    assert "2 requests in " in out and "at most 1 in the app at once; status: 2× 200" in out
    assert f"  blocking_sleep.py:{line} in report()" in lines
    assert "      time.sleep(0.2)  # BLOCKS: io" in lines
    # Each sleep is a block; on a very busy machine one may be excused as time spent waiting
    # for a CPU, so the table is checked row by row rather than counted.
    header = next((row for row in lines if row.startswith("Each block (")), None)
    assert header in ("Each block (1):", "Each block (2):"), out
    rows = [row.split() for row in lines[lines.index(header) + 2 :]]
    assert rows and [(r[1], r[3], r[-1]) for r in rows] == [(f"blocking_sleep.py:{line}", "report()", "io")] * len(rows)


def test_a_clean_app_is_reported_free(capsys, monkeypatch):
    monkeypatch.chdir(APPS)
    code, out, _ = run_probe(capsys, "clean_async_sleep.py:app", "GET", "/", "-n", "3")
    assert code == 0
    assert "at most 3 in the app at once; status: 3× 200" in out
    if TOO_BUSY in out:  # the loop itself waited for a CPU: an honest "could not tell", not a block
        pytest.skip(f"this machine was too busy to judge the probe: {out}")
    assert NO_BLOCKS.format(block_ms=50) in out


def test_json_is_one_versioned_object_with_the_documented_keys(capsys, monkeypatch):
    monkeypatch.chdir(APPS)
    code, out, _ = run_probe(capsys, "blocking_event_wait.py", "GET", "/", "-n", "2", "--json")
    assert code == 0
    data = json.loads(out)
    assert list(data) == list(KEYS)
    assert (data["format"], data["target"], data["interrupted"], data["left_out"]) == (FORMAT, "blocking_event_wait.py:app", False, 0)
    assert data["load"] == {"method": "GET", "path": "/", "n": 2, "duration_s": None, "rate": None}
    assert (data["requests"], data["max_in_flight"], data["status_counts"]) == (2, 1, {"200": 2})
    assert data["blocks"] and all(set(b) == BLOCK_KEYS for b in data["blocks"])
    first = data["blocks"][0]
    # Paths as the text shows them: relative to the working folder.
    assert (first["file"], first["line"], first["function"], first["kind"]) == (
        "blocking_event_wait.py",
        marked_line(APPS / "blocking_event_wait.py"),
        "wait_for_warmup",
        "io",
    )
    assert first["wall_ms"] >= 150 and first["cpu_ms"] < first["wall_ms"]
    assert first["request"] in (1, 2) and first["remedy"].startswith("the `asyncio` lock or event")
    assert [p["file"] for p in first["chain"]] == ["blocking_event_wait.py"] * len(first["chain"])
    (place,) = data["block_places"]
    assert (place["file"], place["line"], place["blocks"], place["of_requests"]) == ("blocking_event_wait.py", first["line"], len(data["blocks"]), 2)
    assert place["seen_in_requests"] == len({b["request"] for b in data["blocks"]})
    assert data["findings"] == ["blocks"] and data["errors"] == data["timeouts"] == data["unawaited"] == data["startup_blocks"] == []


def test_what_the_app_prints_cannot_spoil_the_json(capsys, tmp_path):
    app = tmp_path / "chatty.py"
    app.write_text(
        "import subprocess\nfrom fastapi import FastAPI\nprint('importing')\napp = FastAPI()\n\n"
        "@app.get('/')\nasync def index():\n    print('handling')\n    subprocess.run(['echo', 'from a child'])\n    return {}\n"
    )
    code = probe.main([str(app), "GET", "/", "--json", "-n", "1"])
    captured = capsys.readouterr()
    assert code == 0
    assert list(json.loads(captured.out)) == list(KEYS)
    assert "importing" in captured.err and "handling" in captured.err


def test_a_module_target_is_imported_from_the_working_directory_and_blames_its_helper(capsys, monkeypatch):
    monkeypatch.chdir(APPS)
    code, out, _ = run_probe(capsys, "blocking_pkg.main:app", "GET", "/", "-n", "2", "--json")
    helper = APPS / "blocking_pkg" / "services" / "pricing.py"
    assert code == 0
    assert {(b["file"], b["line"]) for b in json.loads(out)["blocks"]} == {("blocking_pkg/services/pricing.py", marked_line(helper))}


def test_a_file_in_a_package_keeps_its_relative_imports(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_probe(capsys, str(APPS / "blocking_pkg" / "main.py"), "GET", "/", "-n", "2", "--json")
    assert code == 0
    assert {Path(b["file"]).name for b in json.loads(out)["blocks"]} == {"pricing.py"}


def test_a_request_body_and_headers_reach_the_app(capsys, tmp_path):
    app = tmp_path / "echo.py"
    app.write_text(
        "from fastapi import FastAPI, Request\napp = FastAPI()\n\n"
        "@app.post('/echo')\nasync def echo(request: Request):\n"
        "    body = await request.json()\n"
        "    return {'name': body['name'], 'key': request.headers['x-api-key']}\n"
    )
    code, out, _ = run_probe(capsys, f"{app}:app", "post", "/echo", "-n", "1", "-d", '{"name": "Foo"}', "-H", "X-API-Key: key-foo", "--json")
    assert code == 0
    assert json.loads(out)["status_counts"] == {"200": 1}


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no_such_file.py", "no_such_file.py: no such file"),
        ("no_such_module:app", "no module named 'no_such_module'"),
        ("blocking_sleep.py:application", "blocking_sleep.py has no attribute 'application'; it has 'app': try blocking_sleep.py:app"),
        ("blocking_sleep.py:time", "blocking_sleep.py:time is a module, not an ASGI app"),
        ("blocking_pkg", "it is a package: name the module that makes the app, such as blocking_pkg.main:app"),
        ("blocking_pkg/services", "is a folder"),
        ("README.md", "README.md is not a Python file (.py)"),
    ],
)
def test_a_bad_target_exits_2_and_says_what_is_wrong(capsys, monkeypatch, target, message):
    monkeypatch.chdir(APPS)
    code, out, err = run_probe(capsys, target, "GET", "/")
    assert (code, out) == (2, "")
    assert err.startswith("katas probe: error: ") and message in err


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("app = (\n", "broken.py:1: SyntaxError: '(' was never closed"),
        ("import no_such_library\n", "importing {path} raised ModuleNotFoundError: No module named 'no_such_library' at {path}:1"),
        ("raise RuntimeError('no config')\n", "importing {path} raised RuntimeError: no config at {path}:1"),
        (
            "import anyio.to_thread\nanyio.to_thread.current_default_thread_limiter().total_tokens = 200\n",
            "{path}:2: this line needs a running event loop, but a server imports your app before it starts one.",
        ),
    ],
)
def test_an_app_that_cannot_be_imported_exits_2_with_the_line(capsys, tmp_path, monkeypatch, source, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.py").write_text(source)
    code, _, err = run_probe(capsys, "broken.py", "GET", "/")
    assert code == 2
    assert message.format(path="broken.py") in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["FETCH", "/"], "METHOD 'FETCH' is not one of GET, POST"),
        (["GET", "products"], "PATH 'products' must start with '/'"),
        (["GET", "/", "-n", "0"], "-n 0 must be at least 1"),
    ],
)
def test_bad_arguments_exit_2(capsys, monkeypatch, args, message):
    monkeypatch.chdir(APPS)
    code, _, err = run_probe(capsys, "blocking_sleep.py", *args)
    assert code == 2 and message in err


def test_the_katas_command_runs_the_probe():
    done = subprocess.run(
        [sys.executable, "-m", "fastapi_async_katas.commands.cli", "probe", "blocking_pkg.main:app", "GET", "/", "-n", "2", "--json"],
        cwd=APPS,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert {b["kind"] for b in json.loads(done.stdout)["blocks"]} == {"io"}


def test_a_hung_app_times_out_at_the_deadline_and_names_the_line(capsys, tmp_path):
    app = tmp_path / "stuck.py"
    app.write_text(
        "import threading\nfrom fastapi import FastAPI\napp = FastAPI()\nnever = threading.Event()\n\n"
        "@app.get('/')\nasync def stuck():\n    never.wait()\n    return {}\n"
    )
    for _ in range(2):  # once more when the sampler never got a CPU while the loop hung
        code, out, _ = run_probe(capsys, str(app), "GET", "/", "-n", "3", "--timeout", "1", "--json")
        data = json.loads(out)
        assert code == 0
        assert data["status_counts"] == {"timeout": 3}
        if data["blocks"] or not data["unjudged"]:
            break
    else:
        pytest.skip(f"this machine was too busy to judge the probe, twice: {out}")
    assert {(Path(b["file"]).name, b["line"], b["kind"]) for b in data["blocks"]} == {("stuck.py", 8, "io")}


def test_strict_exits_1_when_the_loop_was_blocked(capsys, monkeypatch):
    monkeypatch.chdir(APPS)
    assert run_probe(capsys, "blocking_sleep.py", "GET", "/", "-n", "2", "--strict")[0] == 1
    assert run_probe(capsys, "clean_async_sleep.py", "GET", "/", "-n", "1", "--strict")[0] == 0


def test_a_request_still_unanswered_says_where_it_was_waiting(capsys, tmp_path):
    app = tmp_path / "waits.py"
    app.write_text(
        "import asyncio\nfrom fastapi import FastAPI\napp = FastAPI()\nnever = asyncio.Event()\n\n"
        "@app.get('/')\nasync def waits():\n    await never.wait()\n    return {}\n"
    )
    code, out, _ = run_probe(capsys, str(app), "GET", "/", "-n", "2", "--timeout", "0.5")
    assert code == 0
    lines = out.splitlines()
    at = lines.index(STILL_WAITING.format(count="2 requests", seconds=0.5))
    assert lines[at + 1] == "  2 requests:"
    assert lines[at + 2].endswith("waits.py:8 in waits()") and lines[at + 3] == "        await never.wait()"


def test_the_whole_probe_is_bounded_by_its_timeout_even_when_startup_hangs(capsys, tmp_path):
    app = tmp_path / "slow_start.py"
    app.write_text(
        "import asyncio\nfrom contextlib import asynccontextmanager\nfrom fastapi import FastAPI\n\n"
        "@asynccontextmanager\nasync def lifespan(app):\n    await asyncio.Event().wait()\n    yield\n\n"
        "app = FastAPI(lifespan=lifespan)\n"
    )
    began = time.perf_counter()
    code, _, err = run_probe(capsys, str(app), "GET", "/", "--timeout", "0.5")
    assert time.perf_counter() - began < 10
    assert code == 1 and "startup did not finish within 0.5 s" in err


def test_more_requests_than_a_probe_sends_at_once_is_a_usage_error(capsys, tmp_path):
    app = tmp_path / "ok.py"
    app.write_text("from fastapi import FastAPI\napp = FastAPI()\n")
    code, _, err = run_probe(capsys, str(app), "GET", "/", "-n", "10001")
    assert code == 2 and "-n 10001 is more than the 10,000 requests a probe sends at once" in err


def test_a_header_http_cannot_carry_is_a_usage_error(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        run_probe(capsys, "ok.py", "GET", "/", "-H", "X-Name: é€")
    assert exit_.value.code == 2
    assert "an HTTP header holds only ASCII in its name and Latin-1 in its value" in capsys.readouterr().err
