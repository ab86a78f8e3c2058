"""A wrong fix: give the catalogue 50 ms so the loop is never held long, and show "out of stock" when it is late."""

import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException, Request

CATALOG_URL = os.environ.get("CATALOG_URL", "http://catalog.internal")


@asynccontextmanager
async def lifespan(app: FastAPI):
    with httpx.Client(base_url=CATALOG_URL, timeout=0.05) as client:
        app.state.catalog = client
        yield


app = FastAPI(title="Stock badges", lifespan=lifespan)


@app.get("/products/{product_id}/availability")
async def availability(product_id: int, request: Request):
    catalog = request.app.state.catalog
    try:
        response = catalog.get(f"/stock/{product_id}")
    except httpx.TimeoutException:
        return {"id": product_id, "available": 0, "in_stock": False}
    if response.status_code == 404:
        raise HTTPException(status_code=404, detail="no such product")
    response.raise_for_status()
    available = response.json()["available"]
    return {"id": product_id, "available": available, "in_stock": available > 0}
