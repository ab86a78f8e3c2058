"""A wrong fix: the calls in an asyncio.TaskGroup, its error caught with a plain `except httpx.HTTPError`, which never matches the ExceptionGroup the group raises: a bare 500."""

import asyncio
import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

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


def page(product_id, stock, price, reviews):
    return {
        "id": product_id,
        "price": price["price"],
        "currency": price["currency"],
        "available": stock["available"],
        "rating": reviews["rating"],
        "reviews": reviews["count"],
    }

@app.get("/products/{product_id}/page")
async def product_page(product_id: int, request: Request):
    catalog = request.app.state.catalog
    try:
        async with asyncio.TaskGroup() as tg:
            s = tg.create_task(fetch(catalog, f"/stock/{product_id}"))
            p = tg.create_task(fetch(catalog, f"/prices/{product_id}"))
            r = tg.create_task(fetch(catalog, f"/reviews/{product_id}"))
    except httpx.HTTPError as e:
        raise HTTPException(502, f"{e.request.url.path} failed")
    return page(product_id, s.result(), p.result(), r.result())
