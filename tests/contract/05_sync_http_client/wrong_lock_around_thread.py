"""A wrong fix: the blocking call moved into a thread, with a lock around it "because httpx.Client is shared"."""

import asyncio
import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException, Request

CATALOG_URL = os.environ.get("CATALOG_URL", "http://catalog.internal")


@asynccontextmanager
async def lifespan(app: FastAPI):
    with httpx.Client(base_url=CATALOG_URL, timeout=5.0) as client:
        app.state.catalog = client
        app.state.catalog_lock = asyncio.Lock()
        yield


app = FastAPI(title="Stock badges", lifespan=lifespan)


@app.get("/products/{product_id}/availability")
async def availability(product_id: int, request: Request):
    catalog = request.app.state.catalog
    async with request.app.state.catalog_lock:
        response = await asyncio.to_thread(catalog.get, f"/stock/{product_id}")
    if response.status_code == 404:
        raise HTTPException(status_code=404, detail="no such product")
    response.raise_for_status()
    available = response.json()["available"]
    return {"id": product_id, "available": available, "in_stock": available > 0}
