import json

from fastapi import FastAPI

RULES = {f"rule-{i}": list(range(20)) for i in range(60_000)}


class RulesMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            scope["rules"] = json.loads(json.dumps(RULES))  # BLOCKS: cpu
        await self.app(scope, receive, send)


app = FastAPI()
app.add_middleware(RulesMiddleware)


@app.get("/")
async def index():
    return {"hello": "world"}
