"""Kata 04 · sequential_awaits: the product page.

Goal: the product page is ready about as soon as the slowest of its three ingredients (stock,
price, reviews). Today it takes about as long as the three of them added up. Read README.md for
the whole story.
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
    # TODO: the catalogue answers each of these in about 0.3 s, yet the page takes about
    # 0.9 s to build. Why?
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
