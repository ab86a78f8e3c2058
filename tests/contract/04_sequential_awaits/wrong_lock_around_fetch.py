"""A wrong fix: asyncio.gather starts the three calls, but a lock "to spare the catalogue" lets one through at a time."""

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
        app.state.catalog_lock = asyncio.Lock()
        yield


app = FastAPI(title="Storefront", lifespan=lifespan)


async def fetch(client: httpx.AsyncClient, lock: asyncio.Lock, path: str) -> dict:
    async with lock:
        response = await client.get(path)
    response.raise_for_status()
    return response.json()


@app.get("/products/{product_id}/page")
async def product_page(product_id: int, request: Request):
    catalog, lock = request.app.state.catalog, request.app.state.catalog_lock
    stock, price, reviews = await asyncio.gather(
        fetch(catalog, lock, f"/stock/{product_id}"),
        fetch(catalog, lock, f"/prices/{product_id}"),
        fetch(catalog, lock, f"/reviews/{product_id}"),
    )
    return {
        "id": product_id,
        "price": price["price"],
        "currency": price["currency"],
        "available": stock["available"],
        "rating": reviews["rating"],
        "reviews": reviews["count"],
    }
