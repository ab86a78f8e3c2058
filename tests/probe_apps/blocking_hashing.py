import hashlib

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def login():
    digest = hashlib.pbkdf2_hmac("sha256", b"hunter2", b"salt", 1_000_000)  # BLOCKS: cpu
    return {"token": digest.hex()[:16]}
