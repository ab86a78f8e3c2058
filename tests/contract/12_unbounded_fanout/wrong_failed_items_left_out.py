"""A wrong fix: the calls turned away are left out of the quote, which comes back 200 without them."""

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


async def fetch_price(supplier: httpx.AsyncClient, sku: str) -> int:
    response = await supplier.get(f"/prices/{sku}")
    response.raise_for_status()
    return response.json()["price_cents"]


@app.post("/quotes")
async def quote(basket: Basket, request: Request):
    supplier = request.app.state.supplier
    found = await asyncio.gather(*(fetch_price(supplier, sku) for sku in basket.skus), return_exceptions=True)
    lines = [{"sku": sku, "price_cents": price} for sku, price in zip(basket.skus, found) if isinstance(price, int)]
    return {"lines": lines, "total_cents": sum(line["price_cents"] for line in lines)}
