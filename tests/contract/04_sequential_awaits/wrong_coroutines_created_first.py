"""A wrong fix: the three coroutines are created first, then awaited one by one; each still starts only when awaited."""

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
    stock_call = fetch(catalog, f"/stock/{product_id}")
    price_call = fetch(catalog, f"/prices/{product_id}")
    reviews_call = fetch(catalog, f"/reviews/{product_id}")
    stock = await stock_call
    price = await price_call
    reviews = await reviews_call
    return {
        "id": product_id,
        "price": price["price"],
        "currency": price["currency"],
        "available": stock["available"],
        "rating": reviews["rating"],
        "reviews": reviews["count"],
    }
