"""A wrong fix: answer with a made-up invoice and never read the storage."""

from fastapi import FastAPI

app = FastAPI(title="Invoices")


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.get("/invoices/{number}")
async def get_invoice(number: str):
    lines = [{"item": "Bar", "quantity": 1, "price": 42.0}]
    return {"number": number, "customer": "Foo", "lines": lines, "total": 42.0}
