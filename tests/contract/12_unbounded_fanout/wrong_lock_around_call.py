"""A wrong fix: all calls still go out at once, and a lock "to spare the supplier" lets one through at a time."""

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


supplier_lock = asyncio.Lock()


async def fetch_price(supplier: httpx.AsyncClient, sku: str) -> int:
    async with supplier_lock:
        response = await supplier.get(f"/prices/{sku}")
    response.raise_for_status()
    return response.json()["price_cents"]


@app.post("/quotes")
async def quote(basket: Basket, request: Request):
    supplier = request.app.state.supplier
    prices = await asyncio.gather(*(fetch_price(supplier, sku) for sku in basket.skus))
    lines = [{"sku": sku, "price_cents": price} for sku, price in zip(basket.skus, prices)]
    return {"lines": lines, "total_cents": sum(prices)}
