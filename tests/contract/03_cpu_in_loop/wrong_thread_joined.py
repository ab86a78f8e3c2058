"""A wrong fix: hash in a new thread, and join that thread from the `async def` route."""

import hashlib
import secrets
import threading

from fastapi import FastAPI
from pydantic import BaseModel

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
    result: dict[str, str] = {}
    worker = threading.Thread(target=lambda: result.update(hash=hash_password(form.password, salt)))
    worker.start()
    worker.join()
    password_hash = result["hash"]
    USERS[form.username] = password_hash
    return {"username": form.username, "password_hash": password_hash}


@app.get("/health")
async def health():
    return {"status": "ok"}
