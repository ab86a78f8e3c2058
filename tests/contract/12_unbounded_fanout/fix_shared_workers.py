"""A correct fix: four worker tasks, started in the lifespan, take every request's price calls from one queue."""

import asyncio
import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from pydantic import BaseModel

SUPPLIER_URL = os.environ.get("SUPPLIER_URL", "http://supplier.internal")
WORKERS = 4


async def work(client: httpx.AsyncClient, queue: asyncio.Queue) -> None:
    while True:
        sku, answer = await queue.get()
        try:
            response = await client.get(f"/prices/{sku}")
            response.raise_for_status()
            answer.set_result(response.json()["price_cents"])
        except Exception as exc:  # noqa: BLE001 - handed to the request that waits for this price
            answer.set_exception(exc)


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with httpx.AsyncClient(base_url=SUPPLIER_URL, timeout=5.0) as client:
        app.state.prices_wanted = queue = asyncio.Queue()
        workers = [asyncio.create_task(work(client, queue)) for _ in range(WORKERS)]
        try:
            yield
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)


app = FastAPI(title="Quotes", lifespan=lifespan)


class Basket(BaseModel):
    skus: list[str]


async def fetch_price(queue: asyncio.Queue, sku: str) -> int:
    answer = asyncio.get_running_loop().create_future()
    await queue.put((sku, answer))
    return await answer


@app.post("/quotes")
async def quote(basket: Basket, request: Request):
    queue = request.app.state.prices_wanted
    prices = await asyncio.gather(*(fetch_price(queue, sku) for sku in basket.skus))
    lines = [{"sku": sku, "price_cents": price} for sku, price in zip(basket.skus, prices)]
    return {"lines": lines, "total_cents": sum(prices)}
