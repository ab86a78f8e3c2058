"""Kata 17 · taskgroup_errors: the product page.

Goal: when one of the three calls behind the product page fails, the shopper gets a clear
502 Bad Gateway that says which call failed, and the catalogue service is not left busy with a
page nobody will see. Today the shopper gets a bare 500, and the catalogue service goes on
working for the failed page long after. Read README.md for the whole story.
"""

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
    # TODO: when one of these calls fails, the shopper gets a bare 500 Internal Server Error,
    # and the catalogue service is still busy with this page long after. Why?
    stock, price, reviews = await asyncio.gather(
        fetch(catalog, f"/stock/{product_id}"),
        fetch(catalog, f"/prices/{product_id}"),
        fetch(catalog, f"/reviews/{product_id}"),
    )
    return {
        "id": product_id,
        "price": price["price"],
        "currency": price["currency"],
        "available": stock["available"],
        "rating": reviews["rating"],
        "reviews": reviews["count"],
    }
