"""A wrong fix: every badge says "in stock", and the catalogue is never asked."""

from fastapi import FastAPI

app = FastAPI(title="Stock badges")


@app.get("/products/{product_id}/availability")
async def availability(product_id: int):
    return {"id": product_id, "available": 100, "in_stock": True}
