"""A wrong fix: move the read into an `async def` helper and await it. The read still blocks."""

import json
import os
from pathlib import Path

from fastapi import FastAPI, HTTPException

INVOICES = Path(os.environ.get("SHOP_STORAGE", "storage")) / "invoices"

app = FastAPI(title="Invoices")


async def read_invoice(path: Path) -> dict:
    with open(path, encoding="utf-8") as file:
        return json.load(file)


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.get("/invoices/{number}")
async def get_invoice(number: str):
    try:
        invoice = await read_invoice(INVOICES / f"{number}.json")
    except FileNotFoundError:
        raise HTTPException(status_code=404, detail="no such invoice")
    total = sum(line["quantity"] * line["price"] for line in invoice["lines"])
    return {**invoice, "total": round(total, 2)}
