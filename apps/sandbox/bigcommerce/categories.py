"""Category trees and their categories (Catalog API v3 `catalog/trees…`), as SandboxObject rows.

- The store has one tree, id 1 ("Default", channel 1), as a single-storefront store does; it
  is not stored.
- resource "category": object_id is category_id, parent_id is the parent's id (0 at the root),
  name the name, and unique_name "<tree>:<parent>:<casefolded name>", so the database refuses
  two siblings of one name even when two requests race (the platform's names are unique among
  siblings, compared without case as its database collation does). `data` holds the rest.

Writes are arrays. A payload with invalid fields is refused whole (422); a name that clashes
with a sibling fails that category alone: 207 Multi-Status with the others written, or 409
when none was. PUT answers with counts only (no data), as the platform does.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone

from apps.sandbox.bigcommerce import errors as err
from apps.sandbox.bigcommerce.checks import Checker, is_integer
from apps.sandbox.bigcommerce.errors import ApiError, invalid
from apps.sandbox.bigcommerce.query import int_list, page_of, pagination
from apps.sandbox.models import SandboxObject, SandboxStore
from apps.sandbox.webhooks import notify

CATEGORY = "category"
DEFAULT_TREE = {"id": 1, "name": "Default", "channels": [1]}
TREES = {DEFAULT_TREE["id"]: DEFAULT_TREE}
MAX_NAME = 50
SORTS = (
    "use_store_settings",
    "featured",
    "newest",
    "best_selling",
    "alpha_asc",
    "alpha_desc",
    "avg_customer_review",
    "price_asc",
    "price_desc",
)
_FIELDS = (
    "description",
    "sort_order",
    "page_title",
    "meta_keywords",
    "meta_description",
    "layout_file",
    "image_url",
    "is_visible",
    "search_keywords",
    "default_product_sort",
)


def _categories(store: SandboxStore) -> QuerySet[SandboxObject]:
    return SandboxObject.objects.filter(store=store, resource=CATEGORY)


def sibling_key(tree_id: int, parent_id: int, name: str) -> str:
    return f"{tree_id}:{parent_id}:{name.casefold()}"


def category_json(row: SandboxObject) -> dict[str, Any]:
    data = row.data
    return {
        "category_id": row.object_id,
        "category_uuid": data.get("category_uuid"),
        "parent_id": row.parent_id,
        "tree_id": data.get("tree_id", 1),
        "name": row.name,
        "description": data.get("description", ""),
        "views": 0,
        "sort_order": data.get("sort_order", 0),
        "page_title": data.get("page_title", ""),
        "search_keywords": data.get("search_keywords", ""),
        "meta_keywords": data.get("meta_keywords", []),
        "meta_description": data.get("meta_description", ""),
        "layout_file": data.get("layout_file", ""),
        "is_visible": data.get("is_visible", True),
        "default_product_sort": data.get("default_product_sort", "use_store_settings"),
        "image_url": data.get("image_url", ""),
        "url": data.get("url", {"path": "/", "is_customized": False}),
    }


# --- checks --------------------------------------------------------------------------------


def _check(item: Any, prefix: str, errors: dict[str, str], *, creating: bool) -> dict[str, Any]:
    check = Checker(item, errors, prefix)
    if not creating:
        check.integer("category_id", required=True, minimum=1)
    check.text("name", required=creating, min_length=1, max_length=MAX_NAME, strip=True)
    check.integer("parent_id")
    check.integer("tree_id", minimum=1)
    check.text("description")
    check.integer("sort_order", minimum=None)
    check.text("page_title", max_length=255)
    check.strings("meta_keywords")
    check.text("meta_description", max_length=65535)
    check.text("layout_file", max_length=500)
    check.web_url("image_url")
    check.boolean("is_visible")
    check.text("search_keywords")
    check.choice("default_product_sort", SORTS)
    url = check.payload.get("url")
    if "url" in check.payload or creating:
        if not isinstance(url, dict) or not isinstance(url.get("path"), str):
            check.fail("url", "Url is required and can't be empty")
        elif not url["path"].startswith("/"):
            check.fail("url.path", "must be a path starting with /")
        elif "is_customized" in url and not isinstance(url["is_customized"], bool):
            check.fail("url.is_customized", "must be a boolean")
        else:
            check.clean["url"] = {
                "path": url["path"],
                "is_customized": url.get("is_customized", True),
            }
    if creating and check.ok and "parent_id" not in item and "tree_id" not in item:
        check.fail("tree_id", "tree_id or parent_id is required")
    return check.clean


def _placement(
    store: SandboxStore, cleans: list[dict[str, Any]], errors: dict[str, str]
) -> dict[int, SandboxObject]:
    """Check each category's parent and tree; returns the parent rows by id."""
    wanted = {c["parent_id"] for c in cleans if c.get("parent_id")}
    parents = {row.object_id: row for row in _categories(store).filter(object_id__in=wanted)}
    for index, clean in enumerate(cleans):
        parent_id = clean.get("parent_id")
        tree_id = clean.get("tree_id")
        if tree_id is not None and tree_id not in TREES:
            errors[f"{index}.tree_id"] = f"Category tree {tree_id} does not exist"
        if parent_id:
            parent = parents.get(parent_id)
            if parent is None:
                errors[f"{index}.parent_id"] = f"Parent category {parent_id} does not exist"
            elif tree_id is not None and parent.data.get("tree_id") != tree_id:
                errors[f"{index}.parent_id"] = f"Category {parent_id} is in another tree"
    return parents


# --- writes --------------------------------------------------------------------------------


def _counts(total: int, failed: int) -> dict[str, int]:
    return {"total": total, "success": total - failed, "failed": failed}


def _outcome(
    data: list[dict[str, Any]] | None, failures: dict[str, str], total: int, ok_status: int
) -> tuple[int, dict[str, Any]]:
    if failures and len(failures) == total:
        raise ApiError(409, err.DUPLICATE_CATEGORY, failures)
    body: dict[str, Any] = {} if data is None else {"data": data}
    if failures:
        body["errors"] = err.error_body(409, err.DUPLICATE_CATEGORY, failures)
        body["meta"] = _counts(total, len(failures))
        return 207, body
    body["meta"] = _counts(total, 0)
    return ok_status, body


def _save_alone(row: SandboxObject, **save: Any) -> bool:
    """Save in a savepoint; False when a unique constraint refused it (a racing sibling)."""
    try:
        with transaction.atomic():
            row.save(**save)
    except IntegrityError:
        return False
    return True


def create_categories(store: SandboxStore, payload: Any) -> tuple[int, dict[str, Any]]:
    if not isinstance(payload, list) or not payload:
        raise invalid({"body": "must be a non-empty list of categories"})
    problems: dict[str, str] = {}
    cleans = [_check(item, f"{i}.", problems, creating=True) for i, item in enumerate(payload)]
    parents = _placement(store, cleans, problems)
    if problems:
        raise invalid(problems)
    keys = []
    for clean in cleans:
        parent_id = clean.get("parent_id", 0)
        tree_id = parents[parent_id].data["tree_id"] if parent_id else clean["tree_id"]
        keys.append(sibling_key(tree_id, parent_id, clean["name"]))
    taken = set(
        _categories(store).filter(unique_name__in=keys).values_list("unique_name", flat=True)
    )
    ids = store.allocate_ids(len(cleans))
    now = timezone.now().replace(microsecond=0)
    created: list[dict[str, Any]] = []
    failures: dict[str, str] = {}
    with transaction.atomic():
        for index, (clean, key, category_id) in enumerate(zip(cleans, keys, ids, strict=True)):
            name = clean["name"]
            if key in taken:
                failures[f"{index}.name"] = f"The category name {name!r} is already in use here"
                continue
            parent_id = clean.get("parent_id", 0)
            data: dict[str, Any] = {"is_visible": True, "sort_order": 0}
            data.update({field: clean[field] for field in _FIELDS if field in clean})
            data.update(
                tree_id=int(key.split(":", 1)[0]),
                url=clean["url"],
                category_uuid=str(uuid.uuid4()),
            )
            row = SandboxObject(
                store=store,
                resource=CATEGORY,
                object_id=category_id,
                parent_id=parent_id,
                name=name,
                unique_name=key,
                data=data,
                date_created=now,
                date_modified=now,
            )
            if not _save_alone(row):
                failures[f"{index}.name"] = f"The category name {name!r} is already in use here"
                continue
            taken.add(key)
            created.append(category_json(row))
        notify(store, CATEGORY, "created", [c["category_id"] for c in created])
    return _outcome(created, failures, len(cleans), 201)


def _descendant_ids(store: SandboxStore, roots: set[int]) -> set[int]:
    children: dict[int, list[int]] = {}
    for object_id, parent_id in _categories(store).values_list("object_id", "parent_id"):
        children.setdefault(parent_id or 0, []).append(object_id)
    found: set[int] = set()
    todo = list(roots)
    while todo:
        current = todo.pop()
        for child in children.get(current, []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def update_categories(store: SandboxStore, payload: Any) -> tuple[int, dict[str, Any]]:
    if not isinstance(payload, list) or not payload:
        raise invalid({"body": "must be a non-empty list of categories"})
    problems: dict[str, str] = {}
    cleans = [_check(item, f"{i}.", problems, creating=False) for i, item in enumerate(payload)]
    if problems:
        raise invalid(problems)
    wanted = [clean["category_id"] for clean in cleans]
    if len(set(wanted)) != len(wanted):
        raise invalid({"body": "a category appears twice in the batch"})
    with transaction.atomic():
        rows = {
            row.object_id: row
            for row in _categories(store).filter(object_id__in=wanted).select_for_update()
        }
        for index, category_id in enumerate(wanted):
            if category_id not in rows:
                problems[f"{index}.category_id"] = f"Category {category_id} does not exist"
        parents = _placement(store, cleans, problems)
        for index, clean in enumerate(cleans):
            parent_id = clean.get("parent_id")
            if parent_id and (
                parent_id == clean["category_id"]
                or parent_id in _descendant_ids(store, {clean["category_id"]})
            ):
                problems[f"{index}.parent_id"] = "a category cannot move under itself"
        if problems:
            raise invalid(problems)
        failures: dict[str, str] = {}
        now = timezone.now().replace(microsecond=0)
        for index, clean in enumerate(cleans):
            row = rows[clean["category_id"]]
            row.data = {**row.data, **{k: clean[k] for k in (*_FIELDS, "url") if k in clean}}
            if "parent_id" in clean:
                row.parent_id = clean["parent_id"]
                parent = parents.get(clean["parent_id"])
                if parent is not None:
                    row.data["tree_id"] = parent.data["tree_id"]
            if "name" in clean:
                row.name = clean["name"]
            row.unique_name = sibling_key(row.data["tree_id"], row.parent_id or 0, row.name)
            row.date_modified = now
            if not _save_alone(row):
                failures[f"{index}.name"] = f"The category name {row.name!r} is already in use here"
        notify(
            store,
            CATEGORY,
            "updated",
            [c["category_id"] for i, c in enumerate(cleans) if f"{i}.name" not in failures],
        )
    return _outcome(None, failures, len(cleans), 200)


def delete_categories(store: SandboxStore, query: QueryDict) -> None:
    problems: dict[str, str] = {}
    qs = _categories(store)
    filtered = False
    for name, lookup in (("category_id:in", "object_id__in"), ("parent_id:in", "parent_id__in")):
        if name in query:
            qs = qs.filter(**{lookup: int_list(query[name], name, problems)})
            filtered = True
    if "tree_id:in" in query:
        trees = int_list(query["tree_id:in"], "tree_id:in", problems)
        qs = qs if set(trees) & set(TREES) else qs.none()
        filtered = True
    if problems:
        raise invalid(problems)
    if not filtered:
        raise invalid({"category_id:in": "A filter is required to delete categories"})
    with transaction.atomic():
        roots = set(qs.values_list("object_id", flat=True))
        # The platform removes a category's subcategories with it.
        gone = roots | _descendant_ids(store, roots)
        _categories(store).filter(object_id__in=gone).delete()
        notify(store, CATEGORY, "deleted", gone)


# --- reads ---------------------------------------------------------------------------------


def list_categories(
    store: SandboxStore, query: QueryDict
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    problems: dict[str, str] = {}
    qs = _categories(store)
    for name, lookup, exclude in (
        ("category_id:in", "object_id__in", False),
        ("category_id:not_in", "object_id__in", True),
        ("parent_id:in", "parent_id__in", False),
        ("parent_id:not_in", "parent_id__in", True),
    ):
        if name in query:
            values = {lookup: int_list(query[name], name, problems)}
            qs = qs.exclude(**values) if exclude else qs.filter(**values)
    if "tree_id:in" in query:
        trees = int_list(query["tree_id:in"], "tree_id:in", problems)
        if not set(trees) & set(TREES):
            qs = qs.none()
    if "name" in query:
        qs = qs.filter(name__iexact=query["name"])
    if "name:like" in query:
        qs = qs.filter(name__icontains=query["name:like"])
    if "is_visible" in query:
        wanted = query["is_visible"].lower() in ("1", "true")
        qs = qs.filter(data__is_visible=wanted)
    if problems:
        raise invalid(problems)
    rows, meta = page_of(qs, query, ["object_id"])
    return [category_json(row) for row in rows], meta


def list_trees(query: QueryDict) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    trees = list(TREES.values())
    return trees, pagination(len(trees), len(trees), 1, 50, query)


def category_tree(store: SandboxStore, tree_id: str, query: QueryDict) -> list[dict[str, Any]]:
    """The nested tree: each node with its depth, its path of ancestor ids and its children."""
    if not tree_id.isdigit() or int(tree_id) not in TREES:
        raise ApiError(404, "The tree was not found.")
    max_depth = query.get("depth")
    limit = int(max_depth) if max_depth and max_depth.isdigit() else None
    rows = list(_categories(store).order_by("data__sort_order", "object_id"))
    by_parent: dict[int, list[SandboxObject]] = {}
    for row in rows:
        by_parent.setdefault(row.parent_id or 0, []).append(row)

    def nodes(parent_id: int, depth: int, path: list[int]) -> list[dict[str, Any]]:
        if limit is not None and depth > limit:
            return []
        return [
            {
                "id": row.object_id,
                "parent_id": parent_id,
                "depth": depth,
                "path": [*path, row.object_id],
                "name": row.name,
                "is_visible": row.data.get("is_visible", True),
                "url": row.data.get("url", {}).get("path", ""),
                "children": nodes(row.object_id, depth + 1, [*path, row.object_id]),
            }
            for row in by_parent.get(parent_id, [])
        ]

    return nodes(0, 1, [])


def existing_ids(store: SandboxStore, ids: list[int]) -> set[int]:
    """Which of these category ids exist (products refuse unknown ones)."""
    valid = [i for i in ids if is_integer(i)]
    return set(_categories(store).filter(object_id__in=valid).values_list("object_id", flat=True))
