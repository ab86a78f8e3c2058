"""Kata 11 · missing_timeout: delivery estimates on the product page.

Goal: a product page always gets an answer about delivery within a second: the estimate, or a
504 that says the delivery service did not answer in time. Today, when the delivery service
stops answering, the estimates never come back. Read README.md for the whole story.
"""

import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException, Request

DELIVERY_URL = os.environ.get("DELIVERY_URL", "http://delivery.internal")


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with httpx.AsyncClient(base_url=DELIVERY_URL, timeout=None) as client:
        app.state.delivery = client
        yield


app = FastAPI(title="Delivery estimates", lifespan=lifespan)


@app.get("/products/{product_id}/delivery")
async def delivery_estimate(product_id: int, request: Request):
    delivery = request.app.state.delivery
    # TODO: the delivery service answers in about 50 ms, but during its deploys it takes calls
    # and never answers. Product pages then wait for this route forever. What should they get?
    response = await delivery.get(f"/estimates/{product_id}")
    if response.status_code == 404:
        raise HTTPException(status_code=404, detail="no such product")
    response.raise_for_status()
    return {"id": product_id, "days": response.json()["days"]}
