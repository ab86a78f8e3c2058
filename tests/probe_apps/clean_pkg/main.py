from fastapi import FastAPI

from clean_pkg.pricing import quote

app = FastAPI()


@app.get("/")
async def price():
    return {"price": await quote("Foo")}
