from fastapi import FastAPI

app = FastAPI()


def fib(n: int) -> int:
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)  # BLOCKS: cpu


@app.get("/")
async def sequence():
    return {"fib": fib(31)}
