"""A wrong fix (a cheat): answer from a stock list written into the code, with no query at all."""

from fastapi import FastAPI, HTTPException

app = FastAPI(title="Stock")
STOCK = {1: ("Foo", 12), 2: ("Bar", 3), 3: ("Baz", 120)}


@app.get("/products/{product_id}/stock")
async def get_stock(product_id: int):
    row = STOCK.get(product_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    name, stock = row
    return {"id": product_id, "name": name, "stock": stock, "in_stock": stock > 0}
