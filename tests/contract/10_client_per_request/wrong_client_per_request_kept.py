"""A wrong fix: each request builds its client and keeps it in a dict keyed by the request, "to close them all later"."""

import os

import httpx
from fastapi import FastAPI, HTTPException, Request

CATALOG_URL = os.environ.get("CATALOG_URL", "http://catalog.internal")
CATALOG_LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=10)
_clients: dict[int, httpx.AsyncClient] = {}

app = FastAPI(title="Stock labels")


def client_for(request: Request) -> httpx.AsyncClient:
    key = id(request.scope)
    if key not in _clients:
        _clients[key] = httpx.AsyncClient(base_url=CATALOG_URL, timeout=5.0, limits=CATALOG_LIMITS)
    return _clients[key]


@app.get("/products/{product_id}/stock")
async def stock_label(product_id: int, request: Request):
    response = await client_for(request).get(f"/stock/{product_id}")
    if response.status_code == 404:
        raise HTTPException(status_code=404, detail="no such product")
    response.raise_for_status()
    return {"id": product_id, "left": response.json()["available"]}
