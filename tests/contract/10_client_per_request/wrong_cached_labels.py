"""A wrong fix: one shared client, and each product's stock kept from its first call, so the catalogue is asked less."""

import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException, Request

CATALOG_URL = os.environ.get("CATALOG_URL", "http://catalog.internal")
CATALOG_LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=10)
_left: dict[int, int] = {}


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with httpx.AsyncClient(base_url=CATALOG_URL, timeout=5.0, limits=CATALOG_LIMITS) as client:
        app.state.catalog = client
        yield


app = FastAPI(title="Stock labels", lifespan=lifespan)


@app.get("/products/{product_id}/stock")
async def stock_label(product_id: int, request: Request):
    if product_id not in _left:
        response = await request.app.state.catalog.get(f"/stock/{product_id}")
        if response.status_code == 404:
            raise HTTPException(status_code=404, detail="no such product")
        response.raise_for_status()
        _left[product_id] = response.json()["available"]
    return {"id": product_id, "left": _left[product_id]}
