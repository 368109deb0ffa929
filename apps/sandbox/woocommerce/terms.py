"""Product categories and brands: WordPress terms (taxonomies product_cat and product_brand).

WooCommerce 9.6+ serves brands from a controller that extends the categories one, so both share
this module and one JSON shape: id, name, slug, parent, description, display, image, menu_order,
count. Names are stored and answered HTML-escaped ("Harbor &amp; Pine"), as WordPress's
pre_term_name filters leave them. Rows: resource "category" / "brand", `unique_name` = slug
(slugs are unique per taxonomy, and the database constraint keeps them so when two requests
race), `parent_id` = parent (0 at the top), `name` = name.

As wp_insert_term() does: a second term with the same name under the same parent is refused
with `term_exists` (data.resource_id names the holder, so a client can adopt it); a slug that is
taken is made unique (`-<parent slug>`, then `-2`, `-3` …); on update a slug taken by another
term is `duplicate_term_slug`. A deleted term's children move up to its parent and products lose
it. `count` is the number of published products carrying the term directly (WooCommerce also
adds the products of child categories; the sandbox does not).
"""

from __future__ import annotations

from datetime import datetime
from html import unescape
from typing import Any

from django.db.models import F, Q, QuerySet
from django.db.models.functions import Lower
from django.utils.text import slugify

from apps.sandbox.models import SandboxObject, SandboxStore
from apps.sandbox.woocommerce import records, schema
from apps.sandbox.woocommerce.errors import WCError, invalid_params
from apps.sandbox.woocommerce.listing import ListSpec, id_list, integer, values
from apps.sandbox.woocommerce.listing import boolean as bool_param
from apps.sandbox.woocommerce.product_terms import refresh_product_terms
from apps.sandbox.woocommerce.resources import (
    Change,
    Checked,
    ResourceStore,
    Result,
    missing_params,
)
from apps.sandbox.woocommerce.store import IdPool

CATEGORY = "category"
BRAND = "brand"
TERM_RESOURCES = (CATEGORY, BRAND)
REST_BASES = {CATEGORY: "products/categories", BRAND: "products/brands"}

TERM_SPEC: dict[str, schema.FieldCheck] = {
    "name": schema.STRING,
    "slug": schema.STRING,
    "parent": schema.INTEGER,
    "description": schema.STRING,
    "display": schema.enum(schema.TERM_DISPLAYS),
    "image": schema.obj(schema.IMAGE, nullable=True),
    "menu_order": schema.INTEGER,
}


def _term_extra(params: Any, errors: dict[str, str]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if params.get("parent") not in (None, ""):
        extra["parent"] = integer(params, "parent", None, errors)
    slugs = values(params, "slug")
    if slugs:
        extra["slugs"] = slugs
    hide_empty = bool_param(params, "hide_empty", errors)
    if hide_empty:
        extra["hide_empty"] = True
    if "exclude" in params:
        id_list(params, "exclude", errors)
    return extra


def _term_filter(qs: QuerySet, extra: dict[str, Any]) -> QuerySet:
    if extra.get("parent") is not None:
        qs = qs.filter(parent_id=extra["parent"])
    if extra.get("slugs"):
        qs = qs.filter(unique_name__in=extra["slugs"])
    if extra.get("hide_empty"):
        qs = qs.filter(data__count__gt=0)
    return qs


TERM_LIST = ListSpec(
    orderby=("id", "include", "name", "slug", "term_group", "description", "count"),
    default_orderby="name",
    default_order="asc",
    order_columns={
        "id": lambda: F("object_id"),
        "name": lambda: Lower("name"),
        "slug": lambda: Lower("unique_name"),
    },
    dates=False,
    unsupported=("product",),
    search=lambda term: Q(name__icontains=term) | Q(unique_name__icontains=term),
    parse=_term_extra,
    apply=_term_filter,
)


def term_exists(holder: int | None) -> WCError:
    data = {"resource_id": holder} if holder is not None else {}
    return WCError(
        "term_exists", "A term with the name provided already exists with this parent.", 400, **data
    )


def _sanitize_slug(value: str) -> str:
    return slugify(value, allow_unicode=True)


class TermStore(ResourceStore):
    def __init__(self, sandbox: SandboxStore, resource: str, now: datetime | None = None) -> None:
        if resource not in TERM_RESOURCES:
            raise ValueError(f"not a term resource: {resource!r}")
        super().__init__(sandbox, now)
        self.resource = resource
        self.rest_base = REST_BASES[resource]
        self.spec = TERM_SPEC

    # --- the tree ----------------------------------------------------------------------------

    def _tree(self) -> dict[int, tuple[int, str, str]]:
        """id → (parent, name, slug) of every term of this taxonomy (trees are small)."""
        rows = self.objects().values_list("object_id", "parent_id", "name", "unique_name")
        return {oid: (parent or 0, name, slug or "") for oid, parent, name, slug in rows}

    @staticmethod
    def _unique_slug(
        slug: str, parent: int, tree: dict[int, tuple[int, str, str]], taken: set[str]
    ) -> str:
        """wp_unique_term_slug(): append the ancestors' slugs, then a number."""
        if slug not in taken:
            return slug
        ancestor, seen = parent, set()
        while ancestor and ancestor in tree and ancestor not in seen:
            seen.add(ancestor)
            slug = f"{slug}-{tree[ancestor][2]}"
            if slug not in taken:
                return slug
            ancestor = tree[ancestor][0]
        number = 2
        while f"{slug}-{number}" in taken:
            number += 1
        return f"{slug}-{number}"

    # --- hooks -------------------------------------------------------------------------------

    def invalid_id(self, status: int = 404) -> WCError:
        return WCError("woocommerce_rest_term_invalid", "Resource does not exist.", status)

    def exists_error(self) -> WCError:
        return invalid_params({"id": "Cannot create existing resource."})

    def ids_needed(self, fields: dict[str, Any], *, creating: bool) -> int:
        image = fields.get("image") or {}
        return int(creating) + int(bool(image.get("src")) and not image.get("id"))

    def check_creates(self, checked: Checked, results: list[Result | None]) -> Checked:
        tree = self._tree()
        names = {(p, n.strip().lower()): oid for oid, (p, n, _) in tree.items()}
        taken = {slug for _, _, slug in tree.values()}
        first_in_list: dict[tuple[int, str], int] = {}
        kept: Checked = []
        for index, fields in checked:
            if "name" not in fields:
                results[index] = missing_params("name")
                continue
            name = records.specialchars(fields["name"].strip())
            if not name:
                results[index] = WCError("empty_term_name", "A name is required for this term.")
                continue
            parent = fields.get("parent", 0)
            if parent and parent not in tree:
                results[index] = WCError(
                    "woocommerce_rest_term_invalid", "Parent resource does not exist.", 404
                )
                continue
            key = (parent, name.lower())
            if key in names:
                results[index] = term_exists(names[key])
                continue
            if key in first_in_list:
                self.pending[index] = first_in_list[key]
                continue
            first_in_list[key] = index
            slug = (
                _sanitize_slug(fields.get("slug") or "") or _sanitize_slug(unescape(name)) or "term"
            )
            fields["slug"] = self._unique_slug(slug, parent, tree, taken)
            fields["name"] = name
            taken.add(fields["slug"])
            kept.append((index, fields))
        return kept

    def duplicate_of(self, first: Result) -> WCError:
        return term_exists(first["id"] if isinstance(first, dict) else None)

    def check_updates(
        self, checked: Checked, rows: dict[int, SandboxObject], results: list[Result | None]
    ) -> Checked:
        tree = self._tree()
        slugs = {slug: oid for oid, (_, _, slug) in tree.items()}
        kept: Checked = []
        for index, fields in checked:
            own = rows[index].object_id
            if "name" in fields and not fields["name"].strip():
                results[index] = WCError("empty_term_name", "A name is required for this term.")
                continue
            parent = fields.get("parent")
            if parent:
                if parent not in tree:
                    results[index] = WCError(
                        "woocommerce_rest_term_invalid", "Parent resource does not exist.", 404
                    )
                    continue
                if self._is_ancestor(own, parent, tree):
                    results[index] = invalid_params(
                        {"parent": "parent would make the term its own ancestor."}
                    )
                    continue
            if fields.get("slug"):
                slug = _sanitize_slug(fields["slug"])
                holder = slugs.get(slug)
                if holder is not None and holder != own:
                    results[index] = WCError(
                        "duplicate_term_slug",
                        f"The slug \u201c{slug}\u201d is already in use by another term.",
                    )
                    continue
                fields["slug"] = slug
                slugs[slug] = own
            else:
                fields.pop("slug", None)  # an empty slug keeps the current one
            kept.append((index, fields))
        return kept

    @staticmethod
    def _is_ancestor(term: int, candidate: int, tree: dict[int, tuple[int, str, str]]) -> bool:
        """Whether `term` is `candidate` or one of its ancestors."""
        seen = set()
        while candidate and candidate not in seen:
            if candidate == term:
                return True
            seen.add(candidate)
            candidate = tree.get(candidate, (0, "", ""))[0]
        return False

    def conflict(self, row: SandboxObject) -> WCError:
        holder = self.objects().filter(unique_name=row.unique_name)
        return term_exists(holder.values_list("object_id", flat=True).first())

    def refuse_delete(self, data: dict[str, Any], force: bool) -> WCError | None:
        if not force:
            return WCError(
                "woocommerce_rest_trash_not_supported", "Resource does not support trashing.", 501
            )
        return None

    def build(self, object_id: int, fields: dict[str, Any], pool: IdPool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": object_id,
            "name": "",
            "slug": "",
            "parent": 0,
            "description": "",
            "display": "default",
            "image": None,
            "menu_order": 0,
            "count": 0,
        }
        return self.change(data, fields, pool)

    def change(
        self, current: dict[str, Any], fields: dict[str, Any], pool: IdPool
    ) -> dict[str, Any]:
        data = dict(current)
        stamp = records.wp_date(self.now)
        for name, value in fields.items():
            if name == "image":
                # An image without id or src (or null) removes it, as WooCommerce does.
                keep = value and (value.get("id") or value.get("src"))
                data["image"] = records._image(value, stamp, pool.take) if keep else None
            else:
                data[name] = records.specialchars(value.strip()) if name == "name" else value
        data["_links"] = self.links(data["id"])
        if data["parent"]:
            base = f"{self.site.api_url}/{self.rest_base}"
            data["_links"]["up"] = [{"href": f"{base}/{data['parent']}"}]
        return data

    def columns(self, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": data["name"][:500],
            "unique_name": data["slug"],
            "parent_id": data["parent"],
        }

    def after_write(self, changes: list[Change]) -> None:
        gone = {old["id"]: old for old, new in changes if new is None and old is not None}
        renamed = {
            new["id"]: new
            for old, new in changes
            if old is not None
            and new is not None
            and (old["name"], old["slug"]) != (new["name"], new["slug"])
        }
        if gone:
            self._adopt_orphans(gone)
        if gone or renamed:
            refresh_product_terms(self.sandbox, self.resource, renamed, set(gone))

    def _adopt_orphans(self, gone: dict[int, dict[str, Any]]) -> None:
        """wp_delete_term(): the children of a deleted term move up to its parent."""

        def surviving_parent(parent: int) -> int:
            while parent in gone:
                parent = gone[parent]["parent"]
            return parent

        children = list(self.objects().filter(parent_id__in=gone))
        for row in children:
            parent = surviving_parent(row.parent_id)
            row.parent_id = parent
            row.data = self.change(row.data, {"parent": parent}, IdPool(self.sandbox, 0))
        if children:
            SandboxObject.objects.bulk_update(children, ["parent_id", "data"])

    def seed(self, payloads: list[dict[str, Any]]) -> int:
        """Insert terms with the ids the payloads give (term ids are their own sequence in
        WordPress, so a demo can name them), skipping ids or slugs already present."""
        existing = self._tree()
        slugs = {slug for _, _, slug in existing.values()}
        wanted = [p for p in payloads if p["id"] not in existing and p.get("slug") not in slugs]
        if not wanted:
            return 0
        highest = max(p["id"] for p in wanted)
        store = SandboxStore.objects.get(pk=self.sandbox.pk)
        if store.next_id <= highest:
            # Keep the store's id pool above the ids taken here.
            store.allocate_ids(highest - store.next_id + 1)
        pool = IdPool(self.sandbox, 0)
        tree = dict(existing)
        rows = []
        for payload in wanted:  # parents first, so their slugs are known to their children
            fields = schema.check_payload(payload, TERM_SPEC)
            parent = fields.get("parent", 0)
            slug = _sanitize_slug(fields.get("slug") or unescape(fields["name"])) or "term"
            fields["slug"] = self._unique_slug(slug, parent, tree, slugs)
            slugs.add(fields["slug"])
            tree[payload["id"]] = (parent, fields["name"], fields["slug"])
            rows.append(self.row(self.build(payload["id"], fields, pool)))
        SandboxObject.objects.bulk_create(rows, batch_size=500)
        return len(rows)
