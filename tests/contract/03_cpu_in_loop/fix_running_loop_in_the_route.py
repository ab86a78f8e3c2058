"""A correct fix: the hashing goes to the running loop's default executor, the loop fetched in
the route, where it is running."""

import asyncio
import hashlib
import secrets

from fastapi import FastAPI
from pydantic import BaseModel

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
    loop = asyncio.get_running_loop()
    password_hash = await loop.run_in_executor(None, hash_password, form.password, salt)
    USERS[form.username] = password_hash
    return {"username": form.username, "password_hash": password_hash}


@app.get("/health")
async def health():
    return {"status": "ok"}
