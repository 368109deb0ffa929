"""A product's images and custom fields: kept in the product row's data (served only with
include=images / include=custom_fields, or from their own sub-resource endpoints).

Inline entries on a product write follow the platform: an entry with an `id` changes that image
or field, one without is added. Removing one takes its sub-resource DELETE.

Images are not downloaded: the sandbox has no CDN, so every url_* field is the image_url given
(the real platform copies the image and serves its own CDN URLs).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.sandbox.bigcommerce.errors import ApiError, invalid
from apps.sandbox.bigcommerce.validation import check_custom_fields, check_images
from apps.sandbox.models import SandboxObject, SandboxStore
from apps.sandbox.webhooks import notify

PRODUCT = "product"


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _image(image_id: int, product_id: int, entry: dict[str, Any], now: datetime) -> dict[str, Any]:
    image = {
        "id": image_id,
        "product_id": product_id,
        "is_thumbnail": False,
        "sort_order": 0,
        "description": "",
        "image_file": f"sandbox/{image_id}.jpg",
        "image_url": "",
        "date_modified": _iso(now),
    }
    _change_image(image, entry, now)
    return image


def _change_image(image: dict[str, Any], entry: dict[str, Any], now: datetime) -> None:
    image.update({key: value for key, value in entry.items() if key != "id"})
    url = image["image_url"]
    image.update(url_zoom=url, url_standard=url, url_thumbnail=url, url_tiny=url)
    image["date_modified"] = _iso(now)


def apply_images(
    data: dict[str, Any],
    product_id: int,
    entries: list[dict[str, Any]],
    take_id: Callable[[], int],
    path: str = "images",
) -> None:
    now = timezone.now().replace(microsecond=0)
    images = [dict(image) for image in data.get("images", [])]
    by_id = {image["id"]: image for image in images}
    thumbnail = None
    for index, entry in enumerate(entries):
        if "id" in entry:
            image = by_id.get(entry["id"])
            if image is None:
                raise invalid({f"{path}.{index}.id": "is not an image of this product"})
            _change_image(image, entry, now)
        else:
            image = _image(take_id(), product_id, entry, now)
            images.append(image)
        if entry.get("is_thumbnail"):
            thumbnail = image
    images.sort(key=lambda image: (image["sort_order"], image["id"]))
    if thumbnail is None and images and not any(i["is_thumbnail"] for i in images):
        thumbnail = images[0]  # a product with images always has a thumbnail
    if thumbnail is not None:
        for image in images:
            image["is_thumbnail"] = image is thumbnail
    data["images"] = images


def apply_custom_fields(
    data: dict[str, Any],
    entries: list[dict[str, Any]],
    take_id: Callable[[], int],
    path: str = "custom_fields",
) -> None:
    fields = [dict(field) for field in data.get("custom_fields", [])]
    by_id = {field["id"]: field for field in fields}
    for index, entry in enumerate(entries):
        if "id" in entry:
            field = by_id.get(entry["id"])
            if field is None:
                raise invalid({f"{path}.{index}.id": "is not a custom field of this product"})
            field.update({key: value for key, value in entry.items() if key != "id"})
        else:
            fields.append({"id": take_id(), "name": entry["name"], "value": entry["value"]})
    data["custom_fields"] = fields


def id_estimate(clean: dict[str, Any]) -> int:
    """New ids these inline entries need (entries without an id)."""
    return sum(
        1
        for key in ("images", "custom_fields")
        for entry in clean.get(key, [])
        if "id" not in entry
    )


# --- sub-resource endpoints ----------------------------------------------------------------


def locked_product(store: SandboxStore, product_id: int) -> SandboxObject:
    product = (
        SandboxObject.objects.select_for_update()
        .filter(store=store, resource=PRODUCT, object_id=product_id)
        .first()
    )
    if product is None:
        raise ApiError(404, "The requested product was not found.")
    return product


def save_changed(store: SandboxStore, product: SandboxObject) -> None:
    """Save a sub-resource change to a locked product: its modification date moves (whole
    seconds, as the platform shows) and the store's product webhooks fire."""
    product.date_modified = timezone.now().replace(microsecond=0)
    product.save(update_fields=["data", "date_modified"])
    notify(store, PRODUCT, "updated", [product.object_id])


def _product(store: SandboxStore, product_id: int) -> SandboxObject:
    product = SandboxObject.objects.filter(
        store=store, resource=PRODUCT, object_id=product_id
    ).first()
    if product is None:
        raise ApiError(404, "The requested product was not found.")
    return product


def list_entries(store: SandboxStore, product_id: int, key: str) -> list[dict[str, Any]]:
    return list(_product(store, product_id).data.get(key, []))


def get_entry(store: SandboxStore, product_id: int, key: str, entry_id: int) -> dict[str, Any]:
    for entry in _product(store, product_id).data.get(key, []):
        if entry["id"] == entry_id:
            return entry
    raise ApiError(404, "The requested resource was not found.")


def add_entry(store: SandboxStore, product_id: int, key: str, payload: Any) -> dict[str, Any]:
    problems: dict[str, str] = {}
    check = check_images if key == "images" else check_custom_fields
    [clean] = check([payload], creating=True, path="body", errors=problems) or [{}]
    if problems:
        raise invalid({name.replace("body.0.", ""): reason for name, reason in problems.items()})
    with transaction.atomic():
        product = locked_product(store, product_id)
        [new_id] = store.allocate_ids(1)
        before = {entry["id"] for entry in product.data.get(key, [])}
        data = dict(product.data)
        if key == "images":
            apply_images(data, product_id, [clean], lambda: new_id)
        else:
            apply_custom_fields(data, [clean], lambda: new_id)
        product.data = data
        save_changed(store, product)
    return next(entry for entry in data[key] if entry["id"] not in before)


def change_entry(
    store: SandboxStore, product_id: int, key: str, entry_id: int, payload: Any
) -> dict[str, Any]:
    problems: dict[str, str] = {}
    check = check_images if key == "images" else check_custom_fields
    entry = {**payload, "id": entry_id} if isinstance(payload, dict) else payload
    [clean] = check([entry], creating=False, path="body", errors=problems) or [{}]
    if problems:
        raise invalid({name.replace("body.0.", ""): reason for name, reason in problems.items()})
    with transaction.atomic():
        product = locked_product(store, product_id)
        data = dict(product.data)
        if not any(e["id"] == entry_id for e in data.get(key, [])):
            raise ApiError(404, "The requested resource was not found.")
        if key == "images":
            apply_images(data, product_id, [clean], lambda: 0)
        else:
            apply_custom_fields(data, [clean], lambda: 0)
        product.data = data
        save_changed(store, product)
    return next(e for e in data[key] if e["id"] == entry_id)


def delete_entry(store: SandboxStore, product_id: int, key: str, entry_id: int) -> None:
    with transaction.atomic():
        product = locked_product(store, product_id)
        entries = product.data.get(key, [])
        kept = [entry for entry in entries if entry["id"] != entry_id]
        if len(kept) == len(entries):
            raise ApiError(404, "The requested resource was not found.")
        if key == "images" and kept and not any(e["is_thumbnail"] for e in kept):
            kept[0] = {**kept[0], "is_thumbnail": True}
        product.data = {**product.data, key: kept}
        save_changed(store, product)
