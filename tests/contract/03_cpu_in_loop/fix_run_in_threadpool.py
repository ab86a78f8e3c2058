"""A correct fix: hash in Starlette's threadpool with run_in_threadpool; hashlib's PBKDF2 releases the GIL while it works."""

import hashlib
import secrets

from fastapi import FastAPI
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

# PBKDF2 is slow on purpose: every guess an attacker makes costs them the same work.
ITERATIONS = 600_000

app = FastAPI(title="Accounts")
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
    password_hash = await run_in_threadpool(hash_password, form.password, salt)
    USERS[form.username] = password_hash
    return {"username": form.username, "password_hash": password_hash}


@app.get("/health")
async def health():
    return {"status": "ok"}
