"""A correct fix: a blocking client with a timeout, in a plain `def` route that FastAPI runs in a worker thread."""

import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException, Request

DELIVERY_URL = os.environ.get("DELIVERY_URL", "http://delivery.internal")


@asynccontextmanager
async def lifespan(app: FastAPI):
    with httpx.Client(base_url=DELIVERY_URL, timeout=httpx.Timeout(0.3)) as client:
        app.state.delivery = client
        yield


app = FastAPI(title="Delivery estimates", lifespan=lifespan)


@app.get("/products/{product_id}/delivery")
def delivery_estimate(product_id: int, request: Request):
    delivery = request.app.state.delivery
    try:
        response = delivery.get(f"/estimates/{product_id}")
    except httpx.TimeoutException:
        raise HTTPException(status_code=504, detail="the delivery service did not answer in time") from None
    if response.status_code == 404:
        raise HTTPException(status_code=404, detail="no such product")
    response.raise_for_status()
    return {"id": product_id, "days": response.json()["days"]}
