"""A wrong fix: the hashing leaves the loop, but /health waits on a lock that every sign-up holds while it hashes."""

import asyncio
import hashlib
import secrets

from fastapi import FastAPI
from pydantic import BaseModel

ITERATIONS = 600_000

app = FastAPI(title="Accounts")
USERS: dict[str, str] = {}
accounts_lock = asyncio.Lock()


class SignUp(BaseModel):
    username: str
    password: str


def hash_password(password: str, salt: str) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), ITERATIONS)
    return f"pbkdf2_sha256${ITERATIONS}${salt}${digest.hex()}"


@app.post("/signup", status_code=201)
async def sign_up(form: SignUp):
    salt = secrets.token_hex(8)
    async with accounts_lock:
        password_hash = await asyncio.to_thread(hash_password, form.password, salt)
        USERS[form.username] = password_hash
    return {"username": form.username, "password_hash": password_hash}


@app.get("/health")
async def health():
    async with accounts_lock:  # "healthy" only when the accounts are consistent
        return {"status": "ok", "accounts": len(USERS)}
