"""The write path every non-product resource shares: check → build → insert/update in bulk →
side effects, one answer per item (the record or a WCError), and batches of at most 100.

A resource subclasses ResourceStore and fills in its hooks (how a record is built and changed,
which columns index it, which checks need the database). As for products, checks run for the
whole list first, rows are written in bulk, and only if the database refuses the bulk write (a
unique column raced) are rows retried one by one in savepoints to find the culprit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.sandbox.models import SandboxObject, SandboxStore
from apps.sandbox.services import sandbox_base_url
from apps.sandbox.webhooks import notify
from apps.sandbox.woocommerce import records, schema
from apps.sandbox.woocommerce.errors import WCError
from apps.sandbox.woocommerce.store import IdPool, run_batch

Result = dict[str, Any] | WCError
Checked = list[tuple[int, dict[str, Any]]]
# (record before, record after) for every write: None before a create, None after a delete.
Change = tuple[dict[str, Any] | None, dict[str, Any] | None]


def missing_params(*names: str) -> WCError:
    """WordPress's answer when a required argument is absent."""
    return WCError(
        "rest_missing_callback_param",
        f"Missing parameter(s): {', '.join(names)}",
        400,
        params=list(names),
    )


def merge_meta(current: list[dict[str, Any]], given: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """WooCommerce's update_meta_data(): an entry with a known id or key is updated in place,
    others are added; entries not mentioned stay."""
    merged = [dict(entry) for entry in current]
    next_id = max((entry.get("id", 0) for entry in merged), default=0) + 1
    for entry in given:
        match = None
        if entry.get("id"):
            match = next((m for m in merged if m.get("id") == entry["id"]), None)
        if match is None:
            match = next((m for m in merged if m["key"] == entry["key"]), None)
        if match is not None:
            match["key"], match["value"] = entry["key"], entry.get("value")
        else:
            merged.append({"id": next_id, "key": entry["key"], "value": entry.get("value")})
            next_id += 1
    return merged


def stamp_dates(data: dict[str, Any], now: datetime, *, created: bool) -> None:
    stamp = records.wp_date(now)
    if created:
        data["date_created"] = data["date_created_gmt"] = stamp
    data["date_modified"] = data["date_modified_gmt"] = stamp


class ResourceStore:
    """Writes of one resource of one sandbox store. Subclasses fill in the hooks below."""

    resource = ""
    spec: dict[str, schema.FieldCheck] = {}
    rest_base = ""  # e.g. "products/categories", for _links
    api = "wc/v3"

    def __init__(self, sandbox: SandboxStore, now: datetime | None = None) -> None:
        self.sandbox = sandbox
        self.site = records.Site(sandbox_base_url(sandbox))
        self.now = now or timezone.now()

    # --- hooks -----------------------------------------------------------------------------

    def invalid_id(self, status: int = 404) -> WCError:
        raise NotImplementedError

    def build(self, object_id: int, fields: dict[str, Any], pool: IdPool) -> dict[str, Any]:
        """A new record from checked fields."""
        raise NotImplementedError

    def change(
        self, current: dict[str, Any], fields: dict[str, Any], pool: IdPool
    ) -> dict[str, Any]:
        """The record after an update with checked fields (`current` is left untouched)."""
        raise NotImplementedError

    def columns(self, data: dict[str, Any]) -> dict[str, Any]:
        """The indexed columns of a record's row (name, unique_name, parent_id, dates)."""
        return {"name": str(data.get("name", ""))[:500]}

    def check_creates(self, checked: Checked, results: list[Result | None]) -> Checked:
        """Checks that need the database (uniqueness, references); failed items leave."""
        return checked

    def check_updates(
        self, checked: Checked, rows: dict[int, SandboxObject], results: list[Result | None]
    ) -> Checked:
        return checked

    def conflict(self, row: SandboxObject) -> WCError:
        """The answer for a row the database refused (a unique column raced)."""
        raise NotImplementedError

    def duplicate_of(self, first: Result) -> WCError:
        """The answer for a create that repeats an earlier create of the same list (see
        `pending`): WooCommerce runs a batch's items in order, so the second one meets the
        first one's record."""
        raise NotImplementedError

    def refuse_delete(self, data: dict[str, Any], force: bool) -> WCError | None:
        return None

    def ids_needed(self, fields: dict[str, Any], *, creating: bool) -> int:
        return int(creating)

    def after_write(self, changes: list[Change]) -> None:
        """Side effects on other records (counts, re-parenting …) inside the transaction."""

    def deleted(self, data: dict[str, Any]) -> dict[str, Any]:
        return data

    def links(self, object_id: int) -> dict[str, Any]:
        base = f"{self.site.store_url}/wp-json/{self.api}/{self.rest_base}"
        return {
            "self": [{"href": f"{base}/{object_id}"}],
            "collection": [{"href": base}],
        }

    # --- reads -----------------------------------------------------------------------------

    def objects(self, resource: str | None = None) -> QuerySet:
        return SandboxObject.objects.filter(store=self.sandbox, resource=resource or self.resource)

    def get(self, object_id: int) -> dict[str, Any]:
        data = self.objects().filter(object_id=object_id).values_list("data", flat=True).first()
        if data is None:
            raise self.invalid_id()
        return data

    # --- rows ------------------------------------------------------------------------------

    def row(self, data: dict[str, Any]) -> SandboxObject:
        columns = {"date_created": self.now, "date_modified": self.now, **self.columns(data)}
        return SandboxObject(
            store=self.sandbox, resource=self.resource, object_id=data["id"], data=data, **columns
        )

    def insert(self, rows: list[SandboxObject]) -> list[IntegrityError | None]:
        try:
            with transaction.atomic():
                SandboxObject.objects.bulk_create(rows, batch_size=500)
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

    def save(self, rows: list[SandboxObject]) -> list[IntegrityError | None]:
        fields = ["name", "unique_name", "parent_id", "data", "date_created", "date_modified"]
        try:
            with transaction.atomic():
                SandboxObject.objects.bulk_update(rows, fields, batch_size=500)
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

    def _check_all(self, payloads: list[Any]) -> tuple[list[Result | None], Checked]:
        results: list[Result | None] = [None] * len(payloads)
        checked: Checked = []
        for index, payload in enumerate(payloads):
            try:
                checked.append((index, schema.check_payload(payload, self.spec)))
            except WCError as exc:
                results[index] = exc
        return results, checked

    # --- writes ----------------------------------------------------------------------------

    def create(self, payloads: list[Any]) -> list[Result]:
        results, checked = self._check_all(payloads)
        for index, _ in checked:
            if schema.check_id(payloads[index].get("id")) is not None:
                results[index] = self.exists_error()
        checked = [(i, f) for i, f in checked if results[i] is None]
        # check_creates() may park an item here: index → the earlier item it duplicates.
        self.pending: dict[int, int] = {}
        with transaction.atomic():
            checked = self.check_creates(checked, results)
            pool = IdPool(self.sandbox, sum(self.ids_needed(f, creating=True) for _, f in checked))
            rows = [self.row(self.build(pool.take(), fields, pool)) for _, fields in checked]
            changes: list[Change] = []
            for (index, _), row, failure in zip(checked, rows, self.insert(rows), strict=True):
                if failure:
                    results[index] = self.conflict(row)
                else:
                    results[index] = row.data
                    changes.append((None, row.data))
            self.after_write(changes)
            notify(self.sandbox, self.resource, "created", [new["id"] for _, new in changes])
        for index, first in self.pending.items():
            results[index] = self.duplicate_of(results[first])  # type: ignore[arg-type]
        return results  # type: ignore[return-value]

    def exists_error(self) -> WCError:
        return WCError(
            f"woocommerce_rest_{self.resource}_exists", "Cannot create existing resource.", 400
        )

    def update(self, payloads: list[Any]) -> list[Result]:
        results, checked = self._check_all(payloads)
        ids: dict[int, int] = {}
        for index, _ in checked:
            object_id = schema.check_id(payloads[index].get("id"))
            if object_id is None:
                results[index] = self.invalid_id(400)
            else:
                ids[index] = object_id
        checked = [(i, f) for i, f in checked if i in ids]
        with transaction.atomic():
            rows = {
                row.object_id: row for row in self.objects().filter(object_id__in=set(ids.values()))
            }
            for index, _ in checked:
                if ids[index] not in rows:
                    results[index] = self.invalid_id(400)
            checked = [(i, f) for i, f in checked if ids[i] in rows]
            by_index = {i: rows[ids[i]] for i, _ in checked}
            checked = self.check_updates(checked, by_index, results)
            pool = IdPool(self.sandbox, sum(self.ids_needed(f, creating=False) for _, f in checked))
            before: dict[int, dict[str, Any]] = {}
            for index, fields in checked:
                row = by_index[index]
                before.setdefault(row.object_id, row.data)
                row.data = self.change(row.data, fields, pool)
                for name, value in self.columns(row.data).items():
                    setattr(row, name, value)
                row.date_modified = self.now
            touched = list({by_index[i].object_id: by_index[i] for i, _ in checked}.values())
            failures = dict(zip((r.object_id for r in touched), self.save(touched), strict=True))
            for index, _ in checked:
                row = by_index[index]
                if failures[row.object_id]:
                    results[index] = self.conflict(row)
                else:
                    results[index] = row.data
            changes: list[Change] = [
                (before[r.object_id], r.data) for r in touched if not failures[r.object_id]
            ]
            self.after_write(changes)
            notify(self.sandbox, self.resource, "updated", [new["id"] for _, new in changes])
        return results  # type: ignore[return-value]

    def delete(self, raw_ids: list[Any], *, force: bool = True) -> list[Result]:
        results: list[Result | None] = [None] * len(raw_ids)
        wanted = {i: schema.check_id(raw) for i, raw in enumerate(raw_ids)}
        with transaction.atomic():
            qs = self.objects().filter(object_id__in={oid for oid in wanted.values() if oid})
            rows = {row.object_id: row for row in qs}
            gone: dict[int, dict[str, Any]] = {}
            for index, object_id in wanted.items():
                if object_id is None or object_id not in rows or object_id in gone:
                    results[index] = self.invalid_id()
                    continue
                refusal = self.refuse_delete(rows[object_id].data, force)
                if refusal is not None:
                    results[index] = refusal
                    continue
                gone[object_id] = rows[object_id].data
                results[index] = self.deleted(rows[object_id].data)
            if gone:
                self.objects().filter(object_id__in=gone).delete()
                self.after_write([(data, None) for data in gone.values()])
                notify(self.sandbox, self.resource, "deleted", gone)
        return results  # type: ignore[return-value]

    def batch(self, body: Any) -> dict[str, Any]:
        # Batch deletes are always forced (WooCommerce sets force=true for them).
        return run_batch(body, self.create, self.update, self.delete)


def chunks(values: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
