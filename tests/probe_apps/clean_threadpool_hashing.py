import hashlib

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

app = FastAPI()


@app.get("/")
async def login():
    digest = await run_in_threadpool(hashlib.pbkdf2_hmac, "sha256", b"hunter2", b"salt", 1_000_000)
    return {"token": digest.hex()[:16]}
