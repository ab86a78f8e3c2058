"""A wrong fix: the stock call started as a task, the price call awaited, the reviews after it;
when the price call fails, the 502 names it, but the stock call is left running."""

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
    stock_task = asyncio.create_task(fetch(catalog, f"/stock/{product_id}"))
    try:
        price = await fetch(catalog, f"/prices/{product_id}")
    except httpx.HTTPError as error:
        raise HTTPException(status_code=502, detail=f"the catalog call {error.request.method} {error.request.url.path} failed")
    reviews = await fetch(catalog, f"/reviews/{product_id}")
    stock = await stock_task
    return {
        "id": product_id,
        "price": price["price"],
        "currency": price["currency"],
        "available": stock["available"],
        "rating": reviews["rating"],
        "reviews": reviews["count"],
    }
