"""A wrong fix: gather(return_exceptions=True), then a 502 naming the first failure; but gather
waited for the other calls to run to their end first."""

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
    results = await asyncio.gather(
        fetch(catalog, f"/stock/{product_id}"),
        fetch(catalog, f"/prices/{product_id}"),
        fetch(catalog, f"/reviews/{product_id}"),
        return_exceptions=True,
    )
    for name, result in zip(("stock", "price", "reviews"), results):
        if isinstance(result, Exception):
            raise HTTPException(status_code=502, detail=f"the {name} call failed: {result!r}")
    stock, price, reviews = results
    return {
        "id": product_id,
        "price": price["price"],
        "currency": price["currency"],
        "available": stock["available"],
        "rating": reviews["rating"],
        "reviews": reviews["count"],
    }
