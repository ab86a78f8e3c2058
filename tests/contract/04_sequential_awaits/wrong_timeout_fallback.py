"""A wrong fix: give the catalogue 100 ms per call, and show placeholders for whatever comes late."""

import asyncio
import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request

CATALOG_URL = os.environ.get("CATALOG_URL", "http://catalog.internal")
PLACEHOLDERS = {
    "stock": {"available": 0},
    "price": {"price": None, "currency": "EUR"},
    "reviews": {"rating": None, "count": 0},
}


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with httpx.AsyncClient(base_url=CATALOG_URL, timeout=0.1) as client:
        app.state.catalog = client
        yield


app = FastAPI(title="Storefront", lifespan=lifespan)


async def fetch(client: httpx.AsyncClient, path: str, part: str) -> dict:
    try:
        response = await client.get(path)
    except httpx.TimeoutException:
        return PLACEHOLDERS[part]
    response.raise_for_status()
    return response.json()


@app.get("/products/{product_id}/page")
async def product_page(product_id: int, request: Request):
    catalog = request.app.state.catalog
    stock, price, reviews = await asyncio.gather(
        fetch(catalog, f"/stock/{product_id}", "stock"),
        fetch(catalog, f"/prices/{product_id}", "price"),
        fetch(catalog, f"/reviews/{product_id}", "reviews"),
    )
    return {
        "id": product_id,
        "price": price["price"],
        "currency": price["currency"],
        "available": stock["available"],
        "rating": reviews["rating"],
        "reviews": reviews["count"],
    }
