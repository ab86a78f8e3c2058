"""A correct fix: one httpx.AsyncClient made when the module loads, awaited in the route, closed at shutdown."""

import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException

CATALOG_URL = os.environ.get("CATALOG_URL", "http://catalog.internal")
catalog = httpx.AsyncClient(base_url=CATALOG_URL, timeout=5.0)


@asynccontextmanager
async def lifespan(app: FastAPI):
    yield
    await catalog.aclose()


app = FastAPI(title="Stock badges", lifespan=lifespan)


@app.get("/products/{product_id}/availability")
async def availability(product_id: int):
    response = await catalog.get(f"/stock/{product_id}")
    if response.status_code == 404:
        raise HTTPException(status_code=404, detail="no such product")
    response.raise_for_status()
    available = response.json()["available"]
    return {"id": product_id, "available": available, "in_stock": available > 0}
