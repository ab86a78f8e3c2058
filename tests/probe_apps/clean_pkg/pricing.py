import asyncio

PRICES = {"Foo": 9.5, "Bar": 42.0}


async def quote(name: str) -> float:
    await asyncio.sleep(0.2)
    return round(PRICES[name] * 1.2, 2)
