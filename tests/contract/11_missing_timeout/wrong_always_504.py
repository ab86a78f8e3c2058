"""A wrong fix: never ask the delivery service; every estimate is a 504."""

from fastapi import FastAPI, HTTPException

app = FastAPI(title="Delivery estimates")


@app.get("/products/{product_id}/delivery")
async def delivery_estimate(product_id: int):
    raise HTTPException(status_code=504, detail="the delivery service did not answer in time")
