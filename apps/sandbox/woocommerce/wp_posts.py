"""wp/v2 posts of a WooCommerce sandbox (see wordpress.py for what is and is not emulated).

Rows: resource "post", `name` = raw title (search, orderby=title), `unique_name` = slug,
`parent_id` = author, `date_created` = the post's date (after / before use it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import F, Q, QuerySet
from django.db.models.functions import Lower
from django.utils.text import slugify

from apps.sandbox.models import SandboxObject, SandboxStore
from apps.sandbox.woocommerce import schema
from apps.sandbox.woocommerce.errors import WCError
from apps.sandbox.woocommerce.listing import ListSpec, id_list, parse_date, values
from apps.sandbox.woocommerce.records import wp_date
from apps.sandbox.woocommerce.resources import Change, Checked, Result
from apps.sandbox.woocommerce.store import IdPool
from apps.sandbox.woocommerce.wordpress import (
    MEDIA,
    POST,
    POST_STATUSES,
    TAG,
    UNCATEGORIZED,
    USER,
    UserStore,
    WPStore,
    autop,
    render_title,
)

POST_SPEC: dict[str, schema.FieldCheck] = {
    "date": schema.date,
    "date_gmt": schema.date,
    "slug": schema.STRING,
    "status": schema.enum(POST_STATUSES),
    "password": schema.STRING,
    "title": schema.raw_text,
    "content": schema.raw_text,
    "excerpt": schema.raw_text,
    "author": schema.INTEGER,
    "featured_media": schema.INTEGER,
    "comment_status": schema.enum(("open", "closed")),
    "ping_status": schema.enum(("open", "closed")),
    "format": schema.enum(
        ("standard", "aside", "chat", "gallery", "link", "image", "quote", "status", "video")
    ),
    "sticky": schema.BOOLEAN,
    "template": schema.STRING,
    "tags": schema.id_array,
    "categories": schema.id_array,
}
_EDIT_ONLY = ("password", "permalink_template", "generated_slug")


def _post_filters(params: Any, errors: dict[str, str]) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    statuses = values(params, "status") or ["publish"]
    allowed = (*POST_STATUSES, "trash", "any")
    if any(s not in allowed for s in statuses):
        errors["status"] = f"status[0] is not one of {', '.join(allowed)}."
    filters["statuses"] = statuses
    slugs = values(params, "slug")
    if slugs:
        filters["slugs"] = slugs
    authors = id_list(params, "author", errors)
    if authors:
        filters["authors"] = authors
    excluded = id_list(params, "author_exclude", errors)
    if excluded:
        filters["authors_excluded"] = excluded
    return filters


def _post_apply(qs: QuerySet, filters: dict[str, Any]) -> QuerySet:
    statuses = filters.get("statuses") or ["publish"]
    if "any" in statuses:
        qs = qs.exclude(data__status="trash")
    else:
        qs = qs.filter(data__status__in=statuses)
    if filters.get("slugs"):
        qs = qs.filter(unique_name__in=filters["slugs"])
    if filters.get("authors"):
        qs = qs.filter(parent_id__in=filters["authors"])
    if filters.get("authors_excluded"):
        qs = qs.exclude(parent_id__in=filters["authors_excluded"])
    return qs


POST_LIST = ListSpec(
    orderby=(
        "author",
        "date",
        "id",
        "include",
        "modified",
        "parent",
        "relevance",
        "slug",
        "include_slugs",
        "title",
    ),
    order_columns={
        "date": lambda: F("date_created"),
        "id": lambda: F("object_id"),
        "modified": lambda: F("date_modified"),
        "slug": lambda: F("unique_name"),
        "title": lambda: Lower("name"),
    },
    unsupported=("tags", "tags_exclude", "categories", "categories_exclude", "sticky"),
    search=lambda term: (
        Q(name__icontains=term)
        | Q(data__content__raw__icontains=term)
        | Q(data__excerpt__raw__icontains=term)
    ),
    parse=_post_filters,
    apply=_post_apply,
)


def _moment(value: str | None) -> datetime | None:
    return parse_date(value) if value else None


class PostStore(WPStore):
    resource = POST
    spec = POST_SPEC
    rest_base = "posts"

    def __init__(self, sandbox: SandboxStore, now: datetime | None = None) -> None:
        super().__init__(sandbox, now)
        self.users = UserStore(sandbox, self.now)

    def invalid_id(self, status: int = 404) -> WCError:
        return WCError("rest_post_invalid_id", "Invalid post ID.", status)

    def exists_error(self) -> WCError:
        return WCError("rest_post_exists", "Cannot create existing post.", 400)

    def _existing_ids(self, resource: str, ids: set[int]) -> set[int]:
        if not ids:
            return set()
        rows = SandboxObject.objects.filter(store=self.sandbox, resource=resource)
        return set(rows.filter(object_id__in=ids).values_list("object_id", flat=True))

    def _check(
        self,
        checked: Checked,
        results: list[Result | None],
        own_slugs: dict[int, str] | None = None,
    ) -> Checked:
        """Checks of creates (own_slugs None) or updates (index → the post's current slug)."""
        creating = own_slugs is None
        own_slugs = own_slugs or {}
        authors = self._existing_ids(USER, {f["author"] for _, f in checked if f.get("author")})
        media = self._existing_ids(
            MEDIA, {f["featured_media"] for _, f in checked if f.get("featured_media")}
        )
        tags = self._existing_ids(TAG, {t for _, f in checked for t in f.get("tags") or []})
        slugs = set(self.objects().exclude(unique_name=None).values_list("unique_name", flat=True))
        kept: Checked = []
        for index, fields in checked:
            if creating and not any(fields.get(k) for k in ("title", "content", "excerpt")):
                results[index] = WCError(
                    "empty_content", "Content, title, and excerpt are empty.", 400
                )
                continue
            if fields.get("author") and fields["author"] not in authors:
                results[index] = WCError("rest_invalid_author", "Invalid author ID.", 400)
                continue
            if fields.get("featured_media") and fields["featured_media"] not in media:
                results[index] = WCError(
                    "rest_invalid_featured_media", "Invalid featured media ID.", 400
                )
                continue
            if "tags" in fields:
                # wp_set_object_terms() skips ids that are not terms.
                fields["tags"] = [t for t in dict.fromkeys(fields["tags"]) if t in tags]
            wanted = fields.get("slug") or (fields.get("title") if creating else "")
            base = slugify(wanted or "", allow_unicode=True)
            if base:
                # wp_unique_post_slug(): -2, -3 … (a post keeps its own slug).
                slug, number = base, 1
                while slug in slugs and slug != own_slugs.get(index):
                    number += 1
                    slug = f"{base}-{number}"
                fields["slug"] = slug
                slugs.add(slug)
            else:
                fields.pop("slug", None)
            kept.append((index, fields))
        return kept

    def check_creates(self, checked: Checked, results: list[Result | None]) -> Checked:
        if any(not f.get("author") for _, f in checked):
            admin = self.users.admin()["id"]
            for _, fields in checked:
                fields.setdefault("author", admin)
        return self._check(checked, results)

    def check_updates(
        self, checked: Checked, rows: dict[int, SandboxObject], results: list[Result | None]
    ) -> Checked:
        return self._check(checked, results, {i: rows[i].data["slug"] for i, _ in checked})

    def conflict(self, row: SandboxObject) -> WCError:
        # Another request took the slug between our check and our write; a retry picks anew.
        return WCError("db_insert_error", "Could not insert post into the database.", 500)

    def build(self, object_id: int, fields: dict[str, Any], pool: IdPool) -> dict[str, Any]:
        stamp = wp_date(self.now)
        data: dict[str, Any] = {
            "id": object_id,
            "date": stamp,
            "date_gmt": None,
            "guid": {"rendered": f"{self.site.store_url}/?p={object_id}", "raw": ""},
            "modified": stamp,
            "modified_gmt": stamp,
            "password": "",
            "slug": str(object_id),
            "status": "draft",
            "type": "post",
            "link": "",
            "title": {"raw": "", "rendered": ""},
            "content": {"raw": "", "rendered": "", "protected": False, "block_version": 0},
            "excerpt": {"raw": "", "rendered": "", "protected": False},
            "author": 0,
            "featured_media": 0,
            "comment_status": "open",
            "ping_status": "open",
            "sticky": False,
            "template": "",
            "format": "standard",
            "meta": {"footnotes": ""},
            "categories": [UNCATEGORIZED["id"]],
            "tags": [],
        }
        data["guid"]["raw"] = data["guid"]["rendered"]
        return self.change(data, fields, pool)

    def change(
        self, current: dict[str, Any], fields: dict[str, Any], pool: IdPool
    ) -> dict[str, Any]:
        data = {key: (dict(v) if isinstance(v, dict) else v) for key, v in current.items()}
        for name, value in fields.items():
            if name == "title":
                data["title"] = {"raw": value, "rendered": render_title(value)}
            elif name in ("content", "excerpt"):
                data[name]["raw"], data[name]["rendered"] = value, autop(value)
            elif name in ("date", "date_gmt"):
                moment = _moment(value)
                data["date"] = wp_date(moment) if moment else data["date"]
                data["date_gmt"] = wp_date(moment) if moment else None
            elif name == "categories":
                data[name] = value or [UNCATEGORIZED["id"]]
            else:
                data[name] = value
        stamp = wp_date(self.now)
        if data["status"] in ("publish", "future", "private") and data["date_gmt"] is None:
            data["date_gmt"] = data["date"]
        data["modified"] = data["modified_gmt"] = stamp
        data["generated_slug"] = data["slug"]
        data["permalink_template"] = f"{self.site.store_url}/%postname%/"
        published = data["status"] == "publish"
        data["link"] = (
            f"{self.site.store_url}/{data['slug']}/"
            if published
            else f"{self.site.store_url}/?p={data['id']}"
        )
        links = self.links(data["id"])
        api = f"{self.site.store_url}/wp-json/wp/v2"
        links["author"] = [{"embeddable": True, "href": f"{api}/users/{data['author']}"}]
        links["wp:term"] = [
            {
                "taxonomy": "category",
                "embeddable": True,
                "href": f"{api}/categories?post={data['id']}",
            },
            {"taxonomy": "post_tag", "embeddable": True, "href": f"{api}/tags?post={data['id']}"},
        ]
        if data["featured_media"]:
            links["wp:featuredmedia"] = [
                {"embeddable": True, "href": f"{api}/media/{data['featured_media']}"}
            ]
        data["_links"] = links
        return data

    def columns(self, data: dict[str, Any]) -> dict[str, Any]:
        created = _moment(data["date_gmt"] or data["date"])
        columns: dict[str, Any] = {
            "name": data["title"]["raw"][:500],
            "unique_name": data["slug"],
            "parent_id": data["author"],
        }
        if created is not None:
            columns["date_created"] = created
        return columns

    def after_write(self, changes: list[Change]) -> None:
        deltas: dict[int, int] = {}
        for old, new in changes:
            for data, sign in ((old, -1), (new, 1)):
                if data and data["status"] == "publish":
                    for tag in data.get("tags") or []:
                        deltas[tag] = deltas.get(tag, 0) + sign
        deltas = {tag: delta for tag, delta in deltas.items() if delta}
        if not deltas:
            return
        rows = list(
            SandboxObject.objects.filter(store=self.sandbox, resource=TAG, object_id__in=deltas)
        )
        for row in rows:
            row.data = {**row.data, "count": max(0, row.data["count"] + deltas[row.object_id])}
        SandboxObject.objects.bulk_update(rows, ["data"])

    def view(self, data: dict[str, Any], context: str = "view") -> dict[str, Any]:
        if context == "edit":
            return data
        shown = {key: value for key, value in data.items() if key not in _EDIT_ONLY}
        shown["guid"] = {"rendered": data["guid"]["rendered"]}
        shown["title"] = {"rendered": data["title"]["rendered"]}
        shown["content"] = {"rendered": data["content"]["rendered"], "protected": False}
        shown["excerpt"] = {"rendered": data["excerpt"]["rendered"], "protected": False}
        return shown

    def embed(self, posts: list[dict[str, Any]]) -> None:
        """Add `_embedded` (author, wp:term, wp:featuredmedia) as `_embed` asks, with one
        query per kind for the whole page."""

        def load(resource: str, ids: set[int]) -> dict[int, dict[str, Any]]:
            if not ids:
                return {}
            rows = SandboxObject.objects.filter(
                store=self.sandbox, resource=resource, object_id__in=ids
            ).values_list("object_id", "data")
            return dict(rows)

        users = load(USER, {p["author"] for p in posts})
        tags = load(TAG, {t for p in posts for t in p.get("tags") or []})
        media = load(MEDIA, {p["featured_media"] for p in posts if p.get("featured_media")})
        for post in posts:
            embedded: dict[str, Any] = {}
            if post["author"] in users:
                embedded["author"] = [self.users.view(users[post["author"]])]
            embedded["wp:term"] = [
                [UNCATEGORIZED],
                [
                    {k: tags[t][k] for k in ("id", "link", "name", "slug", "taxonomy")}
                    for t in post.get("tags") or []
                    if t in tags
                ],
            ]
            if post.get("featured_media") in media:
                embedded["wp:featuredmedia"] = [media[post["featured_media"]]]
            post["_embedded"] = embedded

    # --- deletes: posts have a trash -----------------------------------------------------------

    def delete(self, raw_ids: list[Any], *, force: bool = True) -> list[Result]:
        if force:
            results = super().delete(raw_ids, force=True)
            return [
                r if isinstance(r, WCError) else {"deleted": True, "previous": self.view(r)}
                for r in results
            ]
        results: list[Result] = []
        for raw in raw_ids:
            object_id = schema.check_id(raw)
            row = self.objects().filter(object_id=object_id).first() if object_id else None
            if row is None:
                results.append(self.invalid_id())
            elif row.data["status"] == "trash":
                results.append(
                    WCError("rest_already_trashed", "The post has already been deleted.", 410)
                )
            else:
                results.append(self._trash(row))
        return results

    def _trash(self, row: SandboxObject) -> dict[str, Any]:
        before = row.data
        row.data = self.change(row.data, {"status": "trash"}, IdPool(self.sandbox, 0))
        row.date_modified = self.now
        self.save([row])
        self.after_write([(before, row.data)])
        return self.view(row.data, "edit")


def invalid_status_for_guests() -> WCError:
    return WCError("rest_forbidden_status", "Status is forbidden.", 401)


def forbidden_context() -> WCError:
    return WCError(
        "rest_forbidden_context", "Sorry, you are not allowed to edit posts in this post type.", 401
    )
