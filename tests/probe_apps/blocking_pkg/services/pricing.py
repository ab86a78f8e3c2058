import time

PRICES = {"Foo": 9.5, "Bar": 42.0}


def _fetch_from_supplier(name: str) -> float:
    time.sleep(0.2)  # BLOCKS: io
    return PRICES[name]


def quote(name: str) -> float:
    return round(_fetch_from_supplier(name) * 1.2, 2)
