"""A correct fix: a timeout on the one call, and an exception handler that turns any httpx timeout into a 504."""

import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

DELIVERY_URL = os.environ.get("DELIVERY_URL", "http://delivery.internal")


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with httpx.AsyncClient(base_url=DELIVERY_URL, timeout=None) as client:
        app.state.delivery = client
        yield


app = FastAPI(title="Delivery estimates", lifespan=lifespan)


@app.exception_handler(httpx.TimeoutException)
async def upstream_timed_out(request: Request, exc: httpx.TimeoutException) -> JSONResponse:
    return JSONResponse(status_code=504, content={"detail": "an upstream service did not answer in time"})


@app.get("/products/{product_id}/delivery")
async def delivery_estimate(product_id: int, request: Request):
    delivery = request.app.state.delivery
    response = await delivery.get(f"/estimates/{product_id}", timeout=httpx.Timeout(0.3))
    if response.status_code == 404:
        raise HTTPException(status_code=404, detail="no such product")
    response.raise_for_status()
    return {"id": product_id, "days": response.json()["days"]}
