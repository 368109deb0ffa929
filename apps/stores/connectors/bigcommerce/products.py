"""Products (Catalog v3 `catalog/products`) with their variants, images and custom fields.

Writes follow the platform: one product per POST (there is no batch create), up to 10 per batch
PUT, deletes by `id:in`. Inline variants, images and custom fields with an `id` change that
sub-record and without one add a new one, so an update first matches the target's sub-records
(variants by SKU, images by URL, custom fields by name) and afterwards deletes the ones the
record no longer has through their sub-resource endpoints: images, custom fields, variants, and
then the option values and options that only the deleted variants used.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from apps.stores.connectors.base import (
    Page,
    RecordInvalid,
    TransientError,
    WriteItem,
    WriteResult,
    lower_bound,
)
from apps.stores.connectors.bigcommerce import changes, common
from apps.stores.connectors.bigcommerce.api import RECORD_STATUSES, delete_in, ok, transient
from apps.stores.connectors.bigcommerce.common import (
    BATCH,
    MAX_PAGE,
    Handler,
    chunks,
    last_segment,
    number,
    numeric_ids,
    page_number,
    ref,
    ref_id,
    require_targets,
)
from apps.stores.connectors.canonical import decimal_text, money

PATH = "v3/catalog/products"
INCLUDE = "variants,images,custom_fields"


def _sale(value: Any) -> str | None:
    # The platform's "not on sale" is 0 (products) or null (variants): both are no sale.
    return money(value) if value else None


def _weight(value: str | None) -> float:
    try:
        weight = Decimal(value or "0")
    except InvalidOperation:
        raise RecordInvalid(f"weight {value!r} is not a number") from None
    if not weight.is_finite() or weight < 0:
        raise RecordInvalid(f"weight {value!r} is not a number of zero or more")
    return float(weight)


def _stock(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordInvalid(f"{what} inventory_level {value!r} is not a number")
    return int(value)


def _list(raw: dict[str, Any], key: str, label: str) -> list[Any]:
    value = raw.get(key) or []
    if not isinstance(value, list):
        raise RecordInvalid(f"{label}: {key} is not a list")
    return value


class ProductHandler(Handler):
    entity = "products"
    max_write_batch = BATCH
    changes = True

    # --- reads -------------------------------------------------------------------------------

    def count(self) -> int:
        return self.api.v3_total(PATH)

    def read_page(self, cursor: dict[str, Any] | None, page_size: int) -> Page:
        page = page_number(cursor)
        body = self.api.v3(
            PATH,
            {
                "page": page,
                "limit": max(1, min(page_size, MAX_PAGE)),
                "include": INCLUDE,
                "sort": "id",
                "direction": "asc",
            },
        )
        pagination = body.get("meta", {}).get("pagination", {})
        more = page < int(pagination.get("total_pages", 0))
        return Page(
            records=body["data"],
            total=pagination.get("total"),
            next_cursor={"page": page + 1} if more else None,
        )

    def _above(self, params: dict[str, Any], after_id: int | None, limit: int) -> list[dict]:
        query = {**params, "limit": limit, "sort": "id", "direction": "asc"}
        if after_id is not None:
            query["id:greater"] = after_id
        return self.api.v3(PATH, query)["data"]

    def read_changes(
        self,
        since: datetime | None,
        until: datetime,
        cursor: dict[str, Any] | None,
        page_size: int,
    ) -> Page:
        """Keyset on id inside the modification filter; the cursor is `{"after_id",
        "started"}` (see changes.py)."""
        state = dict(cursor) if cursor else {"started": changes.now_iso()}
        limit = changes.limit_of(page_size)
        params: dict[str, Any] = {"include": INCLUDE}
        if since is not None:
            params["date_modified:min"] = changes.v3_time(lower_bound(since))
        records, next_state = changes.id_keyset(
            lambda after: self._above(params, after, limit), state, limit
        )
        started = changes.started_at(state)
        kept = [r for r in records if changes.within(r, until, started)]
        return Page(records=kept, total=None, next_cursor=next_state)

    def list_ids(self) -> list[str]:
        return changes.collect_ids(
            lambda state: changes.id_keyset(
                lambda after: self._above({"include_fields": "id"}, after, MAX_PAGE),
                state,
                MAX_PAGE,
            )
        )

    def read_by_ids(self, ids: list[str]) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        for chunk in chunks(numeric_ids(ids), common.IDS_PER_QUERY):
            body = self.api.v3(
                PATH, {"id:in": ",".join(chunk), "limit": MAX_PAGE, "include": INCLUDE}
            )
            records.extend(body["data"])
        return records

    def find(self, key: str) -> dict[str, Any] | None:
        body = self.api.v3(PATH, {"sku": key, "include": INCLUDE, "limit": 5})
        # Exact match only: the filter is the platform's, and a near-miss must not be taken
        # for the record (that would update the wrong product).
        return next((r for r in body["data"] if r.get("sku") == key), None)

    # --- writes ------------------------------------------------------------------------------

    def create(self, items: list[WriteItem]) -> list[WriteResult]:
        results: list[WriteResult] = []
        for index, item in enumerate(items):
            try:
                response = self.api.request("POST", PATH, json=item.payload)
            except TransientError as exc:
                # The platform is unreachable: the rest would fail the same way, slowly.
                results.extend(transient(rest.ref, exc) for rest in items[index:])
                break
            if response.status_code >= 400:
                results.append(self.api.failure(item.ref, response, "POST", PATH))
                continue
            record = self.api.data(response, PATH)
            results.append(ok(item.ref, record["id"], record, response.status_code))
        return results

    def update(self, items: list[WriteItem]) -> list[WriteResult]:
        require_targets(items)
        targets = self._targets(items)
        plans = [self._plan(item, targets.get(str(item.target_id))) for item in items]
        pairs = list(zip(items, plans, strict=True))
        results: list[WriteResult] = []
        for start in range(0, len(pairs), BATCH):
            chunk = pairs[start : start + BATCH]
            try:
                written = self._update_batch([(item, plan[0]) for item, plan in chunk])
                results.extend(
                    self._drop_removed(result, plan[1])
                    for result, (_, plan) in zip(written, chunk, strict=True)
                )
            except TransientError as exc:
                # Unreachable: this batch and the rest are retried later (PUT is idempotent,
                # so a record that did get through is simply written again).
                results.extend(transient(item.ref, exc) for item, _ in pairs[start:])
                break
        return results

    def _targets(self, items: list[WriteItem]) -> dict[str, dict[str, Any]]:
        """The target products whose sub-records must be matched before the PUT."""
        known = {str(i.target_id): i.current for i in items if i.current is not None}
        wanted = [
            item.target_id
            for item in items
            if str(item.target_id) not in known
            and (
                any("id" not in v for v in item.payload.get("variants") or [])
                or "images" in item.payload
                or "custom_fields" in item.payload
            )
        ]
        fetched = {str(r["id"]): r for r in self.read_by_ids(wanted)} if wanted else {}
        return {**known, **fetched}

    def _plan(
        self, item: WriteItem, target: dict[str, Any] | None
    ) -> tuple[dict[str, Any], dict[str, list[int]]]:
        """The PUT payload with the target's sub-record ids, and the sub-records to delete."""
        payload = {**item.payload, "id": int(item.target_id)}
        removed: dict[str, list[Any]] = {
            "images": [],
            "custom_fields": [],
            "variants": [],
            "option_values": [],
            "options": [],
        }
        if target is None:
            return payload, removed
        if payload.get("variants"):
            on_target = [v for v in target.get("variants") or [] if v.get("option_values")]
            known = {v.get("sku"): v["id"] for v in on_target}
            payload["variants"] = [
                {**v, "id": known[v.get("sku")]} if "id" not in v and v.get("sku") in known else v
                for v in payload["variants"]
            ]
            _removed_variants(payload["variants"], on_target, removed)
        if "images" in payload:
            payload["images"], removed["images"] = _match_images(
                payload["images"], target.get("images") or []
            )
        if "custom_fields" in payload:
            payload["custom_fields"], removed["custom_fields"] = _match_fields(
                payload["custom_fields"], target.get("custom_fields") or []
            )
        return payload, removed

    def _update_batch(self, chunk: list[tuple[WriteItem, dict[str, Any]]]) -> list[WriteResult]:
        response = self.api.request("PUT", PATH, json=[payload for _, payload in chunk])
        if response.status_code < 400:
            by_id = {str(record["id"]): record for record in self.api.data(response, PATH)}
            return [
                ok(item.ref, item.target_id, by_id.get(str(item.target_id)), response.status_code)
                for item, _ in chunk
            ]
        if response.status_code not in RECORD_STATUSES:
            raise self.api.refuse("PUT", PATH, response)  # not about one record
        # The batch is all or nothing: find the bad record by writing each alone.
        results = []
        for item, payload in chunk:
            path = f"{PATH}/{int(item.target_id)}"
            single = self.api.request("PUT", path, json=payload)
            if single.status_code >= 400:
                results.append(self.api.failure(item.ref, single, "PUT", path))
            else:
                record = self.api.data(single, path)
                results.append(ok(item.ref, item.target_id, record, single.status_code))
        return results

    def _drop_removed(self, result: WriteResult, removed: dict[str, list[Any]]) -> WriteResult:
        """Delete the sub-records the record no longer has (after its PUT): images, custom
        fields, variants, then the option values and options no variant uses any more. A 404
        is a delete an earlier attempt already made."""
        if not result.ok or not any(removed.values()):
            return result
        base = f"{PATH}/{int(result.target_id)}"
        paths = [
            *(f"{base}/images/{i}" for i in removed["images"]),
            *(f"{base}/custom-fields/{i}" for i in removed["custom_fields"]),
            *(f"{base}/variants/{i}" for i in removed["variants"]),
            *(f"{base}/options/{o}/values/{v}" for o, v in removed["option_values"]),
            *(f"{base}/options/{o}" for o in removed["options"]),
        ]
        for path in paths:
            try:
                response = self.api.request("DELETE", path)
            except TransientError as exc:
                return transient(result.ref, exc)
            if response.status_code >= 400 and response.status_code != 404:
                return self.api.failure(result.ref, response, "DELETE", path)
        if result.record is not None:
            record = dict(result.record)
            for key in ("images", "custom_fields", "variants"):
                gone = set(removed[key])
                if gone and key in record:
                    record[key] = [e for e in record[key] if e.get("id") not in gone]
            result.record = record
        return result

    def delete(self, ids: list[str]) -> list[WriteResult]:
        return delete_in(self.api, PATH, ids)

    # --- mapping -----------------------------------------------------------------------------

    def to_canonical(self, raw: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise RecordInvalid("the product is not a JSON object")
        label = f"product {raw.get('id', '?')}"
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            raise RecordInvalid(f"{label} has no name")
        tracking = raw.get("inventory_tracking") or "none"
        variants_raw = _list(raw, "variants", label)
        try:
            price = money(raw.get("price"))
            sale_price = _sale(raw.get("sale_price"))
            weight = decimal_text(raw.get("weight"))
        except ValueError as exc:
            raise RecordInvalid(f"{label}: {exc}") from None
        if price is None:
            raise RecordInvalid(f"{label} has no price")
        stock = None
        if tracking == "product":
            stock = _stock(raw.get("inventory_level"), label)
        options, variants = _variants(variants_raw, tracking, label)
        return {
            "sku": raw.get("sku") or "",
            "name": name,
            "slug": last_segment((raw.get("custom_url") or {}).get("url")),
            "description": raw.get("description") or "",
            "status": "active" if raw.get("is_visible", True) else "draft",
            "price": price,
            "sale_price": sale_price,
            "stock": stock,
            "weight": weight,
            "categories": sorted(str(c) for c in _list(raw, "categories", label)),
            "brand": ref(raw.get("brand_id")),
            "images": _images_in(_list(raw, "images", label), label),
            "custom_fields": sorted(
                (
                    {"name": str(f.get("name") or ""), "value": str(f.get("value") or "")}
                    for f in _list(raw, "custom_fields", label)
                ),
                key=lambda f: (f["name"], f["value"]),
            ),
            "options": [{"name": n, "values": v} for n, v in options.items()],
            "variants": variants,
        }

    def write_notes(self, canonical: dict[str, Any]) -> list[str]:
        # inventory_tracking is per product: "variant" tracks every variant, so one that tracks
        # no stock at the source is written with inventory_level 0 (from_canonical) and would
        # show as sold out.
        variants = canonical.get("variants") or []
        untracked = [v for v in variants if v.get("stock") is None]
        if not untracked or len(untracked) == len(variants):
            return []
        skus = ", ".join(repr(v.get("sku") or "(no SKU)") for v in untracked[:5])
        more = f" and {len(untracked) - 5} more" if len(untracked) > 5 else ""
        return [
            f"stock: variant {skus}{more} tracks no stock at the source, but BigCommerce tracks "
            "all of a product's variants or none: it is written with stock 0"
        ]

    def from_canonical(self, canonical: dict[str, Any]) -> dict[str, Any]:
        variants = canonical.get("variants") or []
        if any(v.get("stock") is not None for v in variants):
            tracking = "variant"
        elif canonical.get("stock") is not None:
            tracking = "product"
        else:
            tracking = "none"
        payload: dict[str, Any] = {
            "name": canonical["name"],
            "type": "physical",
            "sku": canonical.get("sku") or "",
            "description": canonical.get("description") or "",
            # Required by the platform; a product without a weight ships as weightless.
            "weight": _weight(canonical.get("weight")),
            "price": number(canonical.get("price")),
            # The platform's "no sale" is 0, not null.
            "sale_price": number(canonical.get("sale_price")) or 0,
            "is_visible": canonical.get("status", "active") == "active",
            "inventory_tracking": tracking,
            "categories": [int(c) for c in canonical.get("categories") or []],
            "brand_id": ref_id(canonical.get("brand")),
            "images": [
                {
                    "image_url": image["url"],
                    "description": image.get("alt") or "",
                    "sort_order": int(image.get("position") or 0),
                    "is_thumbnail": index == 0,
                }
                for index, image in enumerate(canonical.get("images") or [])
            ],
            # The platform refuses empty names or values (1 to 250 characters).
            "custom_fields": [
                {"name": field["name"], "value": field["value"]}
                for field in canonical.get("custom_fields") or []
                if field.get("name") and field.get("value")
            ],
        }
        if canonical.get("slug"):
            payload["custom_url"] = {"url": f"/{canonical['slug']}/", "is_customized": True}
        if tracking == "product":
            payload["inventory_level"] = int(canonical["stock"])
        if variants:
            payload["variants"] = [
                {
                    "sku": variant.get("sku") or "",
                    "price": number(variant.get("price")),
                    "sale_price": number(variant.get("sale_price")),
                    **(
                        {"inventory_level": int(variant.get("stock") or 0)}
                        if tracking == "variant"
                        else {}
                    ),
                    "option_values": [
                        {"option_display_name": option, "label": value}
                        for option, value in (variant.get("options") or {}).items()
                    ],
                }
                for variant in variants
            ]
        return payload

    def variant_ids(self, product_ids: list[str]) -> dict[tuple[str, str], int]:
        """(product id, variant SKU) → variant id, for order lines of products with options."""
        found: dict[tuple[str, str], int] = {}
        for record in self.read_by_ids(product_ids):
            for variant in record.get("variants") or []:
                if variant.get("option_values") and variant.get("sku"):
                    found[(str(record["id"]), variant["sku"])] = variant["id"]
        return found


def _removed_variants(
    wanted: list[dict[str, Any]], on_target: list[dict[str, Any]], removed: dict[str, list[Any]]
) -> None:
    """The target's option variants the record no longer has (by SKU), and the option values
    and options only they used: a PUT's inline variants add and change, never take away."""
    keep = {v.get("sku") for v in wanted}
    gone = [v for v in on_target if v.get("sku") not in keep]
    if not gone:
        return

    def pairs(variants: list[dict[str, Any]]) -> set[tuple[int, int]]:
        return {
            (value["option_id"], value["id"])
            for variant in variants
            for value in variant.get("option_values") or []
            if "option_id" in value and "id" in value
        }

    kept = pairs([v for v in on_target if v.get("sku") in keep])
    unused = pairs(gone) - kept
    kept_options = {option for option, _ in kept}
    removed["variants"] = [v["id"] for v in gone]
    removed["option_values"] = sorted(p for p in unused if p[0] in kept_options)
    removed["options"] = sorted({option for option, _ in unused if option not in kept_options})


def _variants(
    variants_raw: list[Any], tracking: str, label: str
) -> tuple[dict[str, list[str]], list[dict[str, Any]]]:
    options: dict[str, list[str]] = {}
    variants = []
    for variant in variants_raw:
        values = variant.get("option_values") or []
        if not values:
            continue  # the base variant of a product without options: the product itself
        choice: dict[str, str] = {}
        for value in values:
            option, choice_label = value.get("option_display_name"), value.get("label")
            if not option or choice_label is None:
                raise RecordInvalid(f"{label}: a variant option value has no name or label")
            choice[option] = choice_label
            known = options.setdefault(option, [])
            if choice_label not in known:
                known.append(choice_label)
        try:
            variant_price = money(variant.get("price"))
            variant_sale = money(variant.get("sale_price")) if variant.get("sale_price") else None
        except ValueError as exc:
            raise RecordInvalid(f"{label} variant {variant.get('sku')!r}: {exc}") from None
        variants.append(
            {
                "sku": variant.get("sku") or "",
                "price": variant_price,
                "sale_price": variant_sale,
                "stock": _stock(variant.get("inventory_level"), f"{label} variant")
                if tracking == "variant"
                else None,
                "options": choice,
            }
        )
    return options, variants


def _images_in(images: list[Any], label: str) -> list[dict[str, Any]]:
    result = []
    for image in sorted(images, key=lambda i: (i.get("sort_order") or 0, i.get("id") or 0)):
        # The platform answers writes with image_url; reads carry its CDN copies (url_*).
        url = image.get("image_url") or image.get("url_zoom") or image.get("url_standard")
        if not url:
            raise RecordInvalid(f"{label}: an image has no URL")
        result.append(
            {
                "url": url,
                "alt": image.get("description") or "",
                "position": int(image.get("sort_order") or 0),
            }
        )
    return result


def _match_images(
    wanted: list[dict[str, Any]], current: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[int]]:
    """Images matched to the target's by URL: matched ones keep their id (no new download)."""
    free = {image.get("image_url") or image.get("url_zoom"): image["id"] for image in current}
    payload = []
    for image in wanted:
        image_id = free.pop(image["image_url"], None)
        if image_id is None:
            payload.append(image)
        else:
            payload.append({k: v for k, v in image.items() if k != "image_url"} | {"id": image_id})
    return payload, list(free.values())


def _match_fields(
    wanted: list[dict[str, Any]], current: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[int]]:
    """Custom fields matched to the target's: same name and value first, then same name."""
    free = list(current)
    matched: list[dict[str, Any] | None] = []
    for field in wanted:
        same = next(
            (
                f
                for f in free
                if f.get("name") == field["name"] and f.get("value") == field["value"]
            ),
            None,
        )
        if same is not None:
            free.remove(same)
        matched.append(same)
    payload = []
    for field, same in zip(wanted, matched, strict=True):
        if same is None:
            same = next((f for f in free if f.get("name") == field["name"]), None)
            if same is not None:
                free.remove(same)
        payload.append(field if same is None else {**field, "id": same["id"]})
    return payload, [f["id"] for f in free]
