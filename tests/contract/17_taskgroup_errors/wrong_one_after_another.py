"""A wrong fix: the calls awaited one after another, so a failure stops the page before the
next call is made; but the page now takes the sum of the three calls."""

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
        stock = await fetch(catalog, f"/stock/{product_id}")
        price = await fetch(catalog, f"/prices/{product_id}")
        reviews = await fetch(catalog, f"/reviews/{product_id}")
    except httpx.HTTPStatusError as error:
        raise HTTPException(status_code=502, detail=f"catalog call failed: {error.request.url.path}")
    return {
        "id": product_id,
        "price": price["price"],
        "currency": price["currency"],
        "available": stock["available"],
        "rating": reviews["rating"],
        "reviews": reviews["count"],
    }
