"""A wrong fix: a TaskGroup that cancels the others, and a 502 that always blames the price call,
the one the learner saw fail: when the stock call fails instead, the shopper is told the price failed."""

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
            reviews_task = group.create_task(fetch(catalog, f"/reviews/{product_id}"))
    except ExceptionGroup as failed:
        raise HTTPException(status_code=502, detail="Bad gateway: the price call failed") from failed
    stock, price, reviews = stock_task.result(), price_task.result(), reviews_task.result()
    return {
        "id": product_id,
        "price": price["price"],
        "currency": price["currency"],
        "available": stock["available"],
        "rating": reviews["rating"],
        "reviews": reviews["count"],
    }
