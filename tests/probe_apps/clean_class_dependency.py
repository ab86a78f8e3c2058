import time

from fastapi import Depends, FastAPI

app = FastAPI()


class Pager:
    def __init__(self, page: int = 1):
        time.sleep(0.2)  # a class dependency is called like a `def`: in the threadpool
        self.page = page


@app.get("/")
async def items(pager: Pager = Depends()):
    return {"page": pager.page}
