"""One shared semaphore of two, where the supplier takes four: safe, but six round trips instead of three."""
import asyncio
import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from pydantic import BaseModel

SUPPLIER_URL = os.environ.get("SUPPLIER_URL", "http://supplier.internal")
SUPPLIER_CAPACITY = 2


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with httpx.AsyncClient(base_url=SUPPLIER_URL, timeout=5.0) as client:
        app.state.supplier = client
        app.state.supplier_slots = asyncio.Semaphore(SUPPLIER_CAPACITY)
        yield


app = FastAPI(title="Quotes", lifespan=lifespan)


class Basket(BaseModel):
    skus: list[str]


async def fetch_price(supplier: httpx.AsyncClient, slots: asyncio.Semaphore, sku: str) -> int:
    async with slots:
        response = await supplier.get(f"/prices/{sku}")
    response.raise_for_status()
    return response.json()["price_cents"]


@app.post("/quotes")
async def quote(basket: Basket, request: Request):
    supplier = request.app.state.supplier
    slots = request.app.state.supplier_slots
    prices = await asyncio.gather(*(fetch_price(supplier, slots, sku) for sku in basket.skus))
    lines = [{"sku": sku, "price_cents": price} for sku, price in zip(basket.skus, prices)]
    return {"lines": lines, "total_cents": sum(prices)}
