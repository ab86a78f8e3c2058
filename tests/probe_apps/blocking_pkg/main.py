from fastapi import FastAPI

from .services.pricing import quote

app = FastAPI()


@app.get("/")
async def price():
    return {"price": quote("Foo")}
