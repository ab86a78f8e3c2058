"""A correct fix: gather still runs the three calls, but as tasks the route holds, so that when
one fails it cancels the others itself, then answers 502 naming the call."""

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
    tasks = [
        asyncio.create_task(fetch(catalog, f"/stock/{product_id}")),
        asyncio.create_task(fetch(catalog, f"/prices/{product_id}")),
        asyncio.create_task(fetch(catalog, f"/reviews/{product_id}")),
    ]
    try:
        stock, price, reviews = await asyncio.gather(*tasks)
    except httpx.HTTPStatusError as error:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise HTTPException(status_code=502, detail=f"catalog call failed: GET {error.request.url.path} -> {error.response.status_code}")
    return {
        "id": product_id,
        "price": price["price"],
        "currency": price["currency"],
        "available": stock["available"],
        "rating": reviews["rating"],
        "reviews": reviews["count"],
    }
