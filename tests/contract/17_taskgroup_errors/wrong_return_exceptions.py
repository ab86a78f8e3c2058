"""A wrong fix: gather(return_exceptions=True) waits for all three and hands back the failure
as a value; the page goes out with 200 and no price."""

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
        yield


app = FastAPI(title="Storefront", lifespan=lifespan)


async def fetch(client: httpx.AsyncClient, path: str) -> dict:
    response = await client.get(path)
    response.raise_for_status()
    return response.json()


@app.get("/products/{product_id}/page")
async def product_page(product_id: int, request: Request):
    catalog = request.app.state.catalog
    stock, price, reviews = await asyncio.gather(
        fetch(catalog, f"/stock/{product_id}"),
        fetch(catalog, f"/prices/{product_id}"),
        fetch(catalog, f"/reviews/{product_id}"),
        return_exceptions=True,
    )
    if isinstance(price, Exception):
        price = {"price": None, "currency": None}
    return {
        "id": product_id,
        "price": price["price"],
        "currency": price["currency"],
        "available": stock["available"],
        "rating": reviews["rating"],
        "reviews": reviews["count"],
    }
