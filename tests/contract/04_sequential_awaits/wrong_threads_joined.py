"""A wrong fix: each call runs in a thread of its own with a blocking client, and the route joins the threads."""

import os
import threading
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request

CATALOG_URL = os.environ.get("CATALOG_URL", "http://catalog.internal")


@asynccontextmanager
async def lifespan(app: FastAPI):
    with httpx.Client(base_url=CATALOG_URL, timeout=5.0) as client:
        app.state.catalog = client
        yield


app = FastAPI(title="Storefront", lifespan=lifespan)


def fetch(client: httpx.Client, path: str, results: dict, key: str) -> None:
    response = client.get(path)
    response.raise_for_status()
    results[key] = response.json()


@app.get("/products/{product_id}/page")
async def product_page(product_id: int, request: Request):
    catalog = request.app.state.catalog
    results: dict[str, dict] = {}
    threads = [
        threading.Thread(target=fetch, args=(catalog, f"/stock/{product_id}", results, "stock")),
        threading.Thread(target=fetch, args=(catalog, f"/prices/{product_id}", results, "price")),
        threading.Thread(target=fetch, args=(catalog, f"/reviews/{product_id}", results, "reviews")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stock, price, reviews = results["stock"], results["price"], results["reviews"]
    return {
        "id": product_id,
        "price": price["price"],
        "currency": price["currency"],
        "available": stock["available"],
        "rating": reviews["rating"],
        "reviews": reviews["count"],
    }
