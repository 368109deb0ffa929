"""Products and variants of an emulated BigCommerce store, kept as SandboxObject rows.

- resource "product": sku, name and unique_name (= name) are real columns, so the database's
  unique constraints refuse a duplicate name or SKU even when two requests race; `data` holds
  the rest of the platform's product JSON plus the product's options (served with
  include=options).
- resource "variant": parent_id is the product id. A product without options has one *base
  variant* whose SKU is the product's own; its row stores sku "" (the SKU constraint skips
  empty SKUs) and shows the product's SKU when served.

Filters, sorting and paging use real columns only, so SQLite and PostgreSQL answer alike.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.text import slugify

from apps.sandbox.bigcommerce import brands, categories, media
from apps.sandbox.bigcommerce import errors as err
from apps.sandbox.bigcommerce.errors import ApiError, invalid
from apps.sandbox.bigcommerce.query import (
    MAX_LIMIT,
    OPTIONS_LIMIT,
    filter_products,
    includes,
    ordering,
    pagination,
    paging,
    select_fields,
)
from apps.sandbox.bigcommerce.serialize import is_base, product_json, variant_json
from apps.sandbox.bigcommerce.validation import check_product
from apps.sandbox.models import SandboxObject, SandboxStore
from apps.sandbox.webhooks import notify

PRODUCT = "product"
VARIANT = "variant"
MAX_BATCH = 10
MAX_DELETE = 250


# --- time and ids --------------------------------------------------------------------------


def _now() -> datetime:
    # The platform shows whole seconds; storing whole seconds keeps date filters consistent
    # with the values clients see.
    return timezone.now().replace(microsecond=0)


class _Ids:
    """Ids reserved from the store's counter in one round trip, topped up if the estimate
    falls short (a few unused ids leave gaps, as on the real platform)."""

    def __init__(self, store: SandboxStore, estimate: int) -> None:
        self.store = store
        self.free = store.allocate_ids(estimate) if estimate > 0 else []

    def take(self) -> int:
        if not self.free:
            self.free = self.store.allocate_ids(1)
        return self.free.pop(0)


# --- queries -------------------------------------------------------------------------------


def _products(store: SandboxStore) -> QuerySet[SandboxObject]:
    return SandboxObject.objects.filter(store=store, resource=PRODUCT)


def _variants_by_parent(
    store: SandboxStore, product_ids: Iterable[int]
) -> dict[int, list[SandboxObject]]:
    """All variants of these products in one query (never one query per product)."""
    grouped: dict[int, list[SandboxObject]] = defaultdict(list)
    rows = SandboxObject.objects.filter(
        store=store, resource=VARIANT, parent_id__in=list(product_ids)
    ).order_by("object_id")
    for row in rows:
        grouped[row.parent_id].append(row)
    return grouped


# --- uniqueness ----------------------------------------------------------------------------


def _check_claims(
    store: SandboxStore,
    names: list[tuple[str, str, int | None]],
    skus: list[tuple[str, str, int | None, bool]],
) -> None:
    """Refuse names and SKUs another record holds: (path, value, owner row pk[, is_product]).

    A friendly first check; the database constraints remain the guarantee under races.
    """
    seen_names: dict[str, str] = {}
    for path, name, _owner in names:
        if name in seen_names:
            raise ApiError(409, err.DUPLICATE_NAME, {path: f"repeats the name {name!r}"})
        seen_names[name] = path
    holders = dict(
        _products(store).filter(unique_name__in=list(seen_names)).values_list("unique_name", "pk")
    )
    for path, name, owner in names:
        if name in holders and holders[name] != owner:
            raise ApiError(409, err.DUPLICATE_NAME, {path: err.DUPLICATE_NAME})

    def title(is_product: bool) -> str:
        return err.DUPLICATE_SKU if is_product else err.DUPLICATE_VARIANT_SKU

    seen_skus: set[str] = set()
    for path, sku, _owner, is_product in skus:
        if sku in seen_skus:
            raise ApiError(409, title(is_product), {path: f"repeats the SKU {sku!r}"})
        seen_skus.add(sku)
    sku_holders = dict(
        SandboxObject.objects.filter(store=store, sku__in=list(seen_skus)).values_list("sku", "pk")
    )
    for path, sku, owner, is_product in skus:
        if sku in sku_holders and sku_holders[sku] != owner:
            raise ApiError(409, title(is_product), {path: f"The SKU {sku!r} is already in use"})


# --- options -------------------------------------------------------------------------------


def _option_estimate(variants: list[dict[str, Any]], product: dict[str, Any] | None = None) -> int:
    """How many new ids these variants need: new variants, options and option values."""
    options = (product or {}).get("options", [])
    known = {(o["display_name"], v["label"]) for o in options for v in o["option_values"]}
    pairs = {
        (entry["option_display_name"], entry["label"])
        for variant in variants
        for entry in variant.get("option_values") or []
        if "option_display_name" in entry
    } - known
    names = {name for name, _label in pairs} - {o["display_name"] for o in options}
    return sum(1 for v in variants if "id" not in v) + len(pairs) + len(names)


def _resolve_option_values(
    options: list[dict[str, Any]], entries: list[dict[str, Any]], ids: _Ids, path: str
) -> list[dict[str, Any]]:
    """Variant option values → the product's options, creating options and values by name
    as the platform does for inline variants."""
    resolved = []
    for index, entry in enumerate(entries):
        if "option_display_name" in entry:
            name, label = entry["option_display_name"], entry["label"]
            option = next((o for o in options if o["display_name"] == name), None)
            if option is None:
                option = {
                    "id": ids.take(),
                    "display_name": name,
                    "type": "rectangles",
                    "sort_order": len(options),
                    "option_values": [],
                }
                options.append(option)
            value = next((v for v in option["option_values"] if v["label"] == label), None)
            if value is None:
                value = {
                    "id": ids.take(),
                    "label": label,
                    "sort_order": len(option["option_values"]),
                    "value_data": None,
                    "is_default": False,
                }
                option["option_values"].append(value)
        else:
            option = next((o for o in options if o["id"] == entry["option_id"]), None)
            values = option["option_values"] if option else []
            value = next((v for v in values if v["id"] == entry["id"]), None)
            if option is None or value is None:
                raise invalid({f"{path}.{index}": "is not an option value of this product"})
        resolved.append(
            {
                "id": value["id"],
                "label": value["label"],
                "option_id": option["id"],
                "option_display_name": option["display_name"],
            }
        )
    return resolved


def _check_combinations(variants: list[SandboxObject]) -> None:
    seen: set[frozenset[tuple[int, int]]] = set()
    for variant in variants:
        combination = frozenset(
            (value["option_id"], value["id"]) for value in variant.data.get("option_values", [])
        )
        if combination in seen:
            raise ApiError(
                409,
                err.DUPLICATE_OPTION_VALUES,
                {"variants": f"variant {variant.sku!r} repeats another variant's option values"},
            )
        seen.add(combination)


# --- writes --------------------------------------------------------------------------------

_VARIANT_DEFAULTS: dict[str, Any] = {
    "price": None,
    "sale_price": None,
    "retail_price": None,
    "cost_price": None,
    "weight": None,
    "inventory_level": 0,
    "inventory_warning_level": 0,
    "purchasing_disabled": False,
}


def _new_product_data(clean: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "physical",
        "description": "",
        "weight": 0,
        "width": 0,
        "depth": 0,
        "height": 0,
        "price": 0,
        "cost_price": 0,
        "retail_price": 0,
        "sale_price": 0,
        "map_price": 0,
        "tax_class_id": 0,
        "product_tax_code": "",
        "categories": [],
        "brand_id": 0,
        "inventory_level": 0,
        "inventory_warning_level": 0,
        "inventory_tracking": "none",
        "is_free_shipping": False,
        "is_visible": True,
        "is_featured": False,
        "warranty": "",
        "upc": "",
        "mpn": "",
        "gtin": "",
        "availability": "available",
        "condition": "New",
        "custom_url": {"url": f"/{slugify(clean['name']) or 'product'}/", "is_customized": False},
        "base_variant_id": None,
        "options": [],
    }
    _set_fields(data, clean)
    return data


def _set_fields(data: dict[str, Any], clean: dict[str, Any]) -> None:
    for key, value in clean.items():
        if key in ("name", "sku", "variants", "images", "custom_fields"):
            continue
        if key == "custom_url":
            value = {"url": value["url"], "is_customized": value.get("is_customized", True)}
        data[key] = value


def _variant_row(
    store: SandboxStore, product_id: int, variant_id: int, sku: str, data: dict[str, Any]
) -> SandboxObject:
    now = _now()
    return SandboxObject(
        store=store,
        resource=VARIANT,
        object_id=variant_id,
        parent_id=product_id,
        sku=sku,
        data=data,
        date_created=now,
        date_modified=now,
    )


def _settle_variants(
    store: SandboxStore, product: SandboxObject, variants: list[SandboxObject], ids: _Ids
) -> tuple[list[SandboxObject], list[SandboxObject], list[SandboxObject]]:
    """Keep the base variant iff the product has no option variants; recount stock.

    Returns (variants now, base rows to create, base rows to delete).
    """
    with_options = [v for v in variants if not is_base(v)]
    bases = [v for v in variants if is_base(v)]
    to_create: list[SandboxObject] = []
    to_delete: list[SandboxObject] = []
    if with_options:
        to_delete = bases
        product.data["base_variant_id"] = None
        current = with_options
    elif bases:
        current = bases
        product.data["base_variant_id"] = bases[0].object_id
    else:
        base = _variant_row(store, product.object_id, ids.take(), "", dict(_VARIANT_DEFAULTS))
        base.data["option_values"] = []
        to_create = [base]
        product.data["base_variant_id"] = base.object_id
        current = [base]
    _check_combinations(with_options)
    if product.data.get("inventory_tracking") == "variant" and with_options:
        # The platform reports a variant-tracked product's stock as the sum of its variants'.
        product.data["inventory_level"] = sum(
            v.data.get("inventory_level", 0) for v in with_options
        )
    return sorted(current, key=lambda v: v.object_id), to_create, to_delete


def _conflict_from_integrity(check: Callable[[], None]) -> ApiError:
    """After a constraint refused a write (a racing request won), name what clashed."""
    try:
        check()
    except ApiError as exc:
        return exc
    return ApiError(409, err.CONFLICT)


def _check_references(store: SandboxStore, items: list[tuple[str, dict[str, Any]]]) -> None:
    """Categories and brand must exist: the platform refuses unknown ids (422)."""
    wanted_categories = {c for _, clean in items for c in clean.get("categories", [])}
    wanted_brands = {clean["brand_id"] for _, clean in items if clean.get("brand_id")}
    known_categories = categories.existing_ids(store, list(wanted_categories))
    known_brands = brands.existing_ids(store, list(wanted_brands)) if wanted_brands else set()
    problems: dict[str, str] = {}
    for prefix, clean in items:
        missing = [c for c in clean.get("categories", []) if c not in known_categories]
        if missing:
            problems[prefix + "categories"] = (
                f"Categories {', '.join(map(str, missing))} do not exist"
            )
        if clean.get("brand_id") and clean["brand_id"] not in known_brands:
            problems[prefix + "brand_id"] = f"Brand {clean['brand_id']} does not exist"
    if problems:
        raise invalid(problems)


def create_product(store: SandboxStore, payload: Any) -> dict[str, Any]:
    problems: dict[str, str] = {}
    clean = check_product(payload, creating=True, errors=problems)
    if problems:
        raise invalid(problems)
    _check_references(store, [("", clean)])
    variants = clean.get("variants", [])
    names = [("name", clean["name"], None)]
    skus = [("sku", clean["sku"], None, True)] if clean.get("sku") else []
    skus += [(f"variants.{i}.sku", v["sku"], None, False) for i, v in enumerate(variants)]

    def check() -> None:
        _check_claims(store, names, skus)

    try:
        with transaction.atomic():
            check()
            product, current = _insert_product(store, clean, variants)
            notify(store, PRODUCT, "created", [product.object_id])
    except IntegrityError:
        raise _conflict_from_integrity(check) from None
    return product_json(product, variants=current, media=True)


def _insert_product(
    store: SandboxStore, clean: dict[str, Any], variants: list[dict[str, Any]]
) -> tuple[SandboxObject, list[SandboxObject]]:
    # The product, and a base variant when there are no others.
    ids = _Ids(
        store,
        1 + (0 if variants else 1) + _option_estimate(variants) + media.id_estimate(clean),
    )
    now = _now()
    product = SandboxObject(
        store=store,
        resource=PRODUCT,
        object_id=ids.take(),
        sku=clean.get("sku", ""),
        name=clean["name"],
        unique_name=clean["name"],
        data=_new_product_data(clean),
        date_created=now,
        date_modified=now,
    )
    media.apply_images(product.data, product.object_id, clean.get("images", []), ids.take)
    media.apply_custom_fields(product.data, clean.get("custom_fields", []), ids.take)
    rows = []
    for index, variant in enumerate(variants):
        data = {**_VARIANT_DEFAULTS, **{k: v for k, v in variant.items() if k != "sku"}}
        data["option_values"] = _resolve_option_values(
            product.data["options"], variant["option_values"], ids, f"variants.{index}"
        )
        rows.append(_variant_row(store, product.object_id, ids.take(), variant["sku"], data))
    current, bases, _ = _settle_variants(store, product, rows, ids)
    product.save()
    SandboxObject.objects.bulk_create(rows + bases)
    return product, current


def update_product(store: SandboxStore, product_id: int, payload: Any) -> dict[str, Any]:
    problems: dict[str, str] = {}
    clean = check_product(payload, creating=False, errors=problems)
    if problems:
        raise invalid(problems)
    _check_references(store, [("", clean)])
    return _update(store, [(product_id, clean)], batch=False)[0]


def update_products(store: SandboxStore, payload: Any) -> list[dict[str, Any]]:
    """The batch PUT: up to 10 products, all or nothing."""
    if not isinstance(payload, list):
        raise invalid({"body": "must be a list of products"})
    if len(payload) > MAX_BATCH:
        raise ApiError(413, err.TOO_LARGE)
    if not payload:
        raise invalid({"body": "must not be empty"})
    problems: dict[str, str] = {}
    items: list[tuple[int, dict[str, Any]]] = []
    seen: set[int] = set()
    for index, entry in enumerate(payload):
        clean = check_product(entry, creating=False, prefix=f"{index}.", errors=problems)
        product_id = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(product_id, int) or isinstance(product_id, bool):
            problems[f"{index}.id"] = "is required (an integer)"
        elif product_id in seen:
            problems[f"{index}.id"] = "appears twice in the batch"
        else:
            seen.add(product_id)
            items.append((product_id, clean))
    if problems:
        raise invalid(problems)
    _check_references(store, [(f"{index}.", clean) for index, (_, clean) in enumerate(items)])
    return _update(store, items, batch=True)


def _update(
    store: SandboxStore, items: list[tuple[int, dict[str, Any]]], *, batch: bool
) -> list[dict[str, Any]]:
    def prefix(index: int) -> str:
        return f"{index}." if batch else ""

    def load(*, lock: bool) -> tuple[dict[int, SandboxObject], dict[int, list[SandboxObject]]]:
        wanted = [product_id for product_id, _ in items]
        rows = _products(store).filter(object_id__in=wanted)
        # Locked so two updates of one product cannot interleave their read and write.
        products = {row.object_id: row for row in (rows.select_for_update() if lock else rows)}
        for index, (product_id, _) in enumerate(items):
            if product_id not in products:
                raise ApiError(
                    404, err.PRODUCT_NOT_FOUND, {f"{prefix(index)}id": f"no product {product_id}"}
                )
        return products, _variants_by_parent(store, wanted)

    def check(products: dict[int, SandboxObject], variants: dict[int, list[SandboxObject]]) -> None:
        _check_claims(store, *_update_claims(items, products, variants, prefix))

    try:
        with transaction.atomic():
            products, variants = load(lock=True)
            check(products, variants)
            estimate = sum(
                _option_estimate(clean.get("variants", []), products[product_id].data)
                + media.id_estimate(clean)
                for product_id, clean in items
            )
            ids = _Ids(store, estimate)
            results = []
            for index, (product_id, clean) in enumerate(items):
                product = products[product_id]
                current = _apply_update(
                    store, product, clean, variants.get(product_id, []), ids, prefix(index)
                )
                results.append(product_json(product, variants=current, media=True))
            notify(store, PRODUCT, "updated", [product_id for product_id, _ in items])
    except IntegrityError:
        raise _conflict_from_integrity(lambda: check(*load(lock=False))) from None
    return results


def _update_claims(
    items: list[tuple[int, dict[str, Any]]],
    products: dict[int, SandboxObject],
    variants: dict[int, list[SandboxObject]],
    prefix: Callable[[int], str],
) -> tuple[list[tuple[str, str, int | None]], list[tuple[str, str, int | None, bool]]]:
    names: list[tuple[str, str, int | None]] = []
    skus: list[tuple[str, str, int | None, bool]] = []
    for index, (product_id, clean) in enumerate(items):
        product = products[product_id]
        here = prefix(index)
        if "name" in clean:
            names.append((here + "name", clean["name"], product.pk))
        if clean.get("sku"):
            skus.append((here + "sku", clean["sku"], product.pk, True))
        by_id = {v.object_id: v for v in variants.get(product_id, [])}
        for number, variant in enumerate(clean.get("variants", [])):
            if variant.get("sku"):
                owner = by_id.get(variant.get("id", -1))
                skus.append(
                    (
                        f"{here}variants.{number}.sku",
                        variant["sku"],
                        owner.pk if owner else None,
                        False,
                    )
                )
    return names, skus


def _apply_update(
    store: SandboxStore,
    product: SandboxObject,
    clean: dict[str, Any],
    variants: list[SandboxObject],
    ids: _Ids,
    prefix: str,
) -> list[SandboxObject]:
    now = _now()
    if "name" in clean:
        product.name = product.unique_name = clean["name"]
    if "sku" in clean:
        product.sku = clean["sku"]
    product.data = dict(product.data)
    _set_fields(product.data, clean)
    if "images" in clean:
        media.apply_images(
            product.data, product.object_id, clean["images"], ids.take, f"{prefix}images"
        )
    if "custom_fields" in clean:
        media.apply_custom_fields(
            product.data, clean["custom_fields"], ids.take, f"{prefix}custom_fields"
        )
    by_id = {v.object_id: v for v in variants}
    changed: list[SandboxObject] = []
    created: list[SandboxObject] = []
    options = product.data.setdefault("options", [])
    for index, payload in enumerate(clean.get("variants", [])):
        path = f"{prefix}variants.{index}"
        fields = {k: v for k, v in payload.items() if k not in ("id", "sku", "option_values")}
        if "id" in payload:
            variant = by_id.get(payload["id"])
            if variant is None:
                raise invalid({f"{path}.id": f"is not a variant of product {product.object_id}"})
            if is_base(variant) and payload.get("sku", product.sku) != product.sku:
                raise invalid({f"{path}.sku": "a base variant's SKU is the product's SKU"})
            variant.data = {**variant.data, **fields}
            if "sku" in payload and not is_base(variant):
                variant.sku = payload["sku"]
            if "option_values" in payload:
                variant.data["option_values"] = _resolve_option_values(
                    options, payload["option_values"], ids, f"{path}.option_values"
                )
            variant.date_modified = now
            changed.append(variant)
        else:
            data = {**_VARIANT_DEFAULTS, **fields}
            data["option_values"] = _resolve_option_values(
                options, payload["option_values"], ids, f"{path}.option_values"
            )
            created.append(_variant_row(store, product.object_id, ids.take(), payload["sku"], data))
    current, bases, gone = _settle_variants(store, product, variants + created, ids)
    product.date_modified = now
    product.save(update_fields=["name", "unique_name", "sku", "data", "date_modified"])
    if gone:
        SandboxObject.objects.filter(pk__in=[v.pk for v in gone]).delete()
    if changed:
        SandboxObject.objects.bulk_update(changed, ["sku", "data", "date_modified"])
    if created or bases:
        SandboxObject.objects.bulk_create(created + bases)
    return current


def delete_products(store: SandboxStore, query: QueryDict) -> None:
    qs, filtered = filter_products(_products(store), query)
    if not filtered:
        raise invalid({"id:in": err.FILTER_REQUIRED})
    with transaction.atomic():
        ids = list(qs.order_by("object_id").values_list("object_id", flat=True)[:MAX_DELETE])
        _delete(store, ids)


def delete_product(store: SandboxStore, product_id: int) -> None:
    with transaction.atomic():
        if not _products(store).filter(object_id=product_id).exists():
            raise ApiError(404, err.PRODUCT_NOT_FOUND)
        _delete(store, [product_id])


def _delete(store: SandboxStore, product_ids: list[int]) -> None:
    SandboxObject.objects.filter(store=store, resource=VARIANT, parent_id__in=product_ids).delete()
    _products(store).filter(object_id__in=product_ids).delete()
    notify(store, PRODUCT, "deleted", product_ids)


# --- reads ---------------------------------------------------------------------------------


def list_products(
    store: SandboxStore, query: QueryDict
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    qs, _ = filter_products(_products(store), query)
    include = includes(query)
    with_options = "options" in include
    page, limit = paging(query, OPTIONS_LIMIT if with_options else MAX_LIMIT)
    total = qs.count()
    start = (page - 1) * limit
    rows = list(qs.order_by(*ordering(query))[start : start + limit])
    variants = (
        _variants_by_parent(store, [row.object_id for row in rows])
        if "variants" in include
        else None
    )
    data = [
        product_json(
            row,
            variants=variants.get(row.object_id, []) if variants is not None else None,
            include_options=with_options,
            include=include,
        )
        for row in rows
    ]
    return select_fields(data, query), pagination(total, len(data), page, limit, query)


def _product(store: SandboxStore, product_id: int) -> SandboxObject:
    product = _products(store).filter(object_id=product_id).first()
    if product is None:
        raise ApiError(404, err.PRODUCT_NOT_FOUND)
    return product


def get_product(store: SandboxStore, product_id: int, query: QueryDict) -> dict[str, Any]:
    product = _product(store, product_id)
    include = includes(query)
    variants = (
        _variants_by_parent(store, [product_id]).get(product_id, [])
        if "variants" in include
        else None
    )
    data = product_json(
        product, variants=variants, include_options="options" in include, include=include
    )
    return select_fields([data], query)[0]


def list_variants(
    store: SandboxStore, product_id: int, query: QueryDict
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    product = _product(store, product_id)
    page, limit = paging(query, MAX_LIMIT)
    variants = SandboxObject.objects.filter(
        store=store, resource=VARIANT, parent_id=product_id
    ).order_by("object_id")
    total = variants.count()
    start = (page - 1) * limit
    data = [variant_json(v, product) for v in variants[start : start + limit]]
    return data, pagination(total, len(data), page, limit, query)


# --- variant, option value and option deletes ------------------------------------------------
# DELETE /v3/catalog/products/{id}/variants/{variant_id}, …/options/{option_id}/values/{value_id}
# and …/options/{option_id}: what a client uses to take away what a PUT cannot (a PUT's inline
# variants only add or change).


def delete_variant(store: SandboxStore, product_id: int, variant_id: int) -> None:
    with transaction.atomic():
        product = media.locked_product(store, product_id)
        variants = _variants_by_parent(store, [product_id]).get(product_id, [])
        variant = next((v for v in variants if v.object_id == variant_id), None)
        if variant is None:
            raise ApiError(404, "The requested variant was not found.")
        if is_base(variant):
            raise ApiError(422, "The base variant of a product cannot be deleted.")
        rest = [v for v in variants if v is not variant]
        _current, to_create, to_delete = _settle_variants(store, product, rest, _Ids(store, 1))
        SandboxObject.objects.filter(pk__in=[variant.pk, *(v.pk for v in to_delete)]).delete()
        if to_create:
            SandboxObject.objects.bulk_create(to_create)
        media.save_changed(store, product)


def _used_values(store: SandboxStore, product_id: int) -> set[tuple[int, int]]:
    variants = _variants_by_parent(store, [product_id]).get(product_id, [])
    return {
        (value["option_id"], value["id"])
        for variant in variants
        for value in variant.data.get("option_values") or []
    }


def delete_option_value(
    store: SandboxStore, product_id: int, option_id: int, value_id: int
) -> None:
    with transaction.atomic():
        product = media.locked_product(store, product_id)
        options = product.data.get("options") or []
        option = next((o for o in options if o["id"] == option_id), None)
        values = option["option_values"] if option else []
        if not any(v["id"] == value_id for v in values):
            raise ApiError(404, "The requested option value was not found.")
        if (option_id, value_id) in _used_values(store, product_id):
            raise ApiError(422, "This option value is used by a variant: delete the variant first.")
        option["option_values"] = [v for v in values if v["id"] != value_id]
        media.save_changed(store, product)


def delete_option(store: SandboxStore, product_id: int, option_id: int) -> None:
    with transaction.atomic():
        product = media.locked_product(store, product_id)
        options = product.data.get("options") or []
        if not any(o["id"] == option_id for o in options):
            raise ApiError(404, "The requested option was not found.")
        if any(used == option_id for used, _value in _used_values(store, product_id)):
            raise ApiError(422, "This option is used by a variant: delete the variant first.")
        product.data["options"] = [o for o in options if o["id"] != option_id]
        media.save_changed(store, product)
