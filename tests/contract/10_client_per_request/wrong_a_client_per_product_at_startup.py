"""A wrong fix: one client per product, built at startup and closed at shutdown, with httpx's
default limits: each pool may open a hundred connections of its own."""

import os
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException, Request

CATALOG_URL = os.environ.get("CATALOG_URL", "http://catalog.internal")
PRODUCTS = (1, 2, 3)


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with AsyncExitStack() as stack:
        app.state.catalogs = {
            product_id: await stack.enter_async_context(httpx.AsyncClient(base_url=CATALOG_URL, timeout=5.0))
            for product_id in PRODUCTS
        }
        yield


app = FastAPI(title="Stock labels", lifespan=lifespan)


@app.get("/products/{product_id}/stock")
async def stock_label(product_id: int, request: Request):
    catalog = request.app.state.catalogs.get(product_id)
    if catalog is None:
        raise HTTPException(status_code=404, detail="no such product")
    response = await catalog.get(f"/stock/{product_id}")
    if response.status_code == 404:
        raise HTTPException(status_code=404, detail="no such product")
    response.raise_for_status()
    return {"id": product_id, "left": response.json()["available"]}
