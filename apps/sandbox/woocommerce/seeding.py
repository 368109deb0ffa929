"""Writing the demo shop into a WooCommerce sandbox where the generators' payloads need the
store first: what there is to sell (for orders) and the users, tags and media posts name."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from django.utils.text import slugify

from apps.sandbox.models import SandboxObject, SandboxStore
from apps.sandbox.woocommerce.wordpress import MediaStore, TagStore, UserStore
from apps.sandbox.woocommerce.wp_posts import PostStore


def sellables(sandbox: SandboxStore) -> list[dict[str, Any]]:
    """What can go on an order line: simple products and variations (with their parent)."""
    rows = SandboxObject.objects.filter(store=sandbox, resource__in=["product", "variation"])
    products = {}
    variations = []
    for resource, data in rows.order_by("object_id").values_list("resource", "data"):
        if resource == "product":
            products[data["id"]] = data
        else:
            variations.append(data)
    items = [
        {"product_id": p["id"], "variation_id": 0, "sku": p["sku"], "price": p["price"]}
        for p in products.values()
        if p["type"] == "simple" and p["price"] and p["status"] == "publish"
    ]
    items += [
        {
            "product_id": v["parent_id"],
            "variation_id": v["id"],
            "sku": v["sku"],
            "price": v["price"],
        }
        for v in variations
        if v["price"] and products.get(v["parent_id"], {}).get("status") == "publish"
    ]
    return items


def seed_posts(sandbox: SandboxStore, payloads: list[dict[str, Any]], now: datetime) -> int:
    """Insert demo posts (see demo_catalog.generate_posts): their authors become users, their
    tag names tags, their images media, then the posts go through the posts store. Posts whose
    slug is taken are skipped. Returns how many were inserted."""
    users, tags, media = UserStore(sandbox, now), TagStore(sandbox, now), MediaStore(sandbox, now)
    existing = set(
        SandboxObject.objects.filter(store=sandbox, resource="post").values_list(
            "unique_name", flat=True
        )
    )
    payloads = [p for p in payloads if p["slug"] not in existing]
    if not payloads:
        return 0
    author_ids = {}
    for name in sorted({p["author_name"] for p in payloads}):
        login = slugify(name).replace("-", ".")
        found = users.objects().filter(unique_name=login).values_list("object_id", flat=True)
        if found:
            author_ids[name] = found[0]
            continue
        created = users.create(
            [
                {
                    "username": login,
                    "name": name,
                    "email": f"{login}@{sandbox.slug}.example",
                    "password": "-",
                    "roles": ["author"],
                }
            ]
        )[0]
        author_ids[name] = created["id"]
    wanted_tags = sorted({t for p in payloads for t in p["tag_names"]})
    # WordPress answers term names HTML-escaped ("Home &amp; Living").
    tag_ids = {
        html.unescape(name): object_id
        for name, object_id in tags.objects().values_list("name", "object_id")
    }
    missing = [t for t in wanted_tags if t not in tag_ids]
    for created in tags.create([{"name": t} for t in missing]):
        tag_ids[html.unescape(created["name"])] = created["id"]
    images = [p["image"] for p in payloads if p["image"]]
    attachments = iter(
        media.seed([{**i, "title": i["alt"]} for i in images], next(iter(author_ids.values())))
    )
    rows = []
    for payload in payloads:
        fields = {
            k: v
            for k, v in payload.items()
            if k not in ("author_name", "tag_names", "image", "date_gmt")
        }
        if payload["date_gmt"]:
            fields["date_gmt"] = payload["date_gmt"]
        fields["author"] = author_ids[payload["author_name"]]
        fields["tags"] = [tag_ids[t] for t in payload["tag_names"]]
        if payload["image"]:
            fields["featured_media"] = next(attachments)["id"]
        rows.append(fields)
    created = 0
    posts = PostStore(sandbox, now)
    for chunk in range(0, len(rows), 100):
        results = posts.create(rows[chunk : chunk + 100])
        created += sum(1 for r in results if isinstance(r, dict))
    return created
