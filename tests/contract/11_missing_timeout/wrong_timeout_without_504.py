"""A wrong fix: a timeout of 0.3 s on the client, but nothing turns it into a 504: the route fails with a 500."""

import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException, Request

DELIVERY_URL = os.environ.get("DELIVERY_URL", "http://delivery.internal")


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with httpx.AsyncClient(base_url=DELIVERY_URL, timeout=httpx.Timeout(0.3)) as client:
        app.state.delivery = client
        yield


app = FastAPI(title="Delivery estimates", lifespan=lifespan)


@app.get("/products/{product_id}/delivery")
async def delivery_estimate(product_id: int, request: Request):
    delivery = request.app.state.delivery
    response = await delivery.get(f"/estimates/{product_id}")
    if response.status_code == 404:
        raise HTTPException(status_code=404, detail="no such product")
    response.raise_for_status()
    return {"id": product_id, "days": response.json()["days"]}
