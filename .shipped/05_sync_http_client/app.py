"""Kata 05 · sync_http_client: stock badges.

Goal: a page of ten product cards gets its ten "in stock" badges at the same time. Today the
catalogue answers each badge in about 0.2 s, yet the tenth badge of a page arrives after about
2 s. Read README.md for the whole story.
"""

import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException, Request

CATALOG_URL = os.environ.get("CATALOG_URL", "http://catalog.internal")


@asynccontextmanager
async def lifespan(app: FastAPI):
    # TODO: every badge's call to the catalogue goes through the client made here.
    with httpx.Client(base_url=CATALOG_URL, timeout=5.0) as client:
        app.state.catalog = client
        yield


app = FastAPI(title="Stock badges", lifespan=lifespan)


@app.get("/products/{product_id}/availability")
async def availability(product_id: int, request: Request):
    catalog = request.app.state.catalog
    # TODO: the catalogue answers this call in about 0.2 s, yet when a page asks for ten badges
    # at once, the last one arrives after about 2 s. Why?
    response = catalog.get(f"/stock/{product_id}")
    if response.status_code == 404:
        raise HTTPException(status_code=404, detail="no such product")
    response.raise_for_status()
    available = response.json()["available"]
    return {"id": product_id, "available": available, "in_stock": available > 0}
