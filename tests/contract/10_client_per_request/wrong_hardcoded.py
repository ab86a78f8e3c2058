"""A wrong fix: no client at all; every label says the same."""

from fastapi import FastAPI

app = FastAPI(title="Stock labels")


@app.get("/products/{product_id}/stock")
async def stock_label(product_id: int):
    return {"id": product_id, "left": 100}
