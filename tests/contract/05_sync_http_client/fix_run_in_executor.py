"""A correct fix: keep `async def` and the blocking client, and make the call in the loop's default executor."""

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
        yield


app = FastAPI(title="Stock badges", lifespan=lifespan)


@app.get("/products/{product_id}/availability")
async def availability(product_id: int, request: Request):
    catalog = request.app.state.catalog
    loop = asyncio.get_running_loop()
    response = await loop.run_in_executor(None, catalog.get, f"/stock/{product_id}")
    if response.status_code == 404:
        raise HTTPException(status_code=404, detail="no such product")
    response.raise_for_status()
    available = response.json()["available"]
    return {"id": product_id, "available": available, "in_stock": available > 0}
