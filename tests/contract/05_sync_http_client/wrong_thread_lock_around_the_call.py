"""A wrong fix: the call made in a thread, but a threading.Lock around it lets one call at a time through the shared client."""

import asyncio
import os
import threading
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException, Request

CATALOG_URL = os.environ.get("CATALOG_URL", "http://catalog.internal")


@asynccontextmanager
async def lifespan(app: FastAPI):
    with httpx.Client(base_url=CATALOG_URL, timeout=5.0) as client:
        app.state.catalog = client
        yield


app = FastAPI(title="Stock badges", lifespan=lifespan)
calls = threading.Lock()


def get_stock(catalog, product_id):
    with calls:  # one call at a time through the shared client
        return catalog.get(f"/stock/{product_id}")


@app.get("/products/{product_id}/availability")
async def availability(product_id: int, request: Request):
    catalog = request.app.state.catalog
    response = await asyncio.to_thread(get_stock, catalog, product_id)
    if response.status_code == 404:
        raise HTTPException(status_code=404, detail="no such product")
    response.raise_for_status()
    available = response.json()["available"]
    return {"id": product_id, "available": available, "in_stock": available > 0}
