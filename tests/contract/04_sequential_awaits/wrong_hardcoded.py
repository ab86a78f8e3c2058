"""A wrong fix: answer with a made-up page and never ask the catalogue."""

from fastapi import FastAPI

app = FastAPI(title="Storefront")


@app.get("/products/{product_id}/page")
async def product_page(product_id: int):
    return {"id": product_id, "price": 9.5, "currency": "EUR", "available": 100, "rating": 4.5, "reviews": 12}
