"""A deterministic, realistic WooCommerce catalog for rehearsal stores.

`generate_products(count, seed)` returns WooCommerce create payloads; a variable product carries
its variation payloads under "variations" (written after the parent, as a client would).
Generation is sequential, so the first N products of a larger catalog equal a catalog of N:
seeding 500 after 200 adds 300 new products. `seed_woocommerce` writes them straight to the
database through the same record builders the API uses, so seeded and API-created records have
identical shapes.
"""

from __future__ import annotations

import itertools
import random
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from apps.sandbox.models import SandboxStore
from apps.sandbox.woocommerce.store import WooStore

# (category id, name, slug, SKU prefix, product nouns, price range, weight range in kg)
CATEGORIES: list[tuple[int, str, str, str, list[str], tuple[int, int], tuple[float, float]]] = [
    (
        15,
        "T-Shirts",
        "t-shirts",
        "TSH",
        ["T-Shirt", "Tee", "Henley", "Tank Top"],
        (12, 45),
        (0.15, 0.35),
    ),
    (
        16,
        "Hoodies",
        "hoodies",
        "HOD",
        ["Hoodie", "Zip Hoodie", "Sweatshirt"],
        (35, 95),
        (0.45, 0.9),
    ),
    (
        17,
        "Outerwear",
        "outerwear",
        "OUT",
        ["Jacket", "Parka", "Windbreaker", "Vest"],
        (60, 260),
        (0.5, 1.8),
    ),
    (
        18,
        "Footwear",
        "footwear",
        "FTW",
        ["Sneaker", "Boot", "Loafer", "Sandal"],
        (40, 220),
        (0.6, 1.6),
    ),
    (
        19,
        "Bags",
        "bags",
        "BAG",
        ["Backpack", "Tote", "Duffel", "Messenger Bag"],
        (25, 180),
        (0.3, 1.4),
    ),
    (
        20,
        "Accessories",
        "accessories",
        "ACC",
        ["Beanie", "Scarf", "Cap", "Belt", "Wallet"],
        (8, 70),
        (0.05, 0.4),
    ),
    (
        21,
        "Home",
        "home",
        "HOM",
        ["Throw Blanket", "Mug", "Candle", "Cushion Cover"],
        (9, 120),
        (0.2, 2.2),
    ),
]
ADJECTIVES = [
    "Classic",
    "Essential",
    "Vintage",
    "Urban",
    "Alpine",
    "Coastal",
    "Heritage",
    "Everyday",
    "Trail",
    "Studio",
    "Nordic",
    "Canyon",
    "Harbor",
    "Summit",
    "Meadow",
    "Midnight",
    "Drift",
    "Ember",
    "Granite",
    "Willow",
]
MATERIALS = [
    "Cotton",
    "Organic Cotton",
    "Linen",
    "Merino",
    "Recycled",
    "Canvas",
    "Leather",
    "Bamboo",
    "Fleece",
    "Waxed",
    "Denim",
    "Hemp",
]
SIZES = ["XS", "S", "M", "L", "XL", "XXL"]
COLORS = ["Black", "White", "Navy", "Olive", "Rust", "Grey", "Sand", "Forest", "Burgundy"]
FINISHES = ["Matte", "Gloss", "Natural", "Brushed"]
FEATURES = [
    "a relaxed fit that layers easily",
    "reinforced seams for years of wear",
    "a soft hand feel straight out of the box",
    "responsibly sourced materials",
    "a water-resistant finish",
    "a garment-dyed look that softens with every wash",
    "hidden pockets for the essentials",
    "a tailored silhouette that keeps its shape",
]
CARE = [
    "Machine wash cold, tumble dry low.",
    "Hand wash only; dry flat.",
    "Wipe clean with a damp cloth.",
    "Dry clean recommended.",
]
VARIABLE_SHARE = 0.4
CENTS = Decimal("0.01")


def _price(value: float) -> str:
    return str(Decimal(str(value)).quantize(CENTS, rounding=ROUND_HALF_UP))


def _retail(rng: random.Random, low: int, high: int) -> Decimal:
    # Shop prices end in .00, .50, .95 or .99 far more often than in random cents.
    whole = rng.randint(low, high)
    cents = rng.choice(["0.00", "0.50", "0.95", "0.99", "0.99", "0.49"])
    return Decimal(whole) + Decimal(cents)


def _options(rng: random.Random, noun: str) -> list[tuple[str, list[str]]]:
    """Attribute name → chosen values, with 2..12 combinations in all."""
    shoe = noun in ("Sneaker", "Boot", "Loafer", "Sandal")
    sizes = [str(n) for n in range(38, 47)] if shoe else SIZES
    shape = rng.random()
    if shape < 0.45:
        size_values = sorted(rng.sample(range(len(sizes)), rng.randint(2, 4)))
        colors = rng.sample(COLORS, rng.randint(1, 3))
        return [("Size", [sizes[i] for i in size_values]), ("Color", colors)]
    if shape < 0.75:
        return [("Color", rng.sample(COLORS, rng.randint(2, 6)))]
    if shape < 0.9:
        size_values = sorted(rng.sample(range(len(sizes)), rng.randint(2, 6)))
        return [("Size", [sizes[i] for i in size_values])]
    materials = rng.sample(MATERIALS, 2)
    return [("Material", materials), ("Finish", rng.sample(FINISHES, rng.randint(1, 3)))]


def _code(value: str) -> str:
    return "".join(ch for ch in value.upper() if ch.isalnum())[:4]


def _description(rng: random.Random, name: str, material: str) -> tuple[str, str]:
    first, second = rng.sample(FEATURES, 2)
    short = f"{name}: {material.lower()} with {first}."
    long = (
        f"<p>The {name} is made from {material.lower()} with {first} and {second}.</p>\n"
        f"<p>{rng.choice(CARE)}</p>"
    )
    return long, f"<p>{short}</p>"


def _stock(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.12:
        return {"manage_stock": False, "stock_status": rng.choice(["instock", "outofstock"])}
    quantity = 0 if rng.random() < 0.08 else rng.randint(1, 250)
    return {"manage_stock": True, "stock_quantity": quantity}


def _variations(
    rng: random.Random, sku: str, base: Decimal, options: list[tuple[str, list[str]]]
) -> list[dict[str, Any]]:
    names = [name for name, _ in options]
    variations = []
    for combo in itertools.product(*(values for _, values in options)):
        price = base
        if "Size" in names and combo[names.index("Size")] in ("XL", "XXL", "45", "46"):
            price += Decimal("2.00")
        variation: dict[str, Any] = {
            "sku": "-".join([sku, *(_code(v) for v in combo)]),
            "regular_price": _price(float(price)),
            "attributes": [{"name": n, "option": v} for n, v in zip(names, combo, strict=True)],
            **_stock(rng),
        }
        if rng.random() < 0.15:
            variation["sale_price"] = _price(float(price) * 0.8)
        variations.append(variation)
    return variations


def generate_products(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """`count` WooCommerce create payloads with unique names and SKUs, the same for a seed."""
    rng = random.Random(seed)
    products: list[dict[str, Any]] = []
    names: set[str] = set()
    for index in range(1, count + 1):
        cat_id, cat_name, cat_slug, prefix, nouns, prices, weights = rng.choice(CATEGORIES)
        noun, adjective, material = rng.choice(nouns), rng.choice(ADJECTIVES), rng.choice(MATERIALS)
        name = f"{adjective} {material} {noun}"
        if name in names:
            # Real catalogs repeat a model in a new season rather than clash on a name.
            name = f"{name} (Edition {index})"
        names.add(name)
        sku = f"{prefix}-{index:05d}"
        description, short = _description(rng, name, material)
        base = _retail(rng, *prices)
        payload: dict[str, Any] = {
            "name": name,
            "type": "simple",
            "status": "publish" if rng.random() < 0.92 else "draft",
            "description": description,
            "short_description": short,
            "sku": sku,
            "weight": f"{rng.uniform(*weights):.2f}",
            "categories": [{"id": cat_id, "name": cat_name, "slug": cat_slug}],
            "images": [
                {
                    "src": f"https://images.example.com/catalog/{sku.lower()}.jpg",
                    "name": name,
                    "alt": name,
                }
            ],
            "attributes": [
                {
                    "name": "Material",
                    "position": 0,
                    "visible": True,
                    "variation": False,
                    "options": [material],
                }
            ],
        }
        if rng.random() < VARIABLE_SHARE:
            options = _options(rng, noun)
            payload["type"] = "variable"
            payload["attributes"] = [
                {"name": n, "position": i, "visible": True, "variation": True, "options": values}
                for i, (n, values) in enumerate(options)
            ]
            if not any(n == "Material" for n, _ in options):
                payload["attributes"].append(
                    {
                        "name": "Material",
                        "position": len(options),
                        "visible": True,
                        "variation": False,
                        "options": [material],
                    }
                )
            payload["manage_stock"] = False
            payload["variations"] = _variations(rng, sku, base, options)
        else:
            payload["regular_price"] = _price(float(base))
            if rng.random() < 0.2:
                payload["sale_price"] = _price(float(base) * rng.choice([0.7, 0.8, 0.85, 0.9]))
            payload.update(_stock(rng))
        products.append(payload)
    return products


def seed_woocommerce(
    sandbox: SandboxStore, count: int, *, seed: int = 7, now: datetime | None = None
) -> int:
    """Insert the first `count` demo products (with variations) into a WooCommerce sandbox.

    Products whose SKU (or a variation's) is already in the store are skipped, so seeding again
    is harmless. Returns how many products were inserted.
    """
    return WooStore(sandbox, now=now).seed(generate_products(count, seed))
