"""A wrong fix: one client, but built by the first request that needs it: that request pays its CPU on the event loop."""

import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException

CATALOG_URL = os.environ.get("CATALOG_URL", "http://catalog.internal")
CATALOG_LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=10)
_catalog: httpx.AsyncClient | None = None


def catalog() -> httpx.AsyncClient:
    global _catalog
    if _catalog is None:
        _catalog = httpx.AsyncClient(base_url=CATALOG_URL, timeout=5.0, limits=CATALOG_LIMITS)
    return _catalog


@asynccontextmanager
async def lifespan(app: FastAPI):
    yield
    if _catalog is not None:
        await _catalog.aclose()


app = FastAPI(title="Stock labels", lifespan=lifespan)


@app.get("/products/{product_id}/stock")
async def stock_label(product_id: int):
    response = await catalog().get(f"/stock/{product_id}")
    if response.status_code == 404:
        raise HTTPException(status_code=404, detail="no such product")
    response.raise_for_status()
    return {"id": product_id, "left": response.json()["available"]}
