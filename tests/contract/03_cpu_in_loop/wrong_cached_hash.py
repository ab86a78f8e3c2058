"""A wrong fix: compute one hash at import time and hand it to everyone."""


import hashlib
import secrets

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


_SALT = "0123456789abcdef"
_HASH = hash_password("password", _SALT)


@app.post("/signup", status_code=201)
async def sign_up(form: SignUp):
    USERS[form.username] = _HASH
    return {"username": form.username, "password_hash": _HASH}


@app.get("/health")
async def health():
    return {"status": "ok"}
