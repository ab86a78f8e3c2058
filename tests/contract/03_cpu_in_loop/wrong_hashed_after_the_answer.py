"""A wrong fix: answer at once, and hash the password in a background task after the response."""

import hashlib
import secrets

from fastapi import BackgroundTasks, FastAPI
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


def store_hash(username: str, password: str, salt: str) -> None:
    USERS[username] = hash_password(password, salt)


@app.post("/signup", status_code=201)
async def sign_up(form: SignUp, background_tasks: BackgroundTasks):
    salt = secrets.token_hex(8)
    background_tasks.add_task(store_hash, form.username, form.password, salt)
    return {"username": form.username, "password_hash": USERS.get(form.username, "pending")}


@app.get("/health")
async def health():
    return {"status": "ok"}
