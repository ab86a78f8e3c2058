"""A wrong fix: a client per product, built by the first request for it and kept in a dict "to reuse it"."""

import os

import httpx
from fastapi import FastAPI, HTTPException

CATALOG_URL = os.environ.get("CATALOG_URL", "http://catalog.internal")
CATALOG_LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=10)
_clients: dict[int, httpx.AsyncClient] = {}

app = FastAPI(title="Stock labels")


@app.get("/products/{product_id}/stock")
async def stock_label(product_id: int):
    if product_id not in _clients:
        _clients[product_id] = httpx.AsyncClient(base_url=CATALOG_URL, timeout=5.0, limits=CATALOG_LIMITS)
    response = await _clients[product_id].get(f"/stock/{product_id}")
    if response.status_code == 404:
        raise HTTPException(status_code=404, detail="no such product")
    response.raise_for_status()
    return {"id": product_id, "left": response.json()["available"]}
