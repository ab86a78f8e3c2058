"""Kata 09 · nested_event_loop: the price list.

Goal: serve many price lookups at once, each with VAT added. Today every lookup through the
API answers 500 Internal Server Error, while the nightly export script gets its prices from the
same helper without trouble. Read README.md for the whole story.
"""

import asyncio
import os

import aiosqlite
from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")
VAT_RATE = 0.20

app = FastAPI(title="Price list")


def with_vat(net: float) -> float:
    return round(net * (1 + VAT_RATE), 2)


async def fetch_net_price(product_id: int) -> float | None:
    """The product's price before tax, or None if there is no such product."""
    async with aiosqlite.connect(DATABASE) as conn:
        cursor = await conn.execute("SELECT price FROM products WHERE id = ?", (product_id,))
        row = await cursor.fetchone()
    return None if row is None else row[0]


def price_with_vat(product_id: int) -> float | None:
    """The gross price, for sync callers: the nightly export script, which has no event loop."""
    net = asyncio.run(fetch_net_price(product_id))
    return None if net is None else with_vat(net)


@app.get("/prices/{product_id}")
async def get_price(product_id: int):
    # TODO: every lookup through this route answers 500, yet `price_with_vat()` works in the
    # export script. Why does it fail here?
    gross = price_with_vat(product_id)
    if gross is None:
        raise HTTPException(status_code=404, detail="no such product")
    return {"id": product_id, "price": gross}
