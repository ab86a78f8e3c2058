"""Kata 04 · sequential_awaits: the product page (reference solution)."""

import asyncio
import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request

CATALOG_URL = os.environ.get("CATALOG_URL", "http://catalog.internal")


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with httpx.AsyncClient(base_url=CATALOG_URL, timeout=5.0) as client:
        app.state.catalog = client
        yield


app = FastAPI(title="Storefront", lifespan=lifespan)


async def fetch(client: httpx.AsyncClient, path: str) -> dict:
    response = await client.get(path)
    response.raise_for_status()
    return response.json()


@app.get("/products/{product_id}/page")
async def product_page(product_id: int, request: Request):
    catalog = request.app.state.catalog
    # Why this works: each `create_task` sends its call at once, so all three are out before
    # any answer comes back; leaving the `async with` block waits for the three together, so
    # the page takes as long as the slowest call instead of the sum of all three.
    async with asyncio.TaskGroup() as group:
        stock_task = group.create_task(fetch(catalog, f"/stock/{product_id}"))
        price_task = group.create_task(fetch(catalog, f"/prices/{product_id}"))
        reviews_task = group.create_task(fetch(catalog, f"/reviews/{product_id}"))
    stock, price, reviews = stock_task.result(), price_task.result(), reviews_task.result()
    return {
        "id": product_id,
        "price": price["price"],
        "currency": price["currency"],
        "available": stock["available"],
        "rating": reviews["rating"],
        "reviews": reviews["count"],
    }
