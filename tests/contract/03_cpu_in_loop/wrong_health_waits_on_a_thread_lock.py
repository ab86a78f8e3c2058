"""A wrong fix: the hashing runs in a thread, holding a threading.Lock that /health takes on the loop."""

import asyncio
import hashlib
import secrets
import threading

from fastapi import FastAPI
from pydantic import BaseModel

# PBKDF2 is slow on purpose: every guess an attacker makes costs them the same work.
ITERATIONS = 600_000

app = FastAPI(title="Accounts")
USERS: dict[str, str] = {}
accounts_lock = threading.Lock()


class SignUp(BaseModel):
    username: str
    password: str


def hash_password(password: str, salt: str) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), ITERATIONS)
    return f"pbkdf2_sha256${ITERATIONS}${salt}${digest.hex()}"


def register(username: str, password: str, salt: str) -> str:
    with accounts_lock:
        USERS[username] = hash_password(password, salt)
        return USERS[username]


@app.post("/signup", status_code=201)
async def sign_up(form: SignUp):
    salt = secrets.token_hex(8)
    password_hash = await asyncio.to_thread(register, form.username, form.password, salt)
    return {"username": form.username, "password_hash": password_hash}


@app.get("/health")
async def health():
    with accounts_lock:  # "healthy" only when the accounts are consistent
        return {"status": "ok", "accounts": len(USERS)}
