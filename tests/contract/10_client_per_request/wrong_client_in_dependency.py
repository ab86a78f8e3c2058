"""A wrong fix: the client moved into a dependency with `yield`, which FastAPI runs again for every request."""

import os
from collections.abc import AsyncIterator
from typing import Annotated

import httpx
from fastapi import Depends, FastAPI, HTTPException

CATALOG_URL = os.environ.get("CATALOG_URL", "http://catalog.internal")
CATALOG_LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=10)

app = FastAPI(title="Stock labels")


async def get_catalog() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=CATALOG_URL, timeout=5.0, limits=CATALOG_LIMITS) as client:
        yield client


@app.get("/products/{product_id}/stock")
async def stock_label(product_id: int, catalog: Annotated[httpx.AsyncClient, Depends(get_catalog)]):
    response = await catalog.get(f"/stock/{product_id}")
    if response.status_code == 404:
        raise HTTPException(status_code=404, detail="no such product")
    response.raise_for_status()
    return {"id": product_id, "left": response.json()["available"]}
