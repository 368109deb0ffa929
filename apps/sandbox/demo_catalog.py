"""A deterministic, realistic WooCommerce shop for rehearsal stores: a category tree, brands,
products, customers (optionally messy), orders and blog posts.

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
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils import timezone
from django.utils.text import slugify

from apps.sandbox.models import SandboxStore
from apps.sandbox.woocommerce.customers import CustomerStore
from apps.sandbox.woocommerce.errors import WCError
from apps.sandbox.woocommerce.orders import OrderStore
from apps.sandbox.woocommerce.seeding import seed_posts, sellables
from apps.sandbox.woocommerce.store import WooStore
from apps.sandbox.woocommerce.terms import TermStore

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
# The rest of the category tree: (id, name, parent). Two "Sale" categories under different
# parents share a name but not a path (nor a slug: the second becomes sale-footwear).
TREE: list[tuple[int, str, int]] = [
    (22, "Clothing", 0),
    (24, "Sale", 22),
    (25, "Sale", 18),
    (26, "Kitchen", 21),
    (27, "Mugs", 26),
]
PARENTS = {15: 22, 16: 22, 17: 22}  # T-Shirts, Hoodies, Outerwear sit under Clothing
# (main category, "sale" or product noun) → an extra category of the product.
EXTRA_CATEGORIES = {
    (15, "sale"): 24,
    (16, "sale"): 24,
    (17, "sale"): 24,
    (18, "sale"): 25,
    (21, "Mug"): 27,
}
# (term id, name, has an image) — WooCommerce 9.6+ core brands.
BRANDS: list[tuple[int, str, bool]] = [
    (30, "Northwind", True),
    (31, "Fieldcraft", False),
    (32, "Harbor & Pine", True),
    (33, "Loom Theory", True),
    (34, "Kestrel", False),
    (35, "Ashgrove", True),
    (36, "Tidewell", False),
    (37, "Ironbark", True),
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
        # Extra terms follow from what was drawn (no extra draws: the stream stays as it was).
        extra = EXTRA_CATEGORIES.get((cat_id, "sale" if payload.get("sale_price") else noun))
        if extra is not None:
            payload["categories"].append({"id": extra})
        if index % 11:
            payload["brands"] = [{"id": BRANDS[(index * 7) % len(BRANDS)][0]}]
        products.append(payload)
    return products


# --- categories and brands ------------------------------------------------------------------


def generate_categories() -> list[dict[str, Any]]:
    """The demo category tree as term payloads with fixed ids (WordPress term ids are their own
    sequence), parents before children."""
    nodes = [(cat[0], cat[1], PARENTS.get(cat[0], 0)) for cat in CATEGORIES] + TREE
    by_id = {node_id: (name, parent) for node_id, name, parent in nodes}

    def depth(node_id: int) -> int:
        parent = by_id[node_id][1]
        return 0 if not parent else 1 + depth(parent)

    payloads = []
    for order, (node_id, name, parent) in enumerate(
        sorted(nodes, key=lambda n: (depth(n[0]), n[0]))
    ):
        payload: dict[str, Any] = {
            "id": node_id,
            "name": name,
            "parent": parent,
            "description": f"<p>Our {name.lower()} collection.</p>",
            "menu_order": order,
            "display": "default" if parent else "both",
        }
        if not parent:
            slug = slugify(name)
            payload["image"] = {
                "src": f"https://images.example.com/categories/{slug}.jpg",
                "alt": name,
            }
        payloads.append(payload)
    return payloads


def generate_brands() -> list[dict[str, Any]]:
    """The demo brands as term payloads with fixed ids."""
    payloads = []
    for order, (brand_id, name, has_image) in enumerate(BRANDS):
        payload: dict[str, Any] = {
            "id": brand_id,
            "name": name,
            "description": f"<p>{name} makes things to keep.</p>",
            "menu_order": order,
        }
        if has_image:
            payload["image"] = {
                "src": f"https://images.example.com/brands/{slugify(name)}.png",
                "alt": f"{name} logo",
            }
        payloads.append(payload)
    return payloads


# --- customers ----------------------------------------------------------------------------------

FIRST_NAMES = [
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "Mateo", "Isabella", "Lucas",
    "Mia", "Amara", "Hiro", "Chloé", "Søren", "Priya", "Diego", "Fatima", "Jonas", "Zoe",
]  # fmt: skip
LAST_NAMES = [
    "Smith", "Johnson", "García", "Müller", "Nguyen", "Okafor", "Kowalski", "Rossi", "Tanaka",
    "Dubois", "O'Brien", "Andersen", "Patel", "Silva", "Cohen", "Novak", "Lindqvist", "Kim",
]  # fmt: skip
DOMAINS = ["example.com", "mail.example.org", "shopper.example.net", "inbox.example.co.uk"]
COMPANIES = ["", "", "", "Acme Ltd", "Blue Fern Studio", "Northside Cafe", "Pixel & Co"]
# (city, state, postcode, country, phone prefix)
PLACES = [
    ("Portland", "OR", "97205", "US", "+1 503"),
    ("Austin", "TX", "78701", "US", "+1 512"),
    ("Brooklyn", "NY", "11201", "US", "+1 718"),
    ("Toronto", "ON", "M5V 2T6", "CA", "+1 416"),
    ("Manchester", "", "M1 1AE", "GB", "+44 161"),
    ("Berlin", "", "10115", "DE", "+49 30"),
    ("Lyon", "", "69002", "FR", "+33 4"),
]
STREETS = ["Maple Ave", "High Street", "Oak Lane", "Harbor Rd", "Market St", "Elm Court"]


def ascii_name(value: str) -> str:
    return slugify(value).replace("-", "")


def _messy_phone(rng: random.Random, prefix: str, local: str) -> str:
    country, area = prefix.split(" ")
    return rng.choice(
        [
            f"({area}) {local[:3]}-{local[3:]}",
            f"{area}.{local[:3]}.{local[3:]} ext {rng.randint(1, 9)}",
            f"  {country}{area}{local} ",
            f"{country}-{area}-{local}",
            f"{area}{local}",
            f"0{area} {local}",
        ]
    )


def make_address(
    rng: random.Random, first: str, last: str, company: str, place: tuple[str, ...]
) -> dict[str, str]:
    city, state, postcode, country, _ = place
    return {
        "first_name": first,
        "last_name": last,
        "company": company,
        "address_1": f"{rng.randint(1, 999)} {rng.choice(STREETS)}",
        "address_2": rng.choice(["", "", "", f"Apt {rng.randint(1, 40)}"]),
        "city": city,
        "state": state,
        "postcode": postcode,
        "country": country,
    }


def generate_customers(
    count: int, seed: int = 7, *, messy: bool = False, now: datetime | None = None
) -> list[dict[str, Any]]:
    """`count` customer payloads (with `date_created`), the same for a seed; the first N of a
    larger list equal a list of N.

    With `messy`, some are what years of a real shop leave behind, for cleansing to deal with:
    emails repeating an earlier customer's up to case and surrounding whitespace, phones in
    every notation, and a few emails that are not emails at all.
    """
    rng = random.Random(seed * 1009 + 1)
    now = now or timezone.now()
    customers: list[dict[str, Any]] = []
    for index in range(1, count + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        place = rng.choice(PLACES)
        company = rng.choice(COMPANIES)
        local = f"{rng.randint(200, 999)}{rng.randint(1000, 9999)}"
        email = f"{ascii_name(first)}.{ascii_name(last)}{index}@{rng.choice(DOMAINS)}"
        phone = f"{place[4]} {local[:3]} {local[3:]}"
        billing = make_address(rng, first, last, company, place)
        ships_elsewhere = rng.random() < 0.2
        shipping = (
            make_address(rng, first, last, "", rng.choice(PLACES))
            if ships_elsewhere
            else dict(billing)
        )
        if rng.random() < 0.1:
            billing = {**dict.fromkeys(billing, ""), "first_name": first, "last_name": last}
            shipping = dict.fromkeys(shipping, "")  # signed up, never bought
        marketing = rng.random() < 0.35
        days = rng.randint(1, 900)
        if messy:
            roll = rng.random()
            if index > 3 and roll < 0.06:
                earlier = customers[rng.randrange(len(customers))]["email"].strip()
                email = rng.choice([earlier.upper(), earlier.title(), f" {earlier} ", earlier])
            elif roll < 0.09:
                user = f"{ascii_name(first)}.{ascii_name(last)}{index}"
                email = rng.choice(
                    [
                        f"{user}@",
                        f"{user}.example.com",
                        f"{user}@@example.com",
                        f"{user} @example.com",
                    ]
                )
            if rng.random() < 0.5:
                phone = _messy_phone(rng, place[4], local)
        payload: dict[str, Any] = {
            "email": email,
            "first_name": first,
            "last_name": last,
            "billing": {**billing, "email": email.strip(), "phone": phone},
            "shipping": {**shipping, "phone": "" if not shipping["address_1"] else phone},
            "meta_data": [{"key": "accepts_marketing", "value": "yes" if marketing else "no"}],
            "date_created": now - timedelta(days=days, minutes=index),
        }
        customers.append(payload)
    return customers


# --- orders --------------------------------------------------------------------------------------

STATUS_WEIGHTS = [
    ("completed", 55),
    ("processing", 20),
    ("on-hold", 5),
    ("pending", 7),
    ("cancelled", 5),
    ("refunded", 4),
    ("failed", 4),
]
PAYMENT = [("stripe", "Credit card (Stripe)"), ("paypal", "PayPal"), ("cod", "Cash on delivery")]
NOTES = ["", "", "", "", "Please leave at the back door.", "Gift wrap, please!", "Ring twice."]
TAX_RATES = {"US": Decimal("0.08"), "CA": Decimal("0.13")}


def generate_orders(
    count: int,
    products: list[dict[str, Any]],
    customers: list[dict[str, Any]],
    seed: int = 7,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """`count` order create payloads over the given sellables (see seeding.sellables()) and customer
    records: registered and guest buyers, 1 to 4 lines (sometimes a discontinued product that is
    no longer linked), shipping, tax for US and Canadian addresses, discounts, every status."""
    if not products:
        raise ValueError("orders need products to sell: seed products first")
    rng = random.Random(seed * 7919 + 3)
    now = now or timezone.now()
    statuses = [status for status, weight in STATUS_WEIGHTS for _ in range(weight)]
    orders = []
    for index in range(1, count + 1):
        customer = rng.choice(customers) if customers and rng.random() < 0.85 else None
        if customer is not None:
            billing = dict(customer["billing"])
            billing["email"] = billing.get("email") or customer["email"].strip()
            if not billing.get("address_1"):
                names = (customer["first_name"], customer["last_name"])
                billing.update(make_address(rng, *names, "", rng.choice(PLACES)))
            shipping = (
                dict(customer["shipping"])
                if customer["shipping"].get("address_1")
                else {k: v for k, v in billing.items() if k != "email"}
            )
        else:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            billing = make_address(rng, first, last, "", rng.choice(PLACES))
            billing["email"] = (
                f"{ascii_name(first)}.{ascii_name(last)}.guest{index}@{rng.choice(DOMAINS)}"
            )
            billing["phone"] = ""
            shipping = {k: v for k, v in billing.items() if k != "email"}
        rate = TAX_RATES.get(shipping.get("country", ""), Decimal("0"))
        discount = Decimal("0.9") if rng.random() < 0.2 else Decimal("1")
        lines = []
        for item in rng.sample(products, min(len(products), rng.randint(1, 4))):
            quantity = rng.choice([1, 1, 1, 2, 2, 3])
            subtotal = Decimal(item["price"]) * quantity
            total = (subtotal * discount).quantize(CENTS, rounding=ROUND_HALF_UP)
            lines.append(
                {
                    "product_id": item["product_id"],
                    "variation_id": item["variation_id"],
                    "sku": item["sku"],
                    "quantity": quantity,
                    "subtotal": str(subtotal.quantize(CENTS)),
                    "total": str(total),
                    "total_tax": str((total * rate).quantize(CENTS, rounding=ROUND_HALF_UP)),
                }
            )
        if index % 12 == 0:  # now and then a product the shop no longer sells
            lines.append(
                {
                    "name": f"{rng.choice(ADJECTIVES)} Gift Card (discontinued)",
                    "product_id": 0,
                    "quantity": 1,
                    "subtotal": "25.00",
                    "total": "25.00",
                }
            )
        items_total = sum(Decimal(line["total"]) for line in lines)
        shipping_cost = Decimal("0.00") if items_total >= 100 else Decimal("6.50")
        method, title = rng.choice(PAYMENT)
        status = rng.choice(statuses)
        created = now - timedelta(days=rng.randint(0, 365), minutes=rng.randint(0, 1439))
        orders.append(
            {
                "status": status,
                "currency": "USD",
                "customer_id": customer["id"] if customer is not None else 0,
                "billing": billing,
                "shipping": shipping,
                "payment_method": method,
                "payment_method_title": title,
                "transaction_id": f"txn_{rng.randrange(16**12):012x}"
                if status in ("processing", "completed", "refunded")
                else "",
                "customer_note": rng.choice(NOTES),
                "line_items": lines,
                "shipping_lines": [
                    {
                        "method_id": "free_shipping" if not shipping_cost else "flat_rate",
                        "method_title": "Free shipping" if not shipping_cost else "Flat rate",
                        "total": str(shipping_cost),
                    }
                ],
                "meta_data": [
                    {
                        "key": "_wc_order_attribution_source_type",
                        "value": rng.choice(["organic", "referral", "typein", "utm"]),
                    }
                ],
                "date_created_gmt": created.strftime("%Y-%m-%dT%H:%M:%S"),
            }
        )
    return orders


# --- posts ---------------------------------------------------------------------------------------

AUTHORS = ["Maya Lindgren", "Tom Okafor", "Inès Laurent", "Sam Rivera"]
TAGS = [
    "Care Guide", "Style", "Sustainability", "Behind the Seams", "Gift Ideas", "Travel",
    "New Arrivals", "Fabric 101", "Outdoors", "Home & Living", "Interviews", "Sale",
]  # fmt: skip
POST_TITLES = [
    "How to Care for Your {material} {noun}",
    "5 Ways to Style a {adjective} {noun}",
    "Why We Switched to {material}",
    "The Story Behind the {adjective} Collection",
    "Packing Light: The {noun} That Goes Everywhere",
    "{material} vs. {other}: What's the Difference?",
    "Our Favorite {noun}s for {season}",
]
SEASONS = ["Spring", "Summer", "Autumn", "Winter", "the Holidays"]


def generate_posts(count: int, seed: int = 7, now: datetime | None = None) -> list[dict[str, Any]]:
    """`count` blog posts: wp/v2 create fields plus `author_name`, `tag_names` and `image`
    ({src, alt} or None), which seeding turns into users, tags and media first."""
    rng = random.Random(seed * 104729 + 5)
    now = now or timezone.now()
    posts = []
    slugs: set[str] = set()
    for index in range(1, count + 1):
        _, _, _, _, nouns, _, _ = rng.choice(CATEGORIES)
        material, other = rng.sample(MATERIALS, 2)
        title = rng.choice(POST_TITLES).format(
            material=material,
            other=other,
            noun=rng.choice(nouns),
            adjective=rng.choice(ADJECTIVES),
            season=rng.choice(SEASONS),
        )
        slug = slugify(title)
        if slug in slugs:
            slug = f"{slug}-{index}"
        slugs.add(slug)
        first, second = rng.sample(FEATURES, 2)
        paragraphs = [
            f"<p>{title} — a question we hear a lot at the shop.</p>",
            f"<p>Look for {first}, and for {second}.</p>",
            f"<p>{rng.choice(CARE)} That is most of the secret.</p>",
        ]
        published = rng.random() < 0.85
        posts.append(
            {
                "title": title,
                "slug": slug,
                "content": "\n".join(paragraphs),
                "excerpt": "" if rng.random() < 0.3 else f"{title}: our notes from the shop floor.",
                "status": "publish" if published else "draft",
                "date_gmt": (now - timedelta(days=rng.randint(1, 700))).strftime(
                    "%Y-%m-%dT%H:%M:%S"
                )
                if published
                else None,
                "author_name": rng.choice(AUTHORS),
                "tag_names": sorted(rng.sample(TAGS, rng.randint(0, 3))),
                "image": {"src": f"https://images.example.com/blog/{slug}.jpg", "alt": title}
                if rng.random() < 0.6
                else None,
            }
        )
    return posts


# --- seeding -------------------------------------------------------------------------------------


@dataclass
class Seeded:
    categories: int = 0
    brands: int = 0
    products: int = 0
    customers: int = 0
    orders: int = 0
    posts: int = 0


def seed_store(
    sandbox: SandboxStore,
    products: int,
    *,
    seed: int = 7,
    now: datetime | None = None,
    categories: bool = False,
    brands: bool = False,
    customers: int = 0,
    orders: int = 0,
    posts: int = 0,
    messy: bool = False,
) -> Seeded:
    """Fill a WooCommerce sandbox with a deterministic demo shop; returns what was inserted.

    Categories and brands come first (products name them by id; without them products carry
    none, as WordPress drops unknown term ids), then products, customers, orders (over the
    store's products and customers, some guests) and blog posts. Everything is skipped if
    already there (products by SKU, terms by id or slug, posts by slug; customers and orders
    continue the sequence from how many the store has), so seeding again is harmless.
    """
    now = now or timezone.now()
    done = Seeded()
    if categories:
        done.categories = TermStore(sandbox, "category", now).seed(generate_categories())
    if brands:
        done.brands = TermStore(sandbox, "brand", now).seed(generate_brands())
    if products:
        done.products = WooStore(sandbox, now=now).seed(generate_products(products, seed))
    if customers:
        store = CustomerStore(sandbox, now)
        have = store.objects().count()
        wanted = generate_customers(customers, seed, messy=messy, now=now)[have:]
        done.customers = store.seed(wanted) if wanted else 0
    if orders:
        store = OrderStore(sandbox, now, legacy=True)  # messy customers' emails stay messy
        have = store.objects().count()
        buyers = list(
            CustomerStore(sandbox).objects().order_by("object_id").values_list("data", flat=True)
        )
        wanted = generate_orders(orders, sellables(sandbox), buyers, seed, now)[have:]
        for start in range(0, len(wanted), 100):
            results = store.create(wanted[start : start + 100])
            failed = [r for r in results if isinstance(r, WCError)]
            if failed:
                raise failed[0]  # seed data is ours: a refusal is a bug
            done.orders += len(results)
    if posts:
        done.posts = seed_posts(sandbox, generate_posts(posts, seed, now), now)
    return done


def seed_woocommerce(
    sandbox: SandboxStore,
    count: int,
    *,
    seed: int = 7,
    now: datetime | None = None,
    categories: bool = False,
    brands: bool = False,
    customers: int = 0,
    orders: int = 0,
    posts: int = 0,
    messy: bool = False,
) -> int:
    """Insert the first `count` demo products (with variations) into a WooCommerce sandbox, and
    optionally the other entities (see seed_store). Returns how many products were inserted."""
    done = seed_store(
        sandbox,
        count,
        seed=seed,
        now=now,
        categories=categories,
        brands=brands,
        customers=customers,
        orders=orders,
        posts=posts,
        messy=messy,
    )
    return done.products
