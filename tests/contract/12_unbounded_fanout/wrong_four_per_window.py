"""A wrong fix: at most four calls started in each 0.12 s window: a rate, not a bound on the calls in flight, safe only
while every price comes back within the window."""
import asyncio
import os
import time
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from pydantic import BaseModel

SUPPLIER_URL = os.environ.get("SUPPLIER_URL", "http://supplier.internal")
PER_WINDOW = 4
WINDOW_S = 0.12


class WindowLimiter:
    def __init__(self) -> None:
        self.window_start = 0.0
        self.used = 0
        self.lock = asyncio.Lock()

    async def wait_turn(self) -> None:
        async with self.lock:
            while True:
                now = time.monotonic()
                if now - self.window_start >= WINDOW_S:
                    self.window_start, self.used = now, 0
                if self.used < PER_WINDOW:
                    self.used += 1
                    return
                await asyncio.sleep(self.window_start + WINDOW_S - now)


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with httpx.AsyncClient(base_url=SUPPLIER_URL, timeout=5.0) as client:
        app.state.supplier = client
        app.state.rate = WindowLimiter()
        yield


app = FastAPI(title="Quotes", lifespan=lifespan)


class Basket(BaseModel):
    skus: list[str]


async def fetch_price(supplier: httpx.AsyncClient, rate: WindowLimiter, sku: str) -> int:
    await rate.wait_turn()
    response = await supplier.get(f"/prices/{sku}")
    response.raise_for_status()
    return response.json()["price_cents"]


@app.post("/quotes")
async def quote(basket: Basket, request: Request):
    st = request.app.state
    prices = await asyncio.gather(*(fetch_price(st.supplier, st.rate, sku) for sku in basket.skus))
    lines = [{"sku": sku, "price_cents": price} for sku, price in zip(basket.skus, prices)]
    return {"lines": lines, "total_cents": sum(prices)}
