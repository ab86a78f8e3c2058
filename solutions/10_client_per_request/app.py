"""Kata 10 · client_per_request: stock labels on the category page (reference solution)."""

import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException, Request

CATALOG_URL = os.environ.get("CATALOG_URL", "http://catalog.internal")
# The catalogue's operators allow each app at most ten connections at once.
CATALOG_LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=10)


@asynccontextmanager
async def lifespan(app: FastAPI):
    # Why this works: a client owns a pool of connections. Built once here and shared by every
    # request, its pool opens at most ten connections and keeps them for the next calls, and its
    # setup cost is paid once; `async with` closes the pool when the app stops.
    async with httpx.AsyncClient(base_url=CATALOG_URL, timeout=5.0, limits=CATALOG_LIMITS) as client:
        app.state.catalog = client
        yield


app = FastAPI(title="Stock labels", lifespan=lifespan)


@app.get("/products/{product_id}/stock")
async def stock_label(product_id: int, request: Request):
    response = await request.app.state.catalog.get(f"/stock/{product_id}")
    if response.status_code == 404:
        raise HTTPException(status_code=404, detail="no such product")
    response.raise_for_status()
    return {"id": product_id, "left": response.json()["available"]}
