"""The old shop keeps selling while it is migrated: new customers, new orders and product edits
(price, stock, name) written straight into a WooCommerce sandbox at given rates.

Writes go through the sandbox's own stores (customers.py, orders.py, store.py), so records have
the API's shapes and every write bumps date_modified as the real shop would — which is what a
delta run reads. Arrivals are a Poisson process per kind of action (exponential gaps at the given
rate), drawn from a seeded generator: the same seed on the same store state gives the same
actions. The clock and sleep are injectable so tests run minutes of traffic in no time.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from apps.sandbox.demo_catalog import (
    DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    PLACES,
    ascii_name,
    make_address,
)
from apps.sandbox.models import Flavor, SandboxObject, SandboxStore
from apps.sandbox.woocommerce.customers import CustomerStore
from apps.sandbox.woocommerce.errors import WCError
from apps.sandbox.woocommerce.orders import OrderStore
from apps.sandbox.woocommerce.seeding import sellables
from apps.sandbox.woocommerce.store import PRODUCT, VARIATION, WooStore

ORDER, CUSTOMER, PRODUCT_EDIT = "order", "customer", "product_edit"
NEW_ORDER_STATUSES = ["processing"] * 7 + ["pending", "on-hold", "completed"]
CENTS = Decimal("0.01")


@dataclass(frozen=True)
class Rates:
    """Actions per minute of each kind (0: none)."""

    orders: float = 0
    customers: float = 0
    product_edits: float = 0

    def per_kind(self) -> dict[str, float]:
        rates = {ORDER: self.orders, CUSTOMER: self.customers, PRODUCT_EDIT: self.product_edits}
        return {kind: rate for kind, rate in rates.items() if rate > 0}


class TrafficSimulator:
    def __init__(
        self,
        sandbox: SandboxStore,
        rates: Rates,
        *,
        seed: int = 7,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        out: Callable[[str], None] = print,
    ) -> None:
        if sandbox.flavor != Flavor.WOOCOMMERCE:
            raise ValueError(f"{sandbox.slug} is not a WooCommerce sandbox")
        if not rates.per_kind():
            raise ValueError("give at least one rate above zero")
        self.sandbox = sandbox
        self.rates = rates
        self.rng = random.Random(seed)
        self.clock, self.sleep, self.out = clock, sleep, out
        self.done: Counter[str] = Counter()
        self._items: list[dict[str, Any]] | None = None
        self._customers: list[int] | None = None

    # --- the loop --------------------------------------------------------------------------

    def run(self, duration: float | None = None) -> Counter[str]:
        """Act until `duration` seconds have passed (None: until interrupted); returns how many
        actions of each kind were done ("<kind>_refused" for writes the store refused)."""
        start = self.clock()
        per_second = {kind: rate / 60 for kind, rate in self.rates.per_kind().items()}
        due = {kind: start + self.rng.expovariate(rate) for kind, rate in per_second.items()}
        while True:
            kind = min(due, key=lambda k: (due[k], k))
            when = due[kind]
            if duration is not None and when - start > duration:
                return self.done
            wait = when - self.clock()
            if wait > 0:
                self.sleep(wait)
            self.out(f"{when - start:8.1f}s  {self.act(kind)}")
            due[kind] = when + self.rng.expovariate(per_second[kind])

    def act(self, kind: str) -> str:
        action = {ORDER: self.new_order, CUSTOMER: self.new_customer, PRODUCT_EDIT: self.edit}
        return action[kind]()

    # --- what there is to sell and who buys ------------------------------------------------

    def _sellable(self) -> list[dict[str, Any]]:
        if self._items is None:
            self._items = sellables(self.sandbox)
        return self._items

    def _buyers(self) -> list[int]:
        if self._customers is None:
            rows = SandboxObject.objects.filter(store=self.sandbox, resource="customer")
            self._customers = list(rows.order_by("object_id").values_list("object_id", flat=True))
        return self._customers

    def _note(self, kind: str, result: Any) -> WCError | None:
        if isinstance(result, WCError):
            self.done[f"{kind}_refused"] += 1
            return result
        self.done[kind] += 1
        return None

    # --- actions ---------------------------------------------------------------------------

    def new_customer(self) -> str:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        number = SandboxObject.objects.filter(store=self.sandbox, resource="customer").count() + 1
        email = f"{ascii_name(first)}.{ascii_name(last)}.{number}@{rng.choice(DOMAINS)}"
        place = rng.choice(PLACES)
        address = make_address(rng, first, last, "", place)
        phone = f"{place[4]} {rng.randint(200, 999)} {rng.randint(1000, 9999)}"
        payload = {
            "email": email,
            "first_name": first,
            "last_name": last,
            "billing": {**address, "email": email, "phone": phone},
            "shipping": {**address, "phone": phone},
            "meta_data": [{"key": "accepts_marketing", "value": rng.choice(["yes", "no"])}],
        }
        [result] = CustomerStore(self.sandbox, timezone.now()).create([payload])
        if error := self._note(CUSTOMER, result):
            return f"customer {email} refused: {error.code}"
        self._buyers().append(result["id"])
        return f"customer #{result['id']} signed up: {email}"

    def new_order(self) -> str:
        rng = self.rng
        items = self._sellable()
        if not items:
            self.done[f"{ORDER}_refused"] += 1
            return "order skipped: the store has nothing to sell"
        buyers = self._buyers()
        customer_id = rng.choice(buyers) if buyers and rng.random() < 0.8 else 0
        lines = [
            {
                "product_id": item["product_id"],
                "variation_id": item["variation_id"],
                "quantity": rng.choice([1, 1, 1, 2, 3]),
            }
            for item in rng.sample(items, min(len(items), rng.randint(1, 3)))
        ]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        billing = make_address(rng, first, last, "", rng.choice(PLACES))
        billing["email"] = f"{ascii_name(first)}.{ascii_name(last)}@{rng.choice(DOMAINS)}"
        if customer_id:
            row = SandboxObject.objects.filter(
                store=self.sandbox, resource="customer", object_id=customer_id
            ).first()
            if row is not None and row.data["billing"].get("address_1"):
                billing = dict(row.data["billing"])
        payload = {
            "status": rng.choice(NEW_ORDER_STATUSES),
            "customer_id": customer_id,
            "billing": billing,
            "shipping": {k: v for k, v in billing.items() if k != "email"},
            "payment_method": "stripe",
            "payment_method_title": "Credit card (Stripe)",
            "line_items": lines,
            "shipping_lines": [
                {"method_id": "flat_rate", "method_title": "Flat rate", "total": "6.50"}
            ],
        }
        [result] = OrderStore(self.sandbox, timezone.now()).create([payload])
        if error := self._note(ORDER, result):
            return f"order refused: {error.code} {error.message}"
        who = f"customer #{customer_id}" if customer_id else "a guest"
        return (
            f"order #{result['number']} {result['status']} for {who}: "
            f"{len(result['line_items'])} lines, {result['total']} {result['currency']}"
        )

    def edit(self) -> str:
        rng = self.rng
        rows = SandboxObject.objects.filter(store=self.sandbox, resource=PRODUCT)
        ids = list(rows.order_by("object_id").values_list("object_id", flat=True))
        if not ids:
            self.done[f"{PRODUCT_EDIT}_refused"] += 1
            return "product edit skipped: the store has no products"
        product = rows.get(object_id=rng.choice(ids))
        store = WooStore(self.sandbox, now=timezone.now())
        what = rng.choice(["price", "stock", "name"])
        data = product.data
        target, parent = data, None
        if data["type"] == "variable" and what != "name":
            children = SandboxObject.objects.filter(
                store=self.sandbox, resource=VARIATION, parent_id=product.object_id
            ).order_by("object_id")
            variation = children[rng.randrange(children.count())] if children.exists() else None
            if variation is None:
                what = "name"
            else:
                target, parent = variation.data, product
        if what == "price":
            old = Decimal(target.get("regular_price") or "0")
            new = (old * Decimal(str(rng.uniform(0.85, 1.15)))).quantize(CENTS)
            change = {"id": target["id"], "regular_price": str(max(new, Decimal("0.99")))}
            summary = f"price {old} → {change['regular_price']}"
        elif what == "stock":
            change = {
                "id": target["id"],
                "manage_stock": True,
                "stock_quantity": rng.randint(0, 80),
            }
            summary = f"stock → {change['stock_quantity']}"
        else:
            base = data["name"].split(" (")[0]
            change = {
                "id": data["id"],
                "name": f"{base} ({rng.choice(['New', 'Restocked', '2026'])})",
            }
            summary = f"renamed to {change['name']!r}"
        if parent is not None:
            [result] = store.update_variations(parent, [change])
            label = f"variation #{target['id']} of product #{data['id']}"
        else:
            [result] = store.update_products([change])
            label = f"product #{data['id']}"
        if error := self._note(PRODUCT_EDIT, result):
            return f"{label} edit refused: {error.code}"
        self._items = None  # prices changed: read what sells anew
        return f"{label} {summary}"
