"""A wrong fix: every product page is fetched once at startup, all calls at once, and then served from memory."""

import asyncio
import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException

CATALOG_URL = os.environ.get("CATALOG_URL", "http://catalog.internal")
PRODUCTS = range(1, 4)
pages: dict[int, dict] = {}


async def fetch(client: httpx.AsyncClient, path: str) -> dict:
    response = await client.get(path)
    response.raise_for_status()
    return response.json()


async def load_page(client: httpx.AsyncClient, product_id: int) -> None:
    stock, price, reviews = await asyncio.gather(
        fetch(client, f"/stock/{product_id}"),
        fetch(client, f"/prices/{product_id}"),
        fetch(client, f"/reviews/{product_id}"),
    )
    pages[product_id] = {
        "id": product_id,
        "price": price["price"],
        "currency": price["currency"],
        "available": stock["available"],
        "rating": reviews["rating"],
        "reviews": reviews["count"],
    }


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with httpx.AsyncClient(base_url=CATALOG_URL, timeout=5.0) as client:
        await asyncio.gather(*(load_page(client, product_id) for product_id in PRODUCTS))
        yield


app = FastAPI(title="Storefront", lifespan=lifespan)


@app.get("/products/{product_id}/page")
async def product_page(product_id: int):
    if product_id not in pages:
        raise HTTPException(status_code=404, detail="no such product")
    return pages[product_id]
