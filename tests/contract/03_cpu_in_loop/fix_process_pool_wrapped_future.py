"""A correct fix: a process pool made in the lifespan and kept on app.state; the route awaits the pool's future."""

import asyncio
import hashlib
import secrets
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI
from pydantic import BaseModel

# PBKDF2 is slow on purpose: every guess an attacker makes costs them the same work.
ITERATIONS = 600_000


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.hashers = ProcessPoolExecutor(max_workers=2)
    try:
        yield
    finally:
        app.state.hashers.shutdown()


app = FastAPI(title="Accounts", lifespan=lifespan)
USERS: dict[str, str] = {}


class SignUp(BaseModel):
    username: str
    password: str


def hash_password(password: str, salt: str) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), ITERATIONS)
    return f"pbkdf2_sha256${ITERATIONS}${salt}${digest.hex()}"


@app.post("/signup", status_code=201)
async def sign_up(form: SignUp):
    salt = secrets.token_hex(8)
    future = app.state.hashers.submit(hash_password, form.password, salt)
    password_hash = await asyncio.wrap_future(future)
    USERS[form.username] = password_hash
    return {"username": form.username, "password_hash": password_hash}


@app.get("/health")
async def health():
    return {"status": "ok"}
