"""A task group and a 502, but an answer that lists every call instead of the one that failed."""

import asyncio
import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException, Request

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
    try:
        async with asyncio.TaskGroup() as group:
            stock_t = group.create_task(fetch(catalog, f"/stock/{product_id}"))
            price_t = group.create_task(fetch(catalog, f"/prices/{product_id}"))
            reviews_t = group.create_task(fetch(catalog, f"/reviews/{product_id}"))
    except* httpx.HTTPError:
        raise HTTPException(502, detail="could not load the product's stock, price or reviews")
    stock, price, reviews = stock_t.result(), price_t.result(), reviews_t.result()
    return {
        "id": product_id,
        "price": price["price"],
        "currency": price["currency"],
        "available": stock["available"],
        "rating": reviews["rating"],
        "reviews": reviews["count"],
    }
