"""Brands (Catalog API v3 `catalog/brands`), as SandboxObject rows.

resource "brand": name is the name, unique_name its casefolded form (names are unique per
store, so the database refuses a duplicate even when two requests race: 409), `data` the rest.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.text import slugify

from apps.sandbox.bigcommerce import errors as err
from apps.sandbox.bigcommerce.checks import Checker
from apps.sandbox.bigcommerce.errors import ApiError, invalid
from apps.sandbox.bigcommerce.query import int_list, page_of, select_fields
from apps.sandbox.models import SandboxObject, SandboxStore

BRAND = "brand"
_FIELDS = (
    "page_title",
    "meta_keywords",
    "meta_description",
    "search_keywords",
    "image_url",
    "custom_url",
)


def _brands(store: SandboxStore) -> QuerySet[SandboxObject]:
    return SandboxObject.objects.filter(store=store, resource=BRAND)


def brand_json(row: SandboxObject) -> dict[str, Any]:
    data = row.data
    return {
        "id": row.object_id,
        "name": row.name,
        "page_title": data.get("page_title", ""),
        "meta_keywords": data.get("meta_keywords", []),
        "meta_description": data.get("meta_description", ""),
        "image_url": data.get("image_url", ""),
        "search_keywords": data.get("search_keywords", ""),
        "custom_url": data.get("custom_url", {}),
    }


def _check(payload: Any, *, creating: bool) -> dict[str, Any]:
    problems: dict[str, str] = {}
    check = Checker(payload, problems)
    check.text("name", required=creating, min_length=1, max_length=255, strip=True)
    check.text("page_title", max_length=255)
    check.strings("meta_keywords")
    check.text("meta_description", max_length=65535)
    check.text("search_keywords", max_length=65535)
    check.web_url("image_url")
    if "custom_url" in check.payload:
        url = check.payload["custom_url"]
        if not isinstance(url, dict) or not isinstance(url.get("url"), str):
            check.fail("custom_url", "must be an object with url and is_customized")
        elif not url["url"].startswith("/"):
            check.fail("custom_url.url", "must be a path starting with /")
        else:
            check.clean["custom_url"] = {
                "url": url["url"],
                "is_customized": bool(url.get("is_customized", True)),
            }
    if problems:
        raise invalid(problems)
    return check.clean


def _save(row: SandboxObject) -> None:
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise ApiError(409, err.DUPLICATE_BRAND, {"name": f"{row.name!r} is in use"}) from None


def create_brand(store: SandboxStore, payload: Any) -> dict[str, Any]:
    clean = _check(payload, creating=True)
    name = clean["name"]
    if _brands(store).filter(unique_name=name.casefold()).exists():
        raise ApiError(409, err.DUPLICATE_BRAND, {"name": f"{name!r} is in use"})
    data = {"page_title": "", "meta_keywords": [], "image_url": ""}
    data.update({key: clean[key] for key in _FIELDS if key in clean})
    data.setdefault("custom_url", {"url": f"/{slugify(name) or 'brand'}/", "is_customized": False})
    now = timezone.now().replace(microsecond=0)
    [brand_id] = store.allocate_ids(1)
    row = SandboxObject(
        store=store,
        resource=BRAND,
        object_id=brand_id,
        name=name,
        unique_name=name.casefold(),
        data=data,
        date_created=now,
        date_modified=now,
    )
    _save(row)
    return brand_json(row)


def _brand(store: SandboxStore, brand_id: int) -> SandboxObject:
    row = _brands(store).filter(object_id=brand_id).first()
    if row is None:
        raise ApiError(404, "The requested brand was not found.")
    return row


def get_brand(store: SandboxStore, brand_id: int) -> dict[str, Any]:
    return brand_json(_brand(store, brand_id))


def update_brand(store: SandboxStore, brand_id: int, payload: Any) -> dict[str, Any]:
    clean = _check(payload, creating=False)
    row = _brand(store, brand_id)
    if "name" in clean:
        clash = _brands(store).filter(unique_name=clean["name"].casefold())
        if clash.exclude(pk=row.pk).exists():
            raise ApiError(409, err.DUPLICATE_BRAND, {"name": f"{clean['name']!r} is in use"})
        row.name = clean["name"]
        row.unique_name = clean["name"].casefold()
    row.data = {**row.data, **{key: clean[key] for key in _FIELDS if key in clean}}
    row.date_modified = timezone.now().replace(microsecond=0)
    _save(row)
    return brand_json(row)


def delete_brand(store: SandboxStore, brand_id: int) -> None:
    _brand(store, brand_id).delete()


def _filtered(store: SandboxStore, query: QueryDict) -> tuple[QuerySet[SandboxObject], bool]:
    problems: dict[str, str] = {}
    qs = _brands(store)
    used = False
    if "id" in query:
        qs = qs.filter(object_id__in=int_list(query["id"], "id", problems))
        used = True
    if "id:in" in query:
        qs = qs.filter(object_id__in=int_list(query["id:in"], "id:in", problems))
        used = True
    if "name" in query:
        qs = qs.filter(unique_name=query["name"].strip().casefold())
        used = True
    if "name:like" in query:
        qs = qs.filter(name__icontains=query["name:like"])
        used = True
    if problems:
        raise invalid(problems)
    return qs, used


def list_brands(
    store: SandboxStore, query: QueryDict
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    qs, _ = _filtered(store, query)
    rows, meta = page_of(qs, query, ["object_id"])
    return select_fields([brand_json(row) for row in rows], query), meta


def delete_brands(store: SandboxStore, query: QueryDict) -> None:
    qs, used = _filtered(store, query)
    if not used:
        raise invalid({"id:in": "A filter is required to delete brands"})
    qs.delete()


def existing_ids(store: SandboxStore, ids: list[int]) -> set[int]:
    return set(_brands(store).filter(object_id__in=ids).values_list("object_id", flat=True))
