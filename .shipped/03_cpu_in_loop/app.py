"""Kata 03 · cpu_in_loop: the sign-up service.

Goal: keep the service responsive while people sign up. Today, as soon as sign-ups come in,
even `/health` answers too late, and the load balancer starts to think the service is down.
Read README.md for the whole story.
"""

import hashlib
import secrets

from fastapi import FastAPI
from pydantic import BaseModel

# PBKDF2 is slow on purpose: every guess an attacker makes costs them the same work.
# 600,000 iterations of SHA-256 is what OWASP recommends.
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
    # TODO: while sign-ups come in, /health answers so late that the load balancer marks the
    # whole service down. Why?
    password_hash = hash_password(form.password, salt)
    USERS[form.username] = password_hash
    return {"username": form.username, "password_hash": password_hash}


@app.get("/health")
async def health():
    return {"status": "ok"}
