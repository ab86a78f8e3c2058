"""A wrong fix: an httpx.AsyncClient, awaited, but a new one built for every badge."""

import os

import httpx
from fastapi import FastAPI, HTTPException

CATALOG_URL = os.environ.get("CATALOG_URL", "http://catalog.internal")

app = FastAPI(title="Stock badges")


@app.get("/products/{product_id}/availability")
async def availability(product_id: int):
    async with httpx.AsyncClient(base_url=CATALOG_URL, timeout=5.0) as catalog:
        response = await catalog.get(f"/stock/{product_id}")
    if response.status_code == 404:
        raise HTTPException(status_code=404, detail="no such product")
    response.raise_for_status()
    available = response.json()["available"]
    return {"id": product_id, "available": available, "in_stock": available > 0}
