import asyncio
import hashlib
import time

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def dashboard():
    digest, _ = await asyncio.gather(
        asyncio.to_thread(hashlib.pbkdf2_hmac, "sha256", b"pw", b"salt", 500_000),
        asyncio.to_thread(time.sleep, 0.1),
    )
    return {"digest": digest.hex()[:8]}
