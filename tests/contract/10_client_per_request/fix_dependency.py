"""A correct fix: one client built and closed in the lifespan, handed to the route by a dependency."""

import os
from contextlib import asynccontextmanager
from typing import Annotated

import httpx
from fastapi import Depends, FastAPI, HTTPException, Request

CATALOG_URL = os.environ.get("CATALOG_URL", "http://catalog.internal")
CATALOG_LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=10)


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with httpx.AsyncClient(base_url=CATALOG_URL, timeout=5.0, limits=CATALOG_LIMITS) as client:
        app.state.catalog = client
        yield


app = FastAPI(title="Stock labels", lifespan=lifespan)


def get_catalog(request: Request) -> httpx.AsyncClient:
    return request.app.state.catalog


@app.get("/products/{product_id}/stock")
async def stock_label(product_id: int, catalog: Annotated[httpx.AsyncClient, Depends(get_catalog)]):
    response = await catalog.get(f"/stock/{product_id}")
    if response.status_code == 404:
        raise HTTPException(status_code=404, detail="no such product")
    response.raise_for_status()
    return {"id": product_id, "left": response.json()["available"]}
