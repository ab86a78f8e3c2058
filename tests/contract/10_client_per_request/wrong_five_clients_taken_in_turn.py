"""A wrong fix: five clients built at startup and taken in turn "to spread the load": each has a
pool of ten connections of its own, so the app may open fifty."""

import itertools
import os
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException, Request

CATALOG_URL = os.environ.get("CATALOG_URL", "http://catalog.internal")
CATALOG_LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=10)


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(httpx.AsyncClient(base_url=CATALOG_URL, timeout=5.0, limits=CATALOG_LIMITS))
                   for _ in range(5)]
        app.state.catalogs = itertools.cycle(clients)
        yield


app = FastAPI(title="Stock labels", lifespan=lifespan)


@app.get("/products/{product_id}/stock")
async def stock_label(product_id: int, request: Request):
    response = await next(request.app.state.catalogs).get(f"/stock/{product_id}")
    if response.status_code == 404:
        raise HTTPException(status_code=404, detail="no such product")
    response.raise_for_status()
    return {"id": product_id, "left": response.json()["available"]}
