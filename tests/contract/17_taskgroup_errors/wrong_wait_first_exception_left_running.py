"""A wrong fix: asyncio.wait returns at the first failure, which is told as a 502, but the tasks
still pending are never cancelled."""

import asyncio
import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException, Request

CATALOG_URL = os.environ.get("CATALOG_URL", "http://catalog.internal")


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with httpx.AsyncClient(base_url=CATALOG_URL, timeout=5.0) as client:
        app.state.catalog = client
        yield


app = FastAPI(title="Storefront", lifespan=lifespan)


async def fetch(client: httpx.AsyncClient, path: str) -> dict:
    response = await client.get(path)
    response.raise_for_status()
    return response.json()


@app.get("/products/{product_id}/page")
async def product_page(product_id: int, request: Request):
    catalog = request.app.state.catalog
    tasks = {
        "stock": asyncio.create_task(fetch(catalog, f"/stock/{product_id}")),
        "price": asyncio.create_task(fetch(catalog, f"/prices/{product_id}")),
        "reviews": asyncio.create_task(fetch(catalog, f"/reviews/{product_id}")),
    }
    done, _ = await asyncio.wait(tasks.values(), return_when=asyncio.FIRST_EXCEPTION)
    for name, task in tasks.items():
        if task in done and task.exception() is not None:
            raise HTTPException(status_code=502, detail=f"the {name} call to the catalog failed")
    stock, price, reviews = tasks["stock"].result(), tasks["price"].result(), tasks["reviews"].result()
    return {
        "id": product_id,
        "price": price["price"],
        "currency": price["currency"],
        "available": stock["available"],
        "rating": reviews["rating"],
        "reviews": reviews["count"],
    }
