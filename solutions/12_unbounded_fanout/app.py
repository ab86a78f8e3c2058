"""Kata 12 · unbounded_fanout: quotes for business baskets (reference solution)."""

import asyncio
import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from pydantic import BaseModel

SUPPLIER_URL = os.environ.get("SUPPLIER_URL", "http://supplier.internal")
# The supplier takes at most four calls at once from the whole shop.
SUPPLIER_MAX_CALLS = 4


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with httpx.AsyncClient(base_url=SUPPLIER_URL, timeout=5.0) as client:
        app.state.supplier = client
        app.state.supplier_slots = asyncio.Semaphore(SUPPLIER_MAX_CALLS)
        yield


app = FastAPI(title="Quotes", lifespan=lifespan)


class Basket(BaseModel):
    skus: list[str]


async def fetch_price(supplier: httpx.AsyncClient, slots: asyncio.Semaphore, sku: str) -> int:
    # Why this works: every call to the supplier, from every request, first takes one of the
    # four slots of one semaphore that the whole app shares, and gives it back once the answer
    # is in. All the tasks still start at once, but a fifth waits here, in the app, instead of
    # reaching the supplier and being turned away: twelve prices take three round trips.
    async with slots:
        response = await supplier.get(f"/prices/{sku}")
    response.raise_for_status()
    return response.json()["price_cents"]


@app.post("/quotes")
async def quote(basket: Basket, request: Request):
    supplier, slots = request.app.state.supplier, request.app.state.supplier_slots
    prices = await asyncio.gather(*(fetch_price(supplier, slots, sku) for sku in basket.skus))
    lines = [{"sku": sku, "price_cents": price} for sku, price in zip(basket.skus, prices)]
    return {"lines": lines, "total_cents": sum(prices)}
