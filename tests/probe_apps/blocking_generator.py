import time

from fastapi import FastAPI

app = FastAPI()


def pages():
    for page in range(4):
        time.sleep(0.05)  # BLOCKS: io
        yield page


@app.get("/")
async def crawl():
    return {"pages": list(pages())}
