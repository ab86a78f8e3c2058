"""A wrong fix: a timeout and a 504, but each product's estimate kept from its first answer and served from memory."""

import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException, Request

DELIVERY_URL = os.environ.get("DELIVERY_URL", "http://delivery.internal")
_days: dict[int, int] = {}


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with httpx.AsyncClient(base_url=DELIVERY_URL, timeout=httpx.Timeout(0.3)) as client:
        app.state.delivery = client
        yield


app = FastAPI(title="Delivery estimates", lifespan=lifespan)


@app.get("/products/{product_id}/delivery")
async def delivery_estimate(product_id: int, request: Request):
    if product_id not in _days:
        try:
            response = await request.app.state.delivery.get(f"/estimates/{product_id}")
        except httpx.TimeoutException:
            raise HTTPException(status_code=504, detail="the delivery service did not answer in time") from None
        if response.status_code == 404:
            raise HTTPException(status_code=404, detail="no such product")
        response.raise_for_status()
        _days[product_id] = response.json()["days"]
    return {"id": product_id, "days": _days[product_id]}
