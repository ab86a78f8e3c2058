"""A correct fix: one anyio.CapacityLimiter, made at import, shared by every request."""

import asyncio
import os
from contextlib import asynccontextmanager

import anyio
import httpx
from fastapi import FastAPI, Request
from pydantic import BaseModel

SUPPLIER_URL = os.environ.get("SUPPLIER_URL", "http://supplier.internal")
supplier_limit = anyio.CapacityLimiter(4)


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with httpx.AsyncClient(base_url=SUPPLIER_URL, timeout=5.0) as client:
        app.state.supplier = client
        yield


app = FastAPI(title="Quotes", lifespan=lifespan)


class Basket(BaseModel):
    skus: list[str]


async def fetch_price(supplier: httpx.AsyncClient, sku: str) -> int:
    async with supplier_limit:
        response = await supplier.get(f"/prices/{sku}")
    response.raise_for_status()
    return response.json()["price_cents"]


@app.post("/quotes")
async def quote(basket: Basket, request: Request):
    supplier = request.app.state.supplier
    prices = await asyncio.gather(*(fetch_price(supplier, sku) for sku in basket.skus))
    lines = [{"sku": sku, "price_cents": price} for sku, price in zip(basket.skus, prices)]
    return {"lines": lines, "total_cents": sum(prices)}

