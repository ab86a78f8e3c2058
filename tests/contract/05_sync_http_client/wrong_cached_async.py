"""A wrong fix: httpx.AsyncClient, awaited, but each product's stock is kept from its first call and never asked again."""

import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException, Request

CATALOG_URL = os.environ.get("CATALOG_URL", "http://catalog.internal")


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with httpx.AsyncClient(base_url=CATALOG_URL, timeout=5.0) as client:
        app.state.catalog = client
        yield


app = FastAPI(title="Stock badges", lifespan=lifespan)
_stock: dict[int, int] = {}


@app.get("/products/{product_id}/availability")
async def availability(product_id: int, request: Request):
    if product_id not in _stock:
        response = await request.app.state.catalog.get(f"/stock/{product_id}")
        if response.status_code == 404:
            raise HTTPException(status_code=404, detail="no such product")
        response.raise_for_status()
        _stock[product_id] = response.json()["available"]
    available = _stock[product_id]
    return {"id": product_id, "available": available, "in_stock": available > 0}
