"""The shop's catalogue service: stock, prices and reviews of the products Foo, Bar and Baz."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Any

from fastapi_async_katas.world.upstream.calls import Reply, UpstreamRequest
from fastapi_async_katas.world.upstream.service import DEFAULT_LATENCY_S, Upstream

CATALOG_ENV_VAR = "CATALOG_URL"
CATALOG_NAMES = {1: ("Foo", 9.5), 2: ("Bar", 42.0), 3: ("Baz", 3.25)}


@dataclass(frozen=True)
class Product:
    """What the catalogue service knows about one product (fresh random figures per test)."""

    id: int
    name: str
    price: float
    available: int
    rating: float
    reviews: int


class Catalog(Upstream):
    """The shop's catalogue service: stock, prices and reviews, one endpoint each.

    `GET /stock/{id}`, `GET /prices/{id}` and `GET /reviews/{id}`; an unknown id is 404.
    """

    def __init__(self, *, latency_s: float = DEFAULT_LATENCY_S, seed: int | None = None) -> None:
        super().__init__("catalog service", env_var=CATALOG_ENV_VAR, latency_s=latency_s)
        rng = random.Random(seed)
        self.products: dict[int, Product] = {
            pid: Product(pid, name, price, rng.randint(100, 999), rng.randint(10, 50) / 10, rng.randint(1, 500))
            for pid, (name, price) in CATALOG_NAMES.items()
        }
        self.route("GET", "/stock/{product_id}", self._stock)
        self.route("GET", "/prices/{product_id}", self._price)
        self.route("GET", "/reviews/{product_id}", self._reviews)

    def restock(self, product_id: int, available: int) -> Product:
        """Change what the catalogue reports as available for a product, from now on."""
        product = self.products[product_id] = replace(self.products[product_id], available=available)
        return product

    def _product(self, request: UpstreamRequest) -> Product | None:
        raw = request.params["product_id"]
        return self.products.get(int(raw)) if raw.isdigit() else None

    def _stock(self, request: UpstreamRequest) -> Any:
        p = self._product(request)
        return Reply(404, {"detail": "no such product"}) if p is None else {"product_id": p.id, "available": p.available}

    def _price(self, request: UpstreamRequest) -> Any:
        p = self._product(request)
        return Reply(404, {"detail": "no such product"}) if p is None else {"product_id": p.id, "price": p.price, "currency": "EUR"}

    def _reviews(self, request: UpstreamRequest) -> Any:
        p = self._product(request)
        return Reply(404, {"detail": "no such product"}) if p is None else {"product_id": p.id, "rating": p.rating, "count": p.reviews}
