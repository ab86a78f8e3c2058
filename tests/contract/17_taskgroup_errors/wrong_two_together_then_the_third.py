"""A wrong fix: two calls in one task group, the reviews only once both are back; a failed
price call stops the page before the reviews are asked for, but the page takes two calls' time."""

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
            stock_task = group.create_task(fetch(catalog, f"/stock/{product_id}"))
            price_task = group.create_task(fetch(catalog, f"/prices/{product_id}"))
        async with asyncio.TaskGroup() as group:
            reviews_task = group.create_task(fetch(catalog, f"/reviews/{product_id}"))
    except* httpx.HTTPError as failed:
        error = failed.exceptions[0]
        raise HTTPException(status_code=502, detail=f"the catalog call {error.request.method} {error.request.url.path} failed")
    stock, price, reviews = stock_task.result(), price_task.result(), reviews_task.result()
    return {
        "id": product_id,
        "price": price["price"],
        "currency": price["currency"],
        "available": stock["available"],
        "rating": reviews["rating"],
        "reviews": reviews["count"],
    }
