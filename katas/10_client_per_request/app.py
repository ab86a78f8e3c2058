"""Kata 10 · client_per_request: stock labels on the category page.

Goal: the fifty stock labels of a category page reach the catalogue through the ten connections
it allows this app. Today the catalogue counts fifty connections from us for every page, and
each label costs the app a slice of CPU before it even asks. Read README.md for the whole story.
"""

import os

import httpx
from fastapi import FastAPI, HTTPException

CATALOG_URL = os.environ.get("CATALOG_URL", "http://catalog.internal")
# The catalogue's operators allow each app at most ten connections at once.
CATALOG_LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=10)

app = FastAPI(title="Stock labels")


@app.get("/products/{product_id}/stock")
async def stock_label(product_id: int):
    # TODO: the catalogue allows this app ten connections, yet while one category page loads
    # its fifty labels, the catalogue counts fifty connections from us. Why?
    async with httpx.AsyncClient(base_url=CATALOG_URL, timeout=5.0, limits=CATALOG_LIMITS) as catalog:
        response = await catalog.get(f"/stock/{product_id}")
    if response.status_code == 404:
        raise HTTPException(status_code=404, detail="no such product")
    response.raise_for_status()
    return {"id": product_id, "left": response.json()["available"]}
