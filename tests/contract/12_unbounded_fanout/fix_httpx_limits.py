"""A correct fix: the app's one client keeps at most four connections; a fifth call waits in its pool."""

import asyncio
import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from pydantic import BaseModel

SUPPLIER_URL = os.environ.get("SUPPLIER_URL", "http://supplier.internal")


@asynccontextmanager
async def lifespan(app: FastAPI):
    limits = httpx.Limits(max_connections=4)
    async with httpx.AsyncClient(base_url=SUPPLIER_URL, timeout=5.0, limits=limits) as client:
        app.state.supplier = client
        yield


app = FastAPI(title="Quotes", lifespan=lifespan)


class Basket(BaseModel):
    skus: list[str]


async def fetch_price(supplier: httpx.AsyncClient, sku: str) -> int:
    response = await supplier.get(f"/prices/{sku}")
    response.raise_for_status()
    return response.json()["price_cents"]


@app.post("/quotes")
async def quote(basket: Basket, request: Request):
    supplier = request.app.state.supplier
    prices = await asyncio.gather(*(fetch_price(supplier, sku) for sku in basket.skus))
    lines = [{"sku": sku, "price_cents": price} for sku, price in zip(basket.skus, prices)]
    return {"lines": lines, "total_cents": sum(prices)}

