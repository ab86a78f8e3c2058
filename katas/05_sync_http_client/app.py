"""Kata 05 · sync_http_client: stock badges.

Goal: show many "in stock" badges at the same time. Today each badge asks the catalogue
service with a blocking HTTP client, so while one waits for its answer, every other request
waits too. Read README.md for the whole story.
"""

import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException, Request

CATALOG_URL = os.environ.get("CATALOG_URL", "http://catalog.internal")


@asynccontextmanager
async def lifespan(app: FastAPI):
    # TODO: `httpx.Client` is httpx's blocking client; httpx has an async one too.
    with httpx.Client(base_url=CATALOG_URL, timeout=5.0) as client:
        app.state.catalog = client
        yield


app = FastAPI(title="Stock badges", lifespan=lifespan)


@app.get("/products/{product_id}/availability")
async def availability(product_id: int, request: Request):
    catalog = request.app.state.catalog
    # TODO: this route is `async def`, but the call below blocks: for as long as the catalogue
    # service takes to answer, the event loop waits with it and serves no one else.
    response = catalog.get(f"/stock/{product_id}")
    if response.status_code == 404:
        raise HTTPException(status_code=404, detail="no such product")
    response.raise_for_status()
    available = response.json()["available"]
    return {"id": product_id, "available": available, "in_stock": available > 0}
