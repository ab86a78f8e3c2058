"""A wrong fix: a shared semaphore of four, and every price kept for good once fetched: a price change never shows."""

import asyncio
import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from pydantic import BaseModel

SUPPLIER_URL = os.environ.get("SUPPLIER_URL", "http://supplier.internal")


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with httpx.AsyncClient(base_url=SUPPLIER_URL, timeout=5.0) as client:
        app.state.supplier = client
        yield


app = FastAPI(title="Quotes", lifespan=lifespan)


class Basket(BaseModel):
    skus: list[str]

SLOTS = asyncio.Semaphore(4)
known_prices: dict[str, int] = {}


async def fetch_price(supplier: httpx.AsyncClient, sku: str) -> int:
    if sku in known_prices:
        return known_prices[sku]
    async with SLOTS:
        response = await supplier.get(f"/prices/{sku}")
    response.raise_for_status()
    known_prices[sku] = response.json()["price_cents"]
    return known_prices[sku]


@app.post("/quotes")
async def quote(basket: Basket, request: Request):
    supplier = request.app.state.supplier
    prices = await asyncio.gather(*(fetch_price(supplier, sku) for sku in basket.skus))
    lines = [{"sku": sku, "price_cents": price} for sku, price in zip(basket.skus, prices)]
    return {"lines": lines, "total_cents": sum(prices)}
