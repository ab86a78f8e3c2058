"""`serve_live`: the app on a real uvicorn server, its loop watched in the server's thread, its
streams timed chunk by chunk, and a start that fails told with the learner's line."""

from __future__ import annotations

import asyncio
import inspect
import socket
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import BackgroundTasks, FastAPI
from fastapi.responses import StreamingResponse

from fastapi_async_katas.engine.firing import Settings, StartupError
from fastapi_async_katas.engine.judging import KataFailure
from fastapi_async_katas.engine.live import serve_live
from fastapi_async_katas.engine.userfiles import UserFiles

HERE = UserFiles.under([Path(__file__).parent])
SETTINGS = Settings(request_timeout_s=5.0, block_ms=50.0)


def line_of(func, text: str) -> int:
    lines, first = inspect.getsourcelines(func)
    return first + next(i for i, line in enumerate(lines) if text in line)


def stream_app(blocking: bool) -> FastAPI:
    app = FastAPI()

    async def chunks():
        for i in range(3):
            if blocking:
                time.sleep(0.2)
            else:
                await asyncio.sleep(0.2)
            yield f"row {i}\n".encode()

    @app.get("/export")
    async def export():
        return StreamingResponse(chunks(), media_type="text/plain")

    @app.get("/health")
    async def health():
        return {"ok": True}

    app.state.chunks = chunks
    return app


async def test_a_stream_is_timed_chunk_by_chunk_over_real_http():
    async with serve_live(stream_app(blocking=False), user_files=HERE, settings=SETTINGS) as live:
        run, stream = await live.stream("GET", "/export")
    run.expect_status(200)
    assert stream.body == b"row 0\nrow 1\nrow 2\n"
    assert len(stream.chunks) == 3
    # One-sided bounds: each chunk waits 0.2 s on the server, however fast the machine.
    assert stream.first_byte_s >= 0.19 and all(gap >= 0.15 for gap in stream.gaps_s)
    assert run.blocks == []


async def test_a_stream_that_blocks_the_servers_loop_is_blamed_on_its_line():
    app = stream_app(blocking=True)
    async with serve_live(app, user_files=HERE, settings=SETTINGS) as live:
        streaming = asyncio.ensure_future(live.stream("GET", "/export"))
        await asyncio.sleep(0.1)
        health = await live.fire("GET", "/health")
        run, _ = await streaming
    run.expect_status(200)
    health.expect_status(200)
    assert {(b.place.function, b.place.line, b.kind) for b in run.blocks} == {("chunks", line_of(app.state.chunks, "time.sleep"), "io")}
    assert all(b.request == run.requests[0].index for b in run.blocks)
    with pytest.raises(KataFailure, match="The event loop was blocked"):
        run.expect_no_blocks()


async def test_work_left_for_after_the_answer_runs_after_it_was_sent():
    app = FastAPI()
    sent: list[float] = []

    async def send_mail():
        await asyncio.sleep(0.3)
        sent.append(time.perf_counter())

    @app.post("/orders", status_code=201)
    async def order(tasks: BackgroundTasks):
        tasks.add_task(send_mail)
        return {"ok": True}

    async with serve_live(app, user_files=HERE, settings=SETTINGS) as live:
        run = await live.fire("POST", "/orders", n=3)
        await asyncio.sleep(0.6)
    run.expect_status(201)
    answered = [r.answered for r in run.requests]
    assert len(sent) == 3 and all(a is not None for a in answered)
    assert min(sent) - max(answered) >= 0.1
    assert all(r.started is not None and r.started <= r.answered for r in run.requests)


async def test_an_app_that_cannot_start_on_uvicorn_is_told_with_its_line():
    @asynccontextmanager
    async def lifespan(app):
        raise RuntimeError("no config")
        yield

    app = FastAPI(lifespan=lifespan)
    with pytest.raises(StartupError) as failure:
        async with serve_live(app, user_files=HERE, settings=SETTINGS):
            pass
    text = str(failure.value)
    assert text.startswith("the app did not start on a real uvicorn server on 127.0.0.1.")
    assert "RuntimeError: no config" in text
    assert f"test_live.py:{line_of(lifespan, 'raise RuntimeError')} in lifespan()" in text


async def test_nothing_is_left_listening_or_running_after_the_server_stops():
    async with serve_live(stream_app(blocking=False), user_files=HERE, settings=SETTINGS) as live:
        (await live.fire("GET", "/health")).expect_status(200)
        port = int(live.url.rsplit(":", 1)[1])
    assert not [t for t in threading.enumerate() if t.name.startswith("uvicorn serving")]
    with socket.socket() as probe, pytest.raises(OSError):
        probe.connect(("127.0.0.1", port))


def mail_app(sends: bool) -> FastAPI:
    import os

    import httpx

    app = FastAPI()

    async def send_mail(order_id: int):
        if sends:
            async with httpx.AsyncClient(base_url=os.environ["MAIL_URL"]) as client:
                await client.post("/send", json={"order": order_id})

    @app.post("/orders/{order_id}", status_code=201)
    async def order(order_id: int, tasks: BackgroundTasks):
        tasks.add_task(send_mail, order_id)
        return {"ok": True}

    return app


@pytest.mark.parametrize("sends", [True, False])
async def test_mail_sent_after_the_answer_is_counted_within_its_grace(sends, monkeypatch):
    from fastapi_async_katas.world.upstream import Upstream

    with Upstream("mail service", env_var="MAIL_URL", latency_s=0.2) as mail:
        mail.route("POST", "/send", lambda request: {"queued": True})
        monkeypatch.setenv("MAIL_URL", mail.url)
        async with serve_live(mail_app(sends), user_files=HERE, settings=SETTINGS) as live:
            run = await live.fire_many([("POST", f"/orders/{i}", None) for i in range(3)])
            if sends:
                await mail.expect_requests_within(run, at_least=3, within_s=2.0)
            else:
                with pytest.raises(KataFailure, match=r"made only 0 calls to the mail service") as failure:
                    await mail.expect_requests_within(run, at_least=3, within_s=0.5)
                assert "or within 0.5 s after their answers" in str(failure.value)
    run.expect_status(201)


def after_the_answer_app(done: list[str]) -> FastAPI:
    """An answer at once, then 0.4 s of work after it; the lifespan notes when it shuts down."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        done.append(f"lifespan shut down at {time.perf_counter()}")

    app = FastAPI(lifespan=lifespan)

    async def work() -> None:
        await asyncio.sleep(0.4)
        done.append("work")

    @app.post("/jobs")
    async def job(background_tasks: BackgroundTasks):
        background_tasks.add_task(work)
        return {"queued": True}

    return app


async def stop_during_the_work(stop_grace_s: float | None) -> tuple[list[str], float | None]:
    done: list[str] = []
    kwargs = {} if stop_grace_s is None else {"stop_grace_s": stop_grace_s}
    async with serve_live(after_the_answer_app(done), user_files=HERE, settings=SETTINGS, **kwargs) as live:
        async with httpx.AsyncClient(base_url=live.url) as client:
            assert (await client.post("/jobs")).status_code == 200
    return done, live.lifespan_shutdown_at


async def test_a_stop_lets_the_work_after_an_answer_finish_for_as_long_as_it_is_given():
    done, lifespan_at = await stop_during_the_work(stop_grace_s=3.0)
    assert done[0] == "work" and done[1].startswith("lifespan shut down at ")
    assert lifespan_at is not None and lifespan_at <= float(done[1].rpartition(" ")[2])


async def test_a_stop_cuts_off_the_work_after_an_answer_past_its_grace():
    done, lifespan_at = await stop_during_the_work(stop_grace_s=None)  # 0.5 s by default, the work takes 0.4 s
    done_fast, _ = await stop_during_the_work(stop_grace_s=0.05)
    assert [d for d in done_fast if d == "work"] == [], "the work outlived a 0.05 s grace"
    assert lifespan_at is not None
