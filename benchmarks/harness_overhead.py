"""What the measuring costs: a burst through the harness against the same burst through plain
`httpx.AsyncClient` over `ASGITransport`, side by side in one process.

    python benchmarks/harness_overhead.py            # 200 and 1,000 requests, trivial and 10 ms routes
    python benchmarks/harness_overhead.py --rounds 9

Each round runs both ways, in alternating order, on the same app and loop; the figures are the
medians over the rounds. The harness's goal is a ratio of at most 1.25 on the trivial route.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx
from fastapi import FastAPI

from fastapi_async_katas import serve

GOAL = 1.25


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/trivial")
    async def trivial() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/sleep")
    async def sleep() -> dict[str, bool]:
        await asyncio.sleep(0.01)
        return {"ok": True}

    return app


async def plain(app: FastAPI, path: str, n: int) -> float:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        began = time.perf_counter()
        responses = await asyncio.gather(*(client.get(path) for _ in range(n)))
        took = time.perf_counter() - began
    assert all(r.status_code == 200 for r in responses)
    return took


async def harnessed(app: FastAPI, path: str, n: int) -> float:
    async with serve(app) as harness:
        began = time.perf_counter()
        run = await harness.fire("GET", path, n=n)
        took = time.perf_counter() - began
    assert run.status_counts == {"200": n}, run.status_counts
    return took


async def compare(path: str, n: int, rounds: int) -> tuple[float, float]:
    app = make_app()
    await plain(app, path, n)  # warm up both ways once
    await harnessed(app, path, n)
    plains, harnesseds = [], []
    for i in range(rounds):
        ways = [(plain, plains), (harnessed, harnesseds)]
        for way, into in ways if i % 2 == 0 else reversed(ways):
            into.append(await way(app, path, n))
    return statistics.median(plains), statistics.median(harnesseds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    print(f"{'route':<10} {'requests':>8} {'plain':>9} {'harness':>9} {'ratio':>6}")
    for path in ("/trivial", "/sleep"):
        for n in (200, 1000):
            base, measured = asyncio.run(compare(path, n, args.rounds))
            print(f"{path:<10} {n:>8} {base * 1000:>7.0f}ms {measured * 1000:>7.0f}ms {measured / base:>6.2f}")
    print(f"(goal on /trivial: a ratio of at most {GOAL})")


if __name__ == "__main__":
    main()
