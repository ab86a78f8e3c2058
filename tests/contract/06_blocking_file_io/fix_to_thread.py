"""A correct fix: keep `async def`, and run the blocking read in a thread with anyio.to_thread."""

import json
import os
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, HTTPException

INVOICES = Path(os.environ.get("SHOP_STORAGE", "storage")) / "invoices"

app = FastAPI(title="Invoices")


def read_invoice(path: Path) -> dict:
    with open(path, encoding="utf-8") as file:
        return json.load(file)


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.get("/invoices/{number}")
async def get_invoice(number: str):
    try:
        invoice = await anyio.to_thread.run_sync(read_invoice, INVOICES / f"{number}.json")
    except FileNotFoundError:
        raise HTTPException(status_code=404, detail="no such invoice")
    total = sum(line["quantity"] * line["price"] for line in invoice["lines"])
    return {**invoice, "total": round(total, 2)}
