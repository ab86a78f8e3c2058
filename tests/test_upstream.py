"""Self-tests of the kata world's upstream services (plugin/world/upstream.py)."""

from __future__ import annotations

import asyncio
import re
import socket
import textwrap
import threading
import time
from pathlib import Path

import httpx
import pytest
from verdicts import explanation

from fastapi_async_katas.engine.firing import serve
from fastapi_async_katas.engine.judging import KataFailure
from fastapi_async_katas.engine.loading import load_app
from fastapi_async_katas.engine.misconceptions import ONE_BY_ONE, in_turn
from fastapi_async_katas.engine.userfiles import UserFiles
from fastapi_async_katas.world.upstream import HOST, Catalog, Reply, Upstream

pytest_plugins = ["pytester"]


def echo_service(**kwargs) -> Upstream:
    service = Upstream("echo service", **kwargs)
    service.route("GET", "/items/{item_id}", lambda r: {"item": r.params["item_id"], "q": r.query.get("q")})
    service.route("POST", "/items", lambda r: Reply(201, {"created": r.json()}))
    return service


def upstream_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("upstream ")]


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


async def wait_until(condition, timeout_s: float = 5.0) -> None:
    deadline = time.perf_counter() + timeout_s
    while not condition():
        assert time.perf_counter() < deadline, "timed out waiting for the service"
        await asyncio.sleep(0.005)


# -- serving ---------------------------------------------------------------------------------


def test_a_service_listens_on_loopback_only_and_answers_json():
    with echo_service(latency_s=0.0) as service:
        assert service.url.startswith(f"http://{HOST}:")
        assert service.address[0] == "127.0.0.1"
        got = httpx.get(f"{service.url}/items/7", params={"q": "x"})
        posted = httpx.post(f"{service.url}/items", json={"name": "Foo"})
    assert (got.status_code, got.json()) == (200, {"item": "7", "q": "x"})
    assert (posted.status_code, posted.json()) == (201, {"created": {"name": "Foo"}})


def test_an_unknown_path_is_404_and_still_counted():
    with echo_service(latency_s=0.0) as service:
        response = httpx.get(f"{service.url}/nothing/here")
    assert response.status_code == 404
    assert service.total_requests == 1


def test_an_answer_takes_at_least_the_set_latency():
    with echo_service(latency_s=0.2) as service:
        service.set_latency(0.3, "/items/{item_id}")
        began = time.perf_counter()
        httpx.get(f"{service.url}/items/1")
        took = time.perf_counter() - began
    assert took >= 0.3
    assert service.calls[0].duration_s is not None and service.calls[0].duration_s >= 0.29


def test_two_services_get_two_free_ports():
    with echo_service() as first, echo_service() as second:
        assert port_of(first.url) != port_of(second.url)


def test_a_route_that_raises_answers_500_and_keeps_the_error():
    service = Upstream("broken service", latency_s=0.0)
    service.route("GET", "/boom", lambda r: 1 / 0)
    with service:
        response = httpx.get(f"{service.url}/boom")
    assert response.status_code == 500
    assert isinstance(service.errors[0], ZeroDivisionError)


# -- counting --------------------------------------------------------------------------------


async def test_concurrent_calls_raise_the_peak_in_flight():
    with echo_service(latency_s=0.5) as service:
        async with httpx.AsyncClient(base_url=service.url) as client:
            await asyncio.gather(*(client.get(f"/items/{i}") for i in range(6)))
        # The service counts a call done once it has sent the answer, which the client may read first.
        assert service.settle() == 0
    assert service.peak_in_flight == 6
    assert service.total_requests == 6


def test_calls_one_after_another_keep_the_peak_at_one():
    with echo_service(latency_s=0.05) as service, httpx.Client(base_url=service.url) as client:
        for i in range(3):
            client.get(f"/items/{i}")
    assert service.peak_in_flight == 1
    assert service.total_requests == 3


def test_a_kept_alive_client_opens_one_connection():
    with echo_service(latency_s=0.0) as service:
        with httpx.Client(base_url=service.url) as client:
            for i in range(5):
                client.get(f"/items/{i}")
        assert service.connections_accepted == 1
        assert service.connections_used == 1


def test_a_client_per_call_opens_one_connection_per_call():
    with echo_service(latency_s=0.0) as service:
        for i in range(5):
            with httpx.Client(base_url=service.url) as client:
                client.get(f"/items/{i}")
        assert service.connections_accepted == 5
        assert service.connections_used == 5


def test_a_bare_tcp_connection_counts_even_without_a_request():
    with echo_service() as service:
        with socket.create_connection((HOST, port_of(service.url))):
            deadline = time.perf_counter() + 5
            while service.connections_accepted == 0 and time.perf_counter() < deadline:
                time.sleep(0.005)
        assert service.connections_accepted == 1
        assert service.total_requests == 0


def test_reset_counters_starts_the_count_afresh():
    with echo_service(latency_s=0.0) as service, httpx.Client(base_url=service.url) as client:
        client.get("/items/1")
        service.reset_counters()
        client.get("/items/2")
    assert service.total_requests == 1
    assert [c.path for c in service.calls] == ["/items/2"]


async def test_a_fragile_service_turns_away_calls_beyond_its_capacity():
    with echo_service(latency_s=0.5, capacity=2) as service:
        async with httpx.AsyncClient(base_url=service.url) as client:
            responses = await asyncio.gather(*(client.get(f"/items/{i}") for i in range(5)))
    assert sorted(r.status_code for r in responses) == [200, 200, 503, 503, 503]
    assert service.rejected == 3
    assert service.peak_in_flight > 2, "a call beyond capacity counts while it is turned away"


# -- hanging and stopping ----------------------------------------------------------------------


async def test_a_hanging_call_ends_when_the_client_gives_up():
    with echo_service() as service:
        service.hang()
        async with httpx.AsyncClient(base_url=service.url) as client:
            call = asyncio.create_task(client.get("/items/1"))
            # The client gives up only once the service has the call, however busy the machine.
            await wait_until(lambda: service.in_flight == 1)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
        assert service.settle() == 0
        assert service.calls[0].outcome == "client gave up"


async def test_release_answers_hanging_calls_with_503():
    with echo_service(latency_s=0.0) as service:
        service.hang("/items/{item_id}")
        async with httpx.AsyncClient(base_url=service.url) as client:
            call = asyncio.create_task(client.get("/items/1"))
            await wait_until(lambda: service.in_flight == 1)
            service.release()
            response = await asyncio.wait_for(call, 2)
    assert response.status_code == 503
    assert service.calls[0].outcome == "hung, then released"


async def test_a_call_counted_while_hanging_gets_503_even_if_released_before_its_answer_starts(monkeypatch):
    with echo_service(latency_s=0.0) as service:
        service.hang("/items/{item_id}")
        # The release lands right after the call is counted in flight, before it is answered.
        monkeypatch.setattr(service, "_note_where_the_app_waits", lambda call: service.release())
        async with httpx.AsyncClient(base_url=service.url) as client:
            response = await asyncio.wait_for(client.get("/items/1"), 2)
    assert response.status_code == 503
    assert service.calls[0].outcome == "hung, then released"


def test_hang_names_an_unknown_route_in_its_error():
    with pytest.raises(KeyError, match="no route '/nope'; its routes: '/items/{item_id}', '/items'"):
        echo_service().hang("/nope")


def test_stop_is_quick_even_with_calls_in_flight_and_frees_the_port():
    service = echo_service(latency_s=5.0).start()
    port = port_of(service.url)
    results: list[int] = []
    caller = threading.Thread(target=lambda: results.append(httpx.get(f"{service.url}/items/1").status_code))
    caller.start()
    deadline = time.perf_counter() + 5
    while service.in_flight == 0 and time.perf_counter() < deadline:
        time.sleep(0.005)
    began = time.perf_counter()
    service.stop()
    assert time.perf_counter() - began < 1.0
    caller.join(2)
    assert results == [503]
    assert upstream_threads() == []
    with pytest.raises(OSError):
        socket.create_connection((HOST, port), timeout=1).close()


def test_a_service_can_be_started_only_once():
    with echo_service() as service:
        with pytest.raises(RuntimeError, match="already started"):
            service.start()


def test_url_before_start_says_to_start_first():
    with pytest.raises(RuntimeError, match="not started: call start"):
        echo_service().url


# -- the catalogue ------------------------------------------------------------------------------


def test_the_catalog_serves_stock_prices_and_reviews_of_its_products():
    with Catalog(latency_s=0.0, seed=1) as catalog, httpx.Client(base_url=catalog.url) as client:
        foo = catalog.products[1]
        assert client.get("/stock/1").json() == {"product_id": 1, "available": foo.available}
        assert client.get("/prices/1").json() == {"product_id": 1, "price": 9.5, "currency": "EUR"}
        assert client.get("/reviews/1").json() == {"product_id": 1, "rating": foo.rating, "count": foo.reviews}
        assert client.get("/stock/999").status_code == 404


def test_each_catalog_has_fresh_figures():
    assert Catalog(seed=1).products != Catalog(seed=2).products


# -- checks and explanations -------------------------------------------------------------------

# The apps below make a client per request over plain http, with verify=False: the default SSL
# context loads the CA bundle, tens of milliseconds of CPU on the loop, which a busy machine
# stretches into a block of its own, and the failure then explains that block first.
SEQUENTIAL_APP = """
import os
import httpx
from fastapi import FastAPI

app = FastAPI()


@app.get("/both")
async def both():
    async with httpx.AsyncClient(base_url=os.environ["ECHO_URL"], verify=False) as client:
        first = await client.get("/items/1")
        second = await client.get("/items/2")
    return [first.json()["item"], second.json()["item"]]
"""


async def fire_at_app(tmp_path: Path, service: Upstream, monkeypatch: pytest.MonkeyPatch, source: str):
    (tmp_path / "app.py").write_text(textwrap.dedent(source))
    monkeypatch.setenv("ECHO_URL", service.url)
    files = UserFiles.under([tmp_path])
    service.watch_app(asyncio.get_running_loop(), files)
    app = load_app(tmp_path / "app.py", "upstream_selftest_app")
    async with serve(app, user_files=files) as harness:
        return await harness.fire("GET", "/both")


LOCKED_THREADS_APP = """
import asyncio
import os
import threading
import httpx
from fastapi import FastAPI

app = FastAPI()
one_at_a_time = threading.Lock()


def get(item):
    with one_at_a_time:
        return httpx.get(os.environ["ECHO_URL"] + f"/items/{item}", verify=False).json()["item"]


@app.get("/both")
async def both():
    return list(await asyncio.gather(asyncio.to_thread(get, 1), asyncio.to_thread(get, 2), asyncio.to_thread(get, 3)))
"""


async def test_calls_that_take_turns_behind_a_lock_in_the_threads_show_where_the_threads_waited(tmp_path, monkeypatch):
    with echo_service(latency_s=0.1) as service:
        run = await fire_at_app(tmp_path, service, monkeypatch, LOCKED_THREADS_APP)
    run.expect_status(200).expect_json(["1", "2", "3"])
    with pytest.raises(KataFailure) as failure:
        service.expect_peak_in_flight(run, at_least=2, calls="the three calls")
    text = explanation(failure.value)
    section = text[text.index("Where the app's threads were while one call was answered:"):]
    assert re.search(r"\n  (1 thread|up to 2 threads at once) at \S*app.py:13 in get\(\)\n      with one_at_a_time:\n", section), section


async def test_calls_one_after_another_fail_the_peak_check_with_the_lines_that_waited(tmp_path, monkeypatch):
    with echo_service(latency_s=0.1) as service:
        run = await fire_at_app(tmp_path, service, monkeypatch, SEQUENTIAL_APP)
    run.expect_status(200).expect_json(["1", "2"])
    with pytest.raises(KataFailure) as failure:
        service.expect_peak_in_flight(run, at_least=2, calls="both calls")
    text = explanation(failure.value)
    assert text.splitlines()[0] == "The echo service received both calls one after another."
    assert "at most 1 call in flight at the echo service at once, 2 in all" in text
    assert "Calls the echo service received (one row per call; █ in flight;" in text
    assert "Where your code waited for each call:" in text
    assert "app.py:12 in both()" in text and 'first = await client.get("/items/1")' in text
    assert "app.py:13 in both()" in text


async def test_too_few_calls_fail_the_request_count_check(tmp_path, monkeypatch):
    with echo_service(latency_s=0.0) as service:
        run = await fire_at_app(tmp_path, service, monkeypatch, SEQUENTIAL_APP)
    service.expect_requests(run, at_least=2)
    with pytest.raises(KataFailure, match="1 request to the app made only 2 calls to the echo service"):
        service.expect_requests(run, at_least=3)


async def test_more_connections_than_allowed_fail_the_connection_check(tmp_path, monkeypatch):
    with echo_service(latency_s=0.0) as service:
        run = await fire_at_app(tmp_path, service, monkeypatch, SEQUENTIAL_APP)
    service.expect_connections(run, at_most=1)
    with pytest.raises(KataFailure, match="at most 0: connections are kept open and reused"):
        service.expect_connections(run, at_most=0)


GATHERING_APP = """
import asyncio
import os
import httpx
from fastapi import FastAPI

app = FastAPI()
LIMIT = asyncio.Semaphore(int(os.environ.get("ECHO_LIMIT", "3")))


async def item(client, i):
    async with LIMIT:
        return (await client.get(f"/items/{i}")).json()["item"]


@app.get("/both")
async def both():
    async with httpx.AsyncClient(base_url=os.environ["ECHO_URL"], verify=False) as client:
        return await asyncio.gather(*(item(client, i) for i in range(3)))
"""


async def test_a_peak_above_capacity_fails_the_at_most_check(tmp_path, monkeypatch):
    with echo_service(latency_s=0.3) as service:
        run = await fire_at_app(tmp_path, service, monkeypatch, GATHERING_APP)
        async with httpx.AsyncClient(base_url=service.url) as client:  # after the run: not counted
            await asyncio.gather(*(client.get(f"/items/{i}") for i in range(4)))
    run.expect_status(200).expect_json(["0", "1", "2"])
    service.expect_peak_in_flight(run, at_most=3)
    with pytest.raises(KataFailure, match="received 3 calls at once; it can take only 2"):
        service.expect_peak_in_flight(run, at_most=2)


async def test_a_run_that_made_no_call_is_told_so_not_that_its_calls_took_turns(tmp_path, monkeypatch):
    with echo_service(latency_s=0.1) as service:
        async with httpx.AsyncClient(base_url=service.url) as client:  # before the run: not counted
            await client.get("/items/0")
        run = await fire_at_app(tmp_path, service, monkeypatch, TRIVIAL_APP)
    with pytest.raises(KataFailure) as failure:
        service.expect_peak_in_flight(run, at_least=2, calls="both calls")
    assert failure.value.args[0].startswith("The echo service received none of both calls: the app did not call it")
    assert "one after another" not in failure.value.args[0]


async def test_one_request_awaiting_each_call_in_turn_is_told_it_awaited_them_one_by_one(tmp_path, monkeypatch):
    with echo_service(latency_s=0.1) as service:
        run = await fire_at_app(tmp_path, service, monkeypatch, SEQUENTIAL_APP)
    with pytest.raises(KataFailure) as failure:
        service.expect_peak_in_flight(run, at_least=2)
    assert ONE_BY_ONE in explanation(failure.value)


async def test_one_request_whose_tasks_queue_at_a_lock_is_told_something_lets_one_through(tmp_path, monkeypatch):
    monkeypatch.setenv("ECHO_LIMIT", "1")
    with echo_service(latency_s=0.1) as service:
        run = await fire_at_app(tmp_path, service, monkeypatch, GATHERING_APP)
    run.expect_status(200).expect_json(["0", "1", "2"])
    with pytest.raises(KataFailure) as failure:
        service.expect_peak_in_flight(run, at_least=3)
    text = explanation(failure.value)
    assert ONE_BY_ONE not in text
    assert in_turn(1, "their calls to the echo service", 1) in text
    assert text.count("something lets only one through at a time") == 1
    assert "The request started its work together, but its calls to the echo service took turns" in text


TRIVIAL_APP = """
from fastapi import FastAPI

app = FastAPI()


@app.get("/both")
async def both():
    return ["0", "1", "2"]
"""


TIMEOUT_APP = """
import asyncio
import os
import httpx
from fastapi import FastAPI, HTTPException

app = FastAPI()


@app.get("/both")
async def both():
    async with httpx.AsyncClient(base_url=os.environ["ECHO_URL"], timeout=0.2) as client:
        try:
            response = await client.get("/items/1")
        except httpx.TimeoutException:
            raise HTTPException(status_code=504, detail="the echo service did not answer")
    return response.json()
"""

ABANDONING_APP = """
import asyncio
import os
import httpx
from fastapi import FastAPI, HTTPException

app = FastAPI()
client = httpx.AsyncClient(base_url=os.environ["ECHO_URL"])


@app.get("/both")
async def both():
    call = asyncio.ensure_future(client.get("/items/1"))
    done, _ = await asyncio.wait({call}, timeout=0.2)
    if not done:
        raise HTTPException(status_code=504, detail="the echo service did not answer")
    return call.result().json()
"""


async def test_a_call_the_app_times_out_leaves_nothing_in_flight(tmp_path, monkeypatch):
    with echo_service() as service:
        service.hang()
        run = await fire_at_app(tmp_path, service, monkeypatch, TIMEOUT_APP)
        run.expect_status(504)
        service.expect_nothing_in_flight(run)
    assert service.calls[0].outcome == "client gave up"


async def test_a_call_the_app_abandons_fails_the_nothing_in_flight_check(tmp_path, monkeypatch):
    with echo_service() as service:
        service.hang()
        run = await fire_at_app(tmp_path, service, monkeypatch, ABANDONING_APP)
        run.expect_status(504)
        with pytest.raises(KataFailure) as failure:
            service.expect_nothing_in_flight(run)
    await asyncio.sleep(0.05)  # let the abandoned call see the 503 from the stopped service
    text = str(failure.value)
    assert text.startswith("1 call to the echo service still in flight after the app had answered.")
    assert "GET /items/1" in text and "?" in text
    assert "app.py:14 in both()" in text


# -- the fixtures, from the outside ------------------------------------------------------------

FIXTURE_TESTS = """
import os
import httpx
from fastapi_async_katas.world.upstream import Upstream

SEEN = {}


async def test_catalog_sets_its_url_in_the_environment(katas_catalog):
    assert os.environ["CATALOG_URL"] == katas_catalog.url
    assert "127.0.0.1" in os.environ["NO_PROXY"]
    async with httpx.AsyncClient() as client:
        response = await client.get(os.environ["CATALOG_URL"] + "/stock/2")
    assert response.json()["available"] == katas_catalog.products[2].available
    SEEN["url"] = katas_catalog.url


async def test_katas_upstream_starts_any_service(katas_upstream):
    service = Upstream("payments", env_var="PAYMENTS_URL", latency_s=0.0)
    service.route("GET", "/ok", lambda r: {"ok": True})
    katas_upstream(service)
    async with httpx.AsyncClient(base_url=os.environ["PAYMENTS_URL"]) as client:
        assert (await client.get("/ok")).json() == {"ok": True}


def test_nothing_is_left_from_the_tests_before():
    assert "CATALOG_URL" not in os.environ and "PAYMENTS_URL" not in os.environ
    assert [t for t in __import__("threading").enumerate() if t.name.startswith("upstream ")] == []
"""


def test_the_fixtures_start_services_and_leave_nothing_behind(pytester: pytest.Pytester, monkeypatch):
    monkeypatch.delenv("CATALOG_URL", raising=False)
    monkeypatch.delenv("PAYMENTS_URL", raising=False)
    pytester.makepyprojecttoml(
        "[tool.pytest.ini_options]\nasyncio_mode = 'auto'\nasyncio_default_fixture_loop_scope = 'function'\n"
    )
    pytester.makepyfile(test_fixtures=FIXTURE_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    assert upstream_threads() == []


async def test_a_rate_limited_service_turns_away_calls_beyond_its_capacity_with_429(tmp_path, monkeypatch):
    with echo_service(latency_s=0.3, capacity=2, capacity_status=429) as service:
        run = await fire_at_app(tmp_path, service, monkeypatch, GATHERING_APP)
    assert run.status_counts == {"500": 1}  # the app does not handle the 429 it got
    assert service.rejected == 1 and [c.status for c in service.calls].count(429) == 1
    with pytest.raises(KataFailure, match="turned away 1 call: the app sent it more than 2 at once") as failure:
        service.expect_peak_in_flight(run, at_most=2)
    assert "1 call turned away with 429, each sent while 2 others were in flight at the echo service" in str(failure.value)
