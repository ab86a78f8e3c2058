"""Kata 11 · missing_timeout: delivery estimates on the product page (reference solution)."""

import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException, Request

DELIVERY_URL = os.environ.get("DELIVERY_URL", "http://delivery.internal")
# The delivery service answers in about 50 ms when it is well; the product page waits 1 s.
DELIVERY_TIMEOUT = httpx.Timeout(0.3)


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with httpx.AsyncClient(base_url=DELIVERY_URL, timeout=DELIVERY_TIMEOUT) as client:
        app.state.delivery = client
        yield


app = FastAPI(title="Delivery estimates", lifespan=lifespan)


@app.get("/products/{product_id}/delivery")
async def delivery_estimate(product_id: int, request: Request):
    delivery = request.app.state.delivery
    # Why this works: with a timeout, httpx stops waiting for an answer after 0.3 s, closes the
    # connection (so the delivery service sees the call end) and raises; the route turns that
    # into a 504 well within the page's second.
    try:
        response = await delivery.get(f"/estimates/{product_id}")
    except httpx.TimeoutException:
        raise HTTPException(status_code=504, detail="the delivery service did not answer in time") from None
    if response.status_code == 404:
        raise HTTPException(status_code=404, detail="no such product")
    response.raise_for_status()
    return {"id": product_id, "days": response.json()["days"]}
