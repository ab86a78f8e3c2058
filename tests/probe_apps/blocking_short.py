from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def quick():
    return {"n": len(str(sum(range(8_000_000))))}  # BLOCKS: cpu
