"""A wrong fix: the hashing goes to a thread, through an event loop fetched at import time. A
server imports the app before it starts a loop, so there is none to fetch yet."""

import asyncio
import hashlib
import secrets

from fastapi import FastAPI
from pydantic import BaseModel

ITERATIONS = 600_000

app = FastAPI(title="Accounts")
USERS: dict[str, str] = {}
loop = asyncio.get_event_loop()


class SignUp(BaseModel):
    username: str
    password: str


def hash_password(password: str, salt: str) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), ITERATIONS)
    return f"pbkdf2_sha256${ITERATIONS}${salt}${digest.hex()}"


@app.post("/signup", status_code=201)
async def sign_up(form: SignUp):
    salt = secrets.token_hex(8)
    password_hash = await loop.run_in_executor(None, hash_password, form.password, salt)
    USERS[form.username] = password_hash
    return {"username": form.username, "password_hash": password_hash}


@app.get("/health")
async def health():
    return {"status": "ok"}
