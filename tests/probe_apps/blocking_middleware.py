import hashlib

from fastapi import FastAPI, Request

app = FastAPI()


@app.middleware("http")
async def sign_responses(request: Request, call_next):
    response = await call_next(request)
    signature = hashlib.pbkdf2_hmac("sha256", b"secret", b"salt", 1_000_000)  # BLOCKS: cpu
    response.headers["x-signature"] = signature.hex()[:16]
    return response


@app.get("/")
async def index():
    return {"hello": "world"}
