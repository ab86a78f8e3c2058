"""Kata 04 · sequential_awaits: the product page.

Goal: build a product page as fast as its slowest ingredient. Today the page asks the
catalogue service for stock, then for the price, then for the reviews, each after the last one
has answered, so it takes as long as all three together. Read README.md for the whole story.
"""

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
    # TODO: these three calls do not depend on one another, yet each one starts only after
    # the one before it has answered. Start all three at once, then wait for them together.
    stock = await fetch(catalog, f"/stock/{product_id}")
    price = await fetch(catalog, f"/prices/{product_id}")
    reviews = await fetch(catalog, f"/reviews/{product_id}")
    return {
        "id": product_id,
        "price": price["price"],
        "currency": price["currency"],
        "available": stock["available"],
        "rating": reviews["rating"],
        "reviews": reviews["count"],
    }
