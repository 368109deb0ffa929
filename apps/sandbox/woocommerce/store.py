"""Writes to a WooCommerce sandbox: products, variations, batches, and bulk seeding.

Products name their categories and brands by id; unknown ids are dropped and each term's
`count` follows the writes (product_terms.py). Other resources live in terms.py,
customers.py, orders.py and wordpress.py.

Each write method takes a list of items and answers one result per item (the record, or a
WCError), so single endpoints and batch endpoints share one path. Every item fails alone:
checks run first for the whole list (one query for all SKUs, one id allocation), rows are
inserted in bulk, and only if the database refuses the bulk insert (a race on a SKU) are rows
retried one by one in savepoints to find the culprit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from apps.sandbox.models import SandboxObject, SandboxStore
from apps.sandbox.services import sandbox_base_url
from apps.sandbox.webhooks import notify
from apps.sandbox.woocommerce import records, schema
from apps.sandbox.woocommerce.errors import (
    WCError,
    duplicate_sku,
    invalid_id,
    invalid_params,
    item_error,
    too_many_items,
)
from apps.sandbox.woocommerce.product_terms import adjust_counts, resolve_product_terms

PRODUCT = "product"
VARIATION = "variation"
BATCH_LIMIT = 100
_IN_CHUNK = 500  # keeps IN (...) lists well under SQLite's bound-parameter limit

Result = dict[str, Any] | WCError


class IdPool:
    """Store-wide ids (products, variations and images share WordPress's post ids), reserved
    in one go for a whole write."""

    def __init__(self, sandbox: SandboxStore, expected: int) -> None:
        self.sandbox = sandbox
        self.ids = sandbox.allocate_ids(expected) if expected else []
        self.ids.reverse()

    def take(self) -> int:
        if not self.ids:
            self.ids = self.sandbox.allocate_ids(1)
        return self.ids.pop()


def _ids_needed(fields: dict[str, Any], *, creating: bool) -> int:
    images = [i for i in fields.get("images") or [] if not i.get("id")]
    image = fields.get("image")
    return int(creating) + len(images) + int(bool(image) and not image.get("id"))


def _chunks(values: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class WooStore:
    def __init__(self, sandbox: SandboxStore, now: datetime | None = None) -> None:
        self.sandbox = sandbox
        self.site = records.Site(sandbox_base_url(sandbox))
        self.now = now or timezone.now()

    # --- reads -----------------------------------------------------------------------------

    def _objects(self, resource: str):
        return SandboxObject.objects.filter(store=self.sandbox, resource=resource)

    def product_row(self, product_id: int) -> SandboxObject:
        row = self._objects(PRODUCT).filter(object_id=product_id).first()
        if row is None:
            raise invalid_id(PRODUCT)
        return row

    def get(self, resource: str, object_id: int, parent_id: int | None = None) -> dict[str, Any]:
        qs = self._objects(resource).filter(object_id=object_id)
        if parent_id is not None:
            qs = qs.filter(parent_id=parent_id)
        data = qs.values_list("data", flat=True).first()
        if data is None:
            raise invalid_id(resource)
        return data

    def _sku_holders(self, skus: Iterable[str]) -> dict[str, int]:
        """SKU → id of the product or variation holding it in this store."""
        wanted = sorted({s for s in skus if s})
        holders: dict[str, int] = {}
        for chunk in _chunks(wanted, _IN_CHUNK):
            rows = SandboxObject.objects.filter(store=self.sandbox, sku__in=chunk)
            holders.update(rows.values_list("sku", "object_id"))
        return holders

    def _unique_slugs(self, wanted: list[tuple[int, dict[str, Any]]]) -> None:
        """Give each new product a slug no same-named product uses (WordPress adds -2, -3 …).

        Only products with the same name are consulted (the slug has no column of its own), so
        an explicit slug equal to a differently named product's slug is not caught.
        """
        names = {fields.get("name", "") for _, fields in wanted}
        taken: set[str] = set()
        for chunk in _chunks(sorted(names), _IN_CHUNK):
            same_name = self._objects(PRODUCT).filter(name__in=chunk)
            taken.update(data.get("slug", "") for data in same_name.values_list("data", flat=True))
        for _, fields in wanted:
            base = fields.get("slug") or slugify(fields.get("name", ""), allow_unicode=True)
            if not base:
                continue
            slug, n = base, 1
            while slug in taken:
                n += 1
                slug = f"{base}-{n}"
            taken.add(slug)
            fields["slug"] = slug

    # --- row writing -----------------------------------------------------------------------

    def _row(self, resource: str, data: dict[str, Any], parent_id: int | None) -> SandboxObject:
        return SandboxObject(
            store=self.sandbox,
            resource=resource,
            object_id=data["id"],
            parent_id=parent_id,
            sku=data["sku"],
            name=data.get("name", "")[:500],
            data=data,
            date_created=self.now,
            date_modified=self.now,
        )

    def _insert(self, rows: list[SandboxObject]) -> list[IntegrityError | None]:
        try:
            with transaction.atomic():
                SandboxObject.objects.bulk_create(rows)
            return [None] * len(rows)
        except IntegrityError:
            pass
        outcome: list[IntegrityError | None] = []
        for row in rows:
            try:
                with transaction.atomic():
                    row.save(force_insert=True)
                outcome.append(None)
            except IntegrityError as exc:
                row.pk = None
                outcome.append(exc)
        return outcome

    def _save(self, rows: list[SandboxObject]) -> list[IntegrityError | None]:
        fields = ["sku", "name", "data", "date_modified"]
        try:
            with transaction.atomic():
                SandboxObject.objects.bulk_update(rows, fields)
            return [None] * len(rows)
        except IntegrityError:
            pass
        outcome: list[IntegrityError | None] = []
        for row in rows:
            try:
                with transaction.atomic():
                    row.save(update_fields=fields)
                outcome.append(None)
            except IntegrityError as exc:
                outcome.append(exc)
        return outcome

    def _refresh_parents(self, parents: Iterable[SandboxObject]) -> None:
        """Re-derive variable products from their variations and save them."""
        rows = self._derive(parents)
        if rows:
            SandboxObject.objects.bulk_update(rows, ["data", "date_modified"])

    def _derive(self, parents: Iterable[SandboxObject]) -> list[SandboxObject]:
        """Re-derive variable products from their variations (price, stock, id list)."""
        by_id = {row.object_id: row for row in parents}
        if not by_id:
            return []
        children: dict[int, list[dict[str, Any]]] = {pid: [] for pid in by_id}
        for chunk in _chunks(sorted(by_id), _IN_CHUNK):
            qs = self._objects(VARIATION).filter(parent_id__in=chunk)
            for parent_id, data in qs.values_list("parent_id", "data"):
                children[parent_id].append(data)
        stamp = records.wp_date(self.now)
        for pid, row in by_id.items():
            records.derive_variable(row.data, children[pid])
            row.data["date_modified"] = row.data["date_modified_gmt"] = stamp
            row.date_modified = self.now
        return list(by_id.values())

    # --- creates ---------------------------------------------------------------------------

    def _check_all(self, payloads: list[Any], spec) -> tuple[list[Result | None], list]:
        results: list[Result | None] = [None] * len(payloads)
        checked: list[tuple[int, dict[str, Any]]] = []
        for index, payload in enumerate(payloads):
            try:
                checked.append((index, schema.check_payload(payload, spec)))
            except WCError as exc:
                results[index] = exc
        return results, checked

    def _claim_skus(
        self,
        checked: list[tuple[int, dict[str, Any]]],
        results: list[Result | None],
        owners: dict[int, int] | None = None,
    ) -> tuple[list[tuple[int, dict[str, Any]]], dict[int, int]]:
        """Drop items whose new SKU is taken, in the store or by an earlier item of the list.

        `owners` maps an update's index to the id it writes, so an update that re-sends its own
        SKU is not its own duplicate. Returns the items kept and, for creates that lost their
        SKU to an earlier create, index → that earlier index (its id is known only later).
        """
        owners = owners or {}
        holders = self._sku_holders(f.get("sku", "") for _, f in checked)
        first_claim: dict[str, int] = {}
        pending: dict[int, int] = {}
        kept = []
        for index, fields in checked:
            sku = fields.get("sku", "")
            if not sku:
                kept.append((index, fields))
                continue
            holder = holders.get(sku)
            if holder is not None and holder != owners.get(index):
                results[index] = duplicate_sku(holder)
            elif sku in first_claim and index not in owners:
                pending[index] = first_claim[sku]
            else:
                if index in owners:
                    holders[sku] = owners[index]
                first_claim.setdefault(sku, index)
                kept.append((index, fields))
        return kept, pending

    @staticmethod
    def _settle(results: list[Result | None], pending: dict[int, int]) -> list[Result]:
        for index, first in pending.items():
            winner = results[first]
            results[index] = duplicate_sku(winner["id"] if isinstance(winner, dict) else None)
        return results  # type: ignore[return-value]

    def _dup_holder(self, sku: str) -> int | None:
        """Who holds a SKU the database refused (after a race the up-front check missed)."""
        rows = SandboxObject.objects.filter(store=self.sandbox, sku=sku)
        return rows.values_list("object_id", flat=True).first()

    def create_products(self, payloads: list[Any]) -> list[Result]:
        results, checked = self._check_all(payloads, schema.PRODUCT_SPEC)
        with transaction.atomic():
            checked, pending = self._claim_skus(checked, results)
            self._unique_slugs(checked)
            resolve_product_terms(self.sandbox, (f for _, f in checked))
            pool = IdPool(self.sandbox, sum(_ids_needed(f, creating=True) for _, f in checked))
            rows = []
            for _, fields in checked:
                data = records.new_product(self.site, pool.take(), fields, self.now, pool.take)
                rows.append(self._row(PRODUCT, data, None))
            created = []
            for (index, _), row, failure in zip(checked, rows, self._insert(rows), strict=True):
                results[index] = duplicate_sku(self._dup_holder(row.sku)) if failure else row.data
                if not failure:
                    created.append((None, row.data))
            adjust_counts(self.sandbox, created)
            notify(self.sandbox, PRODUCT, "created", [data["id"] for _, data in created])
        return self._settle(results, pending)

    def create_variations(self, parent: SandboxObject, payloads: list[Any]) -> list[Result]:
        results, checked = self._check_all(payloads, schema.VARIATION_SPEC)
        with transaction.atomic():
            checked, pending = self._claim_skus(checked, results)
            pool = IdPool(self.sandbox, sum(_ids_needed(f, creating=True) for _, f in checked))
            rows = []
            for _, fields in checked:
                data = records.new_variation(
                    self.site, parent.data, pool.take(), fields, self.now, pool.take
                )
                rows.append(self._row(VARIATION, data, parent.object_id))
            for (index, _), row, failure in zip(checked, rows, self._insert(rows), strict=True):
                results[index] = duplicate_sku(self._dup_holder(row.sku)) if failure else row.data
            if rows:
                self._refresh_parents([parent])
            notify(self.sandbox, PRODUCT, "updated", [parent.object_id] if rows else [])
        return self._settle(results, pending)

    # --- updates ---------------------------------------------------------------------------

    def _update(
        self, resource: str, payloads: list[Any], parent: SandboxObject | None
    ) -> list[Result]:
        spec = schema.PRODUCT_SPEC if resource == PRODUCT else schema.VARIATION_SPEC
        results, checked = self._check_all(payloads, spec)
        ids: dict[int, int] = {}
        for index, _ in checked:
            object_id = schema.check_id(payloads[index].get("id"))
            if object_id is None:
                results[index] = invalid_id(resource, 400)
            else:
                ids[index] = object_id
        checked = [(i, f) for i, f in checked if i in ids]
        with transaction.atomic():
            qs = self._objects(resource).filter(object_id__in=set(ids.values()))
            if parent is not None:
                qs = qs.filter(parent_id=parent.object_id)
            rows = {row.object_id: row for row in qs}
            for index, _ in checked:
                if ids[index] not in rows:
                    results[index] = invalid_id(resource, 400)
            checked = [(i, f) for i, f in checked if ids[i] in rows]
            checked, _ = self._claim_skus(checked, results, owners=ids)
            if resource == PRODUCT:
                resolve_product_terms(self.sandbox, (f for _, f in checked))
            pool = IdPool(self.sandbox, sum(_ids_needed(f, creating=False) for _, f in checked))
            before = {}
            for index, fields in checked:
                row = rows[ids[index]]
                before.setdefault(row.object_id, row.data)
                if resource == PRODUCT:
                    row.data = records.update_product(
                        self.site, row.data, fields, self.now, pool.take
                    )
                else:
                    row.data = records.update_variation(
                        self.site, parent.data, row.data, fields, self.now, pool.take
                    )
                row.sku, row.name = row.data["sku"], row.data.get("name", "")[:500]
                row.date_modified = self.now
            touched = list({ids[i]: rows[ids[i]] for i, _ in checked}.values())
            if resource == PRODUCT:
                # A type change or status change alters what the variations add up to.
                self._derive(r for r in touched if r.data["type"] == "variable")
            failures = dict(zip((r.object_id for r in touched), self._save(touched), strict=True))
            for index, _ in checked:
                row = rows[ids[index]]
                if failures[row.object_id]:
                    results[index] = duplicate_sku(self._dup_holder(row.sku))
                else:
                    results[index] = row.data
            if parent is not None and touched:
                self._refresh_parents([parent])
            if resource == PRODUCT:
                adjust_counts(
                    self.sandbox,
                    [(before[r.object_id], r.data) for r in touched if not failures[r.object_id]],
                )
            # A variation's change is its product's (the product's JSON changes with it).
            notify(
                self.sandbox,
                PRODUCT,
                "updated",
                [r.parent_id or r.object_id for r in touched if not failures[r.object_id]],
            )
        return results  # type: ignore[return-value]

    def update_products(self, payloads: list[Any]) -> list[Result]:
        return self._update(PRODUCT, payloads, None)

    def update_variations(self, parent: SandboxObject, payloads: list[Any]) -> list[Result]:
        return self._update(VARIATION, payloads, parent)

    # --- deletes ---------------------------------------------------------------------------

    def _delete(self, resource: str, raw_ids: list[Any], parent: SandboxObject | None):
        results: list[Result | None] = [None] * len(raw_ids)
        wanted = {i: schema.check_id(raw) for i, raw in enumerate(raw_ids)}
        with transaction.atomic():
            qs = self._objects(resource).filter(
                object_id__in={oid for oid in wanted.values() if oid}
            )
            if parent is not None:
                qs = qs.filter(parent_id=parent.object_id)
            rows = {row.object_id: row for row in qs}
            gone: set[int] = set()
            for index, object_id in wanted.items():
                if object_id is None or object_id not in rows or object_id in gone:
                    results[index] = invalid_id(resource)
                else:
                    gone.add(object_id)
                    results[index] = rows[object_id].data
            if gone and resource == PRODUCT:
                # Deleting a variable product deletes its variations with it.
                children = self._objects(VARIATION).filter(parent_id__in=gone)
                children.delete()
                adjust_counts(self.sandbox, [(rows[oid].data, None) for oid in gone])
            if gone:
                self._objects(resource).filter(object_id__in=gone).delete()
            if gone and parent is not None:
                self._refresh_parents([parent])
            notify(
                self.sandbox,
                PRODUCT,
                "updated" if parent else "deleted",
                [parent.object_id] if parent and gone else gone,
            )
        return results

    def delete_products(self, ids: list[Any]) -> list[Result]:
        return self._delete(PRODUCT, ids, None)

    def delete_variations(self, parent: SandboxObject, ids: list[Any]) -> list[Result]:
        return self._delete(VARIATION, ids, parent)

    # --- seeding ---------------------------------------------------------------------------

    def seed(self, payloads: list[dict[str, Any]]) -> int:
        """Insert products and their `variations` payloads in bulk, skipping SKUs in use.

        Builds records with the same functions as the endpoints; a payload that fails the API's
        checks raises WCError (seed data is ours, so that is a bug, not a per-item outcome).
        """
        wanted = []
        for payload in payloads:
            fields = schema.check_payload(payload, schema.PRODUCT_SPEC)
            children = [
                schema.check_payload(v, schema.VARIATION_SPEC)
                for v in payload.get("variations", [])
            ]
            wanted.append((fields, children))
        with transaction.atomic():
            held = self._sku_holders(
                sku
                for fields, children in wanted
                for sku in [fields.get("sku", ""), *(c.get("sku", "") for c in children)]
            )
            wanted = [
                (fields, children)
                for fields, children in wanted
                if not any(c.get("sku") in held for c in [fields, *children])
            ]
            self._unique_slugs([(0, fields) for fields, _ in wanted])
            resolve_product_terms(self.sandbox, (fields for fields, _ in wanted))
            expected = sum(
                _ids_needed(fields, creating=True)
                + sum(_ids_needed(c, creating=True) for c in children)
                for fields, children in wanted
            )
            pool = IdPool(self.sandbox, expected)
            rows = []
            for fields, children in wanted:
                data = records.new_product(self.site, pool.take(), fields, self.now, pool.take)
                variations = [
                    records.new_variation(self.site, data, pool.take(), c, self.now, pool.take)
                    for c in children
                ]
                records.derive_variable(data, variations)
                rows.append(self._row(PRODUCT, data, None))
                rows.extend(self._row(VARIATION, v, data["id"]) for v in variations)
            SandboxObject.objects.bulk_create(rows, batch_size=500)
            adjust_counts(self.sandbox, [(None, r.data) for r in rows if r.resource == PRODUCT])
        return len(wanted)

    # --- batches ---------------------------------------------------------------------------

    def batch(self, body: Any, parent: SandboxObject | None = None) -> dict[str, Any]:
        """`{create, update, delete}` of products, or of one product's variations."""
        if parent is None:
            return run_batch(body, self.create_products, self.update_products, self.delete_products)
        return run_batch(
            body,
            lambda items: self.create_variations(parent, items),
            lambda items: self.update_variations(parent, items),
            lambda items: self.delete_variations(parent, items),
        )


def run_batch(
    body: Any,
    create: Callable[[list[Any]], list[Result]],
    update: Callable[[list[Any]], list[Result]],
    delete: Callable[[list[Any]], list[Result]],
) -> dict[str, Any]:
    """`{create, update, delete}` → the same keys with one answer per item, in order."""
    if not isinstance(body, dict):
        raise invalid_params({"body": "The request body is not of type object."})
    errors = {
        key: f"{key} is not of type array."
        for key in ("create", "update", "delete")
        if key in body and not isinstance(body[key], list)
    }
    if errors:
        raise invalid_params(errors)
    ops = {key: body.get(key) or [] for key in ("create", "update", "delete")}
    if sum(len(items) for items in ops.values()) > BATCH_LIMIT:
        raise too_many_items(BATCH_LIMIT)
    answer: dict[str, Any] = {}
    with transaction.atomic():
        # WooCommerce runs creates, then updates, then deletes.
        if ops["create"]:
            answer["create"] = [_answer(r, 0) for r in create(ops["create"])]
        if ops["update"]:
            done = update(ops["update"])
            answer["update"] = [
                _answer(r, _given_id(item)) for r, item in zip(done, ops["update"], strict=True)
            ]
        if ops["delete"]:
            done = delete(ops["delete"])
            answer["delete"] = [
                _answer(r, schema.check_id(item) or 0)
                for r, item in zip(done, ops["delete"], strict=True)
            ]
    return answer


def _given_id(item: Any) -> int:
    return (schema.check_id(item.get("id")) or 0) if isinstance(item, dict) else 0


def _answer(result: Result, item_id: int) -> dict[str, Any]:
    return item_error(item_id, result) if isinstance(result, WCError) else result
