"""A wrong fix: one client made in the lifespan with limits of ten, but also given a transport of its own: httpx ignores the limits, and the transport allows 100."""

import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException, Request

CATALOG_URL = os.environ.get("CATALOG_URL", "http://catalog.internal")
CATALOG_LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=10)


@asynccontextmanager
async def lifespan(app: FastAPI):
    transport = httpx.AsyncHTTPTransport(retries=2)
    async with httpx.AsyncClient(base_url=CATALOG_URL, timeout=5.0, limits=CATALOG_LIMITS, transport=transport) as client:
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
