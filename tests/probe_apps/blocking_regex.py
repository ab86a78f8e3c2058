import re

from fastapi import FastAPI

app = FastAPI()
EMAIL = re.compile(r"^(a+)+$")


@app.get("/")
async def validate():
    ok = EMAIL.match("a" * 24 + "!") is not None  # BLOCKS: cpu
    return {"valid": ok}
