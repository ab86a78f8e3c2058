"""A wrong fix: a time limit on each call, but a call that timed out is made again, up to five
times: the request as a whole waits 1.5 s, past the page's deadline."""

import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException, Request

DELIVERY_URL = os.environ.get("DELIVERY_URL", "http://delivery.internal")
# The delivery service answers in about 50 ms when it is well; the product page waits 1 s.
DELIVERY_TIMEOUT = httpx.Timeout(0.3)
TRIES = 5


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with httpx.AsyncClient(base_url=DELIVERY_URL, timeout=DELIVERY_TIMEOUT) as client:
        app.state.delivery = client
        yield


app = FastAPI(title="Delivery estimates", lifespan=lifespan)


@app.get("/products/{product_id}/delivery")
async def delivery_estimate(product_id: int, request: Request):
    delivery = request.app.state.delivery
    for _ in range(TRIES):
        try:
            response = await delivery.get(f"/estimates/{product_id}")
            break
        except httpx.TimeoutException:
            continue  # "the service may have had a hiccup": try again
    else:
        raise HTTPException(status_code=504, detail="the delivery service did not answer in time")
    if response.status_code == 404:
        raise HTTPException(status_code=404, detail="no such product")
    response.raise_for_status()
    return {"id": product_id, "days": response.json()["days"]}
