"""A correct fix: an anyio task group cancels the other calls when one fails; the failure comes
out as an ExceptionGroup, and the shopper gets a 502 that names the call."""

import os
from contextlib import asynccontextmanager

import anyio
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
    results: dict[str, dict] = {}

    async def collect(name: str, path: str) -> None:
        results[name] = await fetch(catalog, path)

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(collect, "stock", f"/stock/{product_id}")
            group.start_soon(collect, "price", f"/prices/{product_id}")
            group.start_soon(collect, "reviews", f"/reviews/{product_id}")
    except* httpx.HTTPStatusError as failed:
        error = failed.exceptions[0]
        raise HTTPException(status_code=502, detail=f"{error.request.url.path} answered {error.response.status_code}")
    stock, price, reviews = results["stock"], results["price"], results["reviews"]
    return {
        "id": product_id,
        "price": price["price"],
        "currency": price["currency"],
        "available": stock["available"],
        "rating": reviews["rating"],
        "reviews": reviews["count"],
    }
