"""Kata 03 · cpu_in_loop: the sign-up service (reference solution)."""

import asyncio
import hashlib
import secrets
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from pydantic import BaseModel

# PBKDF2 is slow on purpose: every guess an attacker makes costs them the same work.
ITERATIONS = 600_000

USERS: dict[str, str] = {}


@asynccontextmanager
async def lifespan(app: FastAPI):
    with ProcessPoolExecutor(max_workers=2) as pool:
        yield {"hashers": pool}


app = FastAPI(title="Accounts", lifespan=lifespan)


class SignUp(BaseModel):
    username: str
    password: str


def hash_password(password: str, salt: str) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), ITERATIONS)
    return f"pbkdf2_sha256${ITERATIONS}${salt}${digest.hex()}"


@app.post("/signup", status_code=201)
async def sign_up(form: SignUp, request: Request):
    salt = secrets.token_hex(8)
    # Why this works: the hashing runs in another process, so the event loop only awaits a
    # future and stays free to answer /health and every other request meanwhile.
    loop = asyncio.get_running_loop()
    password_hash = await loop.run_in_executor(request.state.hashers, hash_password, form.password, salt)
    USERS[form.username] = password_hash
    return {"username": form.username, "password_hash": password_hash}


@app.get("/health")
async def health():
    return {"status": "ok"}
