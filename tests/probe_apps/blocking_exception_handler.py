import hashlib

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI()


class OutOfStock(Exception):
    pass


@app.exception_handler(OutOfStock)
async def out_of_stock(request: Request, exc: OutOfStock):
    ticket = hashlib.pbkdf2_hmac("sha256", b"ticket", b"salt", 1_000_000).hex()[:8]  # BLOCKS: cpu
    return JSONResponse({"detail": "out of stock", "ticket": ticket}, status_code=409)


@app.get("/")
async def order():
    raise OutOfStock()
