"""A correct fix: the async generator reads each batch through aiosqlite, awaited."""

import os

import aiosqlite
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")
BATCH_SIZE = 10

app = FastAPI(title="Back office")


async def order_lines():
    yield "order_id,product_id,quantity\n"
    last_id = ""
    async with aiosqlite.connect(DATABASE) as db:
        while True:
            cursor = await db.execute(
                "SELECT id, product_id, quantity FROM orders WHERE id > ? ORDER BY id LIMIT ?",
                (last_id, BATCH_SIZE),
            )
            batch = await cursor.fetchall()
            if not batch:
                break
            last_id = batch[-1][0]
            yield "".join(f"{order_id},{product_id},{quantity}\n" for order_id, product_id, quantity in batch)


@app.get("/orders.csv")
async def export_orders():
    return StreamingResponse(order_lines(), media_type="text/csv")


@app.get("/health")
async def health():
    return {"status": "ok"}
