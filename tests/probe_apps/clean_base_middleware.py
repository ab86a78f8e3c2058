import asyncio
import hashlib

from fastapi import FastAPI
from starlette.middleware.base import BaseHTTPMiddleware


class SignMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        response = await call_next(request)
        digest = await asyncio.to_thread(hashlib.pbkdf2_hmac, "sha256", b"k", b"s", 300_000)
        response.headers["x-signature"] = digest.hex()[:16]
        return response


app = FastAPI()
app.add_middleware(SignMiddleware)


@app.get("/")
def index():
    return {"hello": "world"}
