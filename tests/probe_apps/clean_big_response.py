from fastapi import FastAPI

app = FastAPI()
CATALOGUE = [{"id": i, "name": f"item {i}", "price": i * 1.5} for i in range(20_000)]


@app.get("/")
async def catalogue():
    return CATALOGUE
