import time

from fastapi import FastAPI
from starlette.middleware.base import BaseHTTPMiddleware


class AuditMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        time.sleep(0.2)  # BLOCKS: io
        return await call_next(request)


app = FastAPI()
app.add_middleware(AuditMiddleware)


@app.get("/")
async def index():
    return {"hello": "world"}
