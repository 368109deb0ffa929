"""WordPress wp/v2 beside the shop: posts (wp_posts.py), tags, users (authors) and media (read
only).

Posts are WordPress, not WooCommerce, but live in the same site, so a WooCommerce sandbox
answers them too, under /sandbox/<slug>/wp-json/wp/v2/. Records are kept in the edit context
(with `raw` title, content and excerpt); the view context drops what WordPress drops.

Rows:
- "post": `name` = raw title (search, orderby=title), `unique_name` = slug, `parent_id` = author.
- "tag": `name` = name, `unique_name` = slug.
- "user": `name` = display name, `unique_name` = lower-cased username.
- "media": seeded by the demo only (the sandbox does not take uploads).

Rendering is a light stand-in for WordPress's filters: text not starting with a tag is wrapped
in <p>…</p> (wpautop), a bare & in a title becomes &#038; (convert_chars); both are idempotent,
so rendered HTML written back renders the same. Not emulated: post categories (every post is in
Uncategorized), revisions, comments, passwords, sticky handling, block parsing, `future`
scheduling. Unlike WordPress, a draft gets its slug at once (WordPress leaves post_name empty
until publishing and offers generated_slug, which the sandbox also answers in edit context).
"""

from __future__ import annotations

import hashlib
import re
from html import unescape
from typing import Any

from django.db.models import F, Q, QuerySet
from django.db.models.functions import Lower
from django.utils.text import slugify

from apps.sandbox.models import SandboxObject
from apps.sandbox.woocommerce import schema
from apps.sandbox.woocommerce.errors import WCError
from apps.sandbox.woocommerce.listing import ListSpec, values
from apps.sandbox.woocommerce.listing import boolean as bool_param
from apps.sandbox.woocommerce.records import specialchars, wp_date
from apps.sandbox.woocommerce.resources import (
    Change,
    Checked,
    ResourceStore,
    Result,
    missing_params,
)
from apps.sandbox.woocommerce.store import IdPool

POST, TAG, USER, MEDIA = "post", "tag", "user", "media"
POST_STATUSES = ("publish", "future", "draft", "pending", "private")
UNCATEGORIZED = {"id": 1, "name": "Uncategorized", "slug": "uncategorized", "taxonomy": "category"}
_ENTITY = re.compile(r"&(?!#\d+;|#x[0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)")


def autop(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    return f"{text}\n" if text.startswith("<") else f"<p>{text}</p>\n"


def render_title(text: str) -> str:
    return _ENTITY.sub("&#038;", text.strip())


class WPStore(ResourceStore):
    api = "wp/v2"

    def view(self, data: dict[str, Any], context: str = "view") -> dict[str, Any]:
        return data


# --- users -----------------------------------------------------------------------------------

USER_SPEC: dict[str, schema.FieldCheck] = {
    "username": schema.STRING,
    "name": schema.STRING,
    "first_name": schema.STRING,
    "last_name": schema.STRING,
    "email": schema.email,
    "url": schema.STRING,
    "description": schema.STRING,
    "locale": schema.STRING,
    "nickname": schema.STRING,
    "slug": schema.STRING,
    "roles": schema.string_array,
    "password": schema.STRING,
}
_VIEW_USER = ("id", "name", "url", "description", "link", "slug", "avatar_urls", "meta", "_links")


def _user_filters(params: Any, errors: dict[str, str]) -> dict[str, Any]:
    slugs = values(params, "slug")
    return {"slugs": slugs} if slugs else {}


def _user_apply(qs: QuerySet, filters: dict[str, Any]) -> QuerySet:
    if filters.get("slugs"):
        qs = qs.filter(data__slug__in=filters["slugs"])
    return qs


USER_LIST = ListSpec(
    orderby=("id", "include", "name", "registered_date", "slug", "include_slugs", "email", "url"),
    default_orderby="name",
    default_order="asc",
    order_columns={
        "id": lambda: F("object_id"),
        "name": lambda: Lower("name"),
        "registered_date": lambda: F("date_created"),
    },
    dates=False,
    unsupported=("roles", "capabilities", "who", "has_published_posts"),
    search=lambda term: Q(name__icontains=term) | Q(unique_name__icontains=term),
    parse=_user_filters,
    apply=_user_apply,
)


class UserStore(WPStore):
    resource = USER
    spec = USER_SPEC
    rest_base = "users"

    def invalid_id(self, status: int = 404) -> WCError:
        return WCError("rest_user_invalid_id", "Invalid user ID.", status)

    def exists_error(self) -> WCError:
        return WCError("rest_user_exists", "Cannot create existing user.", 400)

    def check_creates(self, checked: Checked, results: list[Result | None]) -> Checked:
        kept: Checked = []
        logins = {f.get("username", "").lower() for _, f in checked}
        emails = {f.get("email", "").lower() for _, f in checked}
        taken_logins = set(
            self.objects().filter(unique_name__in=logins).values_list("unique_name", flat=True)
        )
        taken_emails = {
            str(e).lower()
            for e in self.objects()
            .filter(data__email__in=[e for e in emails if e])
            .values_list("data__email", flat=True)
        }
        for index, fields in checked:
            missing = [n for n in ("username", "email", "password") if not fields.get(n)]
            login = fields.get("username", "").strip()
            if missing:
                results[index] = missing_params(*missing)
            elif not re.fullmatch(r"[A-Za-z0-9 _.\-@]+", login):
                results[index] = WCError(
                    "rest_user_invalid_username",
                    "This username is invalid because it uses illegal characters. "
                    "Please enter a valid username.",
                )
            elif login.lower() in taken_logins:
                results[index] = WCError(
                    "existing_user_login", "Sorry, that username already exists!"
                )
            elif fields["email"].lower() in taken_emails:
                results[index] = WCError(
                    "existing_user_email", "Sorry, that email address is already used!"
                )
            else:
                taken_logins.add(login.lower())
                taken_emails.add(fields["email"].lower())
                fields["username"] = login
                kept.append((index, fields))
        return kept

    def conflict(self, row: SandboxObject) -> WCError:
        return WCError("existing_user_login", "Sorry, that username already exists!")

    def build(self, object_id: int, fields: dict[str, Any], pool: IdPool) -> dict[str, Any]:
        login = fields["username"]
        data: dict[str, Any] = {
            "id": object_id,
            "username": login,
            "name": login,
            "first_name": "",
            "last_name": "",
            "email": "",
            "url": "",
            "description": "",
            "link": "",
            "locale": "en_US",
            "nickname": login,
            "slug": slugify(login) or str(object_id),
            "roles": ["subscriber"],
            "registered_date": wp_date(self.now) + "+00:00",
            "capabilities": {},
            "extra_capabilities": {},
            "avatar_urls": {},
            "meta": [],
        }
        return self.change(data, fields, pool)

    def change(
        self, current: dict[str, Any], fields: dict[str, Any], pool: IdPool
    ) -> dict[str, Any]:
        data = dict(current)
        for name, value in fields.items():
            if name not in ("password", "username"):
                data[name] = value
        data["link"] = f"{self.site.store_url}/author/{data['slug']}/"
        digest = hashlib.md5(data["email"].lower().encode(), usedforsecurity=False).hexdigest()
        data["avatar_urls"] = {
            size: f"https://secure.gravatar.com/avatar/{digest}?s={size}&d=mm&r=g"
            for size in ("24", "48", "96")
        }
        data["_links"] = self.links(data["id"])
        return data

    def columns(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"name": data["name"][:500], "unique_name": data["username"].lower()}

    def view(self, data: dict[str, Any], context: str = "view") -> dict[str, Any]:
        if context == "edit":
            return data
        return {key: data[key] for key in _VIEW_USER if key in data}

    def admin(self) -> dict[str, Any]:
        """The site's administrator: whom the API credentials act as (created on first use)."""
        found = self.objects().filter(unique_name="admin").values_list("data", flat=True).first()
        if found is not None:
            return found
        created = self.create(
            [
                {
                    "username": "admin",
                    "name": "Site Admin",
                    "email": f"admin@{self.sandbox.slug}.example",
                    "password": "-",
                    "roles": ["administrator"],
                }
            ]
        )[0]
        if isinstance(created, WCError):  # another request created it first
            return self.objects().filter(unique_name="admin").values_list("data", flat=True)[0]
        return created


# --- tags --------------------------------------------------------------------------------------

TAG_SPEC: dict[str, schema.FieldCheck] = {
    "name": schema.STRING,
    "slug": schema.STRING,
    "description": schema.STRING,
}


def _tag_filters(params: Any, errors: dict[str, str]) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    slugs = values(params, "slug")
    if slugs:
        filters["slugs"] = slugs
    if bool_param(params, "hide_empty", errors):
        filters["hide_empty"] = True
    return filters


def _tag_apply(qs: QuerySet, filters: dict[str, Any]) -> QuerySet:
    if filters.get("slugs"):
        qs = qs.filter(unique_name__in=filters["slugs"])
    if filters.get("hide_empty"):
        qs = qs.filter(data__count__gt=0)
    return qs


TAG_LIST = ListSpec(
    orderby=(
        "id",
        "include",
        "name",
        "slug",
        "include_slugs",
        "term_group",
        "description",
        "count",
    ),
    default_orderby="name",
    default_order="asc",
    order_columns={
        "id": lambda: F("object_id"),
        "name": lambda: Lower("name"),
        "slug": lambda: F("unique_name"),
    },
    dates=False,
    unsupported=("post",),
    search=lambda term: Q(name__icontains=term) | Q(unique_name__icontains=term),
    parse=_tag_filters,
    apply=_tag_apply,
)


class TagStore(WPStore):
    resource = TAG
    spec = TAG_SPEC
    rest_base = "tags"

    def invalid_id(self, status: int = 404) -> WCError:
        return WCError("rest_term_invalid", "Term does not exist.", status)

    def exists_error(self) -> WCError:
        return WCError("rest_term_exists", "Cannot create existing term.", 400)

    def _existing(self) -> tuple[dict[str, int], dict[str, int]]:
        rows = self.objects().values_list("object_id", "name", "unique_name")
        return {n.lower(): i for i, n, _ in rows}, {s: i for i, _, s in rows}

    def check_creates(self, checked: Checked, results: list[Result | None]) -> Checked:
        names, slugs = self._existing()
        first: dict[str, int] = {}
        kept: Checked = []
        for index, fields in checked:
            name = specialchars((fields.get("name") or "").strip())
            if "name" not in fields:
                results[index] = missing_params("name")
            elif not name:
                results[index] = WCError("empty_term_name", "A name is required for this term.")
            elif name.lower() in names:
                results[index] = tag_exists(names[name.lower()])
            elif name.lower() in first:
                self.pending[index] = first[name.lower()]
            else:
                first[name.lower()] = index
                base = slugify(fields.get("slug") or unescape(name), allow_unicode=True) or "tag"
                slug, number = base, 1
                while slug in slugs:
                    number += 1
                    slug = f"{base}-{number}"
                slugs[slug] = 0
                fields.update(name=name, slug=slug)
                kept.append((index, fields))
        return kept

    def duplicate_of(self, first: Result) -> WCError:
        return tag_exists(first["id"] if isinstance(first, dict) else None)

    def check_updates(
        self, checked: Checked, rows: dict[int, SandboxObject], results: list[Result | None]
    ) -> Checked:
        _, slugs = self._existing()
        kept: Checked = []
        for index, fields in checked:
            if fields.get("slug"):
                slug = slugify(fields["slug"], allow_unicode=True)
                if slugs.get(slug, rows[index].object_id) != rows[index].object_id:
                    results[index] = WCError(
                        "duplicate_term_slug",
                        f"The slug \u201c{slug}\u201d is already in use by another term.",
                    )
                    continue
                fields["slug"] = slug
            kept.append((index, fields))
        return kept

    def conflict(self, row: SandboxObject) -> WCError:
        holder = self.objects().filter(unique_name=row.unique_name)
        return tag_exists(holder.values_list("object_id", flat=True).first())

    def refuse_delete(self, data: dict[str, Any], force: bool) -> WCError | None:
        if force:
            return None
        return WCError(
            "rest_trash_not_supported",
            "Terms do not support trashing. Set 'force' to true to delete.",
            501,
        )

    def deleted(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"deleted": True, "previous": data}

    def build(self, object_id: int, fields: dict[str, Any], pool: IdPool) -> dict[str, Any]:
        data = {
            "id": object_id,
            "count": 0,
            "description": "",
            "link": "",
            "name": "",
            "slug": "",
            "taxonomy": "post_tag",
            "meta": [],
        }
        return self.change(data, fields, pool)

    def change(
        self, current: dict[str, Any], fields: dict[str, Any], pool: IdPool
    ) -> dict[str, Any]:
        data = {**current, **fields}
        data["name"] = specialchars(data["name"].strip())
        data["link"] = f"{self.site.store_url}/tag/{data['slug']}/"
        data["_links"] = self.links(data["id"])
        return data

    def columns(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"name": data["name"][:500], "unique_name": data["slug"]}

    def after_write(self, changes: list[Change]) -> None:
        gone = {old["id"] for old, new in changes if new is None and old is not None}
        if not gone:
            return
        # Posts lose a deleted tag (and their modified date stays, as in WordPress).
        rows = []
        for row in SandboxObject.objects.filter(store=self.sandbox, resource=POST):
            if gone & set(row.data.get("tags") or []):
                row.data = {**row.data, "tags": [t for t in row.data["tags"] if t not in gone]}
                rows.append(row)
        if rows:
            SandboxObject.objects.bulk_update(rows, ["data"])


def tag_exists(holder: int | None) -> WCError:
    data = {"term_id": holder} if holder is not None else {}
    return WCError(
        "term_exists", "A term with the name provided already exists in this taxonomy.", **data
    )


# --- media (read only) -----------------------------------------------------------------------

MEDIA_LIST = ListSpec(
    order_columns={
        "date": lambda: F("date_created"),
        "id": lambda: F("object_id"),
        "modified": lambda: F("date_modified"),
    },
)


class MediaStore(WPStore):
    resource = MEDIA
    rest_base = "media"

    def invalid_id(self, status: int = 404) -> WCError:
        return WCError("rest_post_invalid_id", "Invalid post ID.", status)

    def seed(self, images: list[dict[str, str]], author: int) -> list[dict[str, Any]]:
        """Attachments for the given {src, alt, title} (what an upload would have made)."""
        pool = IdPool(self.sandbox, len(images))
        stamp = wp_date(self.now)
        rows = []
        for image in images:
            object_id = pool.take()
            slug = slugify(image.get("title") or f"image-{object_id}")
            data = {
                "id": object_id,
                "date": stamp,
                "date_gmt": stamp,
                "guid": {"rendered": image["src"]},
                "modified": stamp,
                "modified_gmt": stamp,
                "slug": slug,
                "status": "inherit",
                "type": "attachment",
                "link": f"{self.site.store_url}/{slug}/",
                "title": {"rendered": render_title(image.get("title") or slug)},
                "author": author,
                "caption": {"rendered": ""},
                "alt_text": image.get("alt", ""),
                "media_type": "image",
                "mime_type": "image/jpeg",
                "media_details": {},
                "post": None,
                "source_url": image["src"],
                "_links": self.links(object_id),
            }
            rows.append(self.row(data))
        SandboxObject.objects.bulk_create(rows)
        return [row.data for row in rows]
