"""A wrong fix: the three calls go to a thread pool made in the lifespan, and the route waits on each future's result."""

import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request

CATALOG_URL = os.environ.get("CATALOG_URL", "http://catalog.internal")


@asynccontextmanager
async def lifespan(app: FastAPI):
    with httpx.Client(base_url=CATALOG_URL, timeout=5.0) as client, ThreadPoolExecutor(max_workers=8) as pool:
        app.state.catalog = client
        app.state.pool = pool
        yield


app = FastAPI(title="Storefront", lifespan=lifespan)


def fetch(client: httpx.Client, path: str) -> dict:
    response = client.get(path)
    response.raise_for_status()
    return response.json()


@app.get("/products/{product_id}/page")
async def product_page(product_id: int, request: Request):
    catalog, pool = request.app.state.catalog, request.app.state.pool
    stock_future = pool.submit(fetch, catalog, f"/stock/{product_id}")
    price_future = pool.submit(fetch, catalog, f"/prices/{product_id}")
    reviews_future = pool.submit(fetch, catalog, f"/reviews/{product_id}")
    stock, price, reviews = stock_future.result(), price_future.result(), reviews_future.result()
    return {
        "id": product_id,
        "price": price["price"],
        "currency": price["currency"],
        "available": stock["available"],
        "rating": reviews["rating"],
        "reviews": reviews["count"],
    }
