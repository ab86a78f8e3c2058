"""A wrong fix: the blocking call runs in a private pool of four threads, fewer than the badges of one page."""

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException, Request

CATALOG_URL = os.environ.get("CATALOG_URL", "http://catalog.internal")


@asynccontextmanager
async def lifespan(app: FastAPI):
    with httpx.Client(base_url=CATALOG_URL, timeout=5.0) as client, ThreadPoolExecutor(max_workers=4) as pool:
        app.state.catalog = client
        app.state.pool = pool
        yield


app = FastAPI(title="Stock badges", lifespan=lifespan)


@app.get("/products/{product_id}/availability")
async def availability(product_id: int, request: Request):
    catalog, pool = request.app.state.catalog, request.app.state.pool
    loop = asyncio.get_running_loop()
    response = await loop.run_in_executor(pool, catalog.get, f"/stock/{product_id}")
    if response.status_code == 404:
        raise HTTPException(status_code=404, detail="no such product")
    response.raise_for_status()
    available = response.json()["available"]
    return {"id": product_id, "available": available, "in_stock": available > 0}
