import time
from typing import Annotated

from fastapi import FastAPI
from pydantic import AfterValidator

app = FastAPI()


def known_sku(sku: str) -> str:
    time.sleep(0.2)  # BLOCKS: io
    return sku.upper()


@app.get("/")
async def lookup(sku: Annotated[str, AfterValidator(known_sku)] = "foo-1"):
    return {"sku": sku}
# probe: GET /?sku=bar-2
