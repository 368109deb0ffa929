"""Blog posts (Store Content API v2 `blog/posts`): one per POST and PUT.

A post's natural key is its slug; its URL on the platform is /blog/<slug>/, which the list
filters by (`url`) and which is unique per store (a second post at one URL is refused, 409).
Lists are bare arrays, newest published first (the platform's only order), 204 when empty.
"""

from __future__ import annotations

from typing import Any

from apps.stores.connectors.base import (
    ConnectorError,
    Page,
    RecordInvalid,
)
from apps.stores.connectors.bigcommerce import changes
from apps.stores.connectors.bigcommerce.common import (
    MAX_PAGE,
    canonical_time,
    last_segment,
    numeric_ids,
    page_number,
    rfc2822,
    text,
)
from apps.stores.connectors.bigcommerce.single import OneByOneHandler

PATH = "v2/blog/posts"


def post_url(slug: str) -> str:
    return f"/blog/{slug}/"


class PostHandler(OneByOneHandler):
    path = PATH
    enveloped = False
    entity = "posts"
    max_write_batch = 10

    def count(self) -> int:
        body = self.api.v2_object(f"{PATH}/count")
        try:
            return int((body or {})["count"])
        except (KeyError, TypeError, ValueError):
            raise ConnectorError(f"GET {PATH}/count: the response has no count") from None

    def read_page(self, cursor: dict[str, Any] | None, page_size: int) -> Page:
        page = page_number(cursor)
        limit = max(1, min(page_size, MAX_PAGE))
        records = self.api.v2_list(PATH, {"page": page, "limit": limit})
        return Page(
            records=records,
            total=self.count() if page == 1 else None,
            next_cursor={"page": page + 1} if len(records) == limit else None,
        )

    def list_ids(self) -> list[str]:
        def page_ids(page: int) -> tuple[list[str], int | None]:
            posts = self.api.v2_list(PATH, {"page": page, "limit": MAX_PAGE})
            return [str(p["id"]) for p in posts], None  # v2 lists carry no total

        return changes.stable_ids(page_ids, self.count)

    def read_by_ids(self, ids: list[str]) -> list[dict[str, Any]]:
        # The v2 list has no id filter: posts are read one by one.
        found = (self.api.v2_object(f"{PATH}/{post_id}") for post_id in numeric_ids(ids))
        return [post for post in found if post is not None]

    def find(self, key: str) -> dict[str, Any] | None:
        url = post_url(key)
        matches = self.api.v2_list(PATH, {"url": url, "limit": 5})
        return next((post for post in matches if post.get("url") == url), None)

    def to_canonical(self, raw: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise RecordInvalid("the blog post is not a JSON object")
        label = f"blog post {raw.get('id', '?')}"
        slug = last_segment(raw.get("url"))
        if not slug:
            raise RecordInvalid(f"{label} has no URL")
        tags = raw.get("tags") or []
        if not isinstance(tags, list):
            raise RecordInvalid(f"{label}: tags is not a list")
        published = bool(raw.get("is_published"))
        when = raw.get("published_date_iso8601") or (raw.get("published_date") or {}).get("date")
        return {
            "slug": slug,
            "title": text(raw.get("title")),
            "body": text(raw.get("body")),
            "summary": text(raw.get("summary")),
            "author": text(raw.get("author")),
            "status": "published" if published else "draft",
            # A draft has a date on the platform too (when it was written): not a publication.
            "published_at": canonical_time(when, f"{label} published date") if published else None,
            "tags": sorted(str(tag) for tag in tags),
            "image_url": raw.get("thumbnail_path") or None,
        }

    def from_canonical(self, canonical: dict[str, Any]) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "title": canonical.get("title") or canonical["slug"],
            "url": post_url(canonical["slug"]),
            "body": canonical.get("body") or "",
            "summary": canonical.get("summary") or "",
            "author": canonical.get("author") or "",
            "tags": list(canonical.get("tags") or []),
            "is_published": canonical.get("status") == "published",
            "thumbnail_path": canonical.get("image_url") or "",
        }
        published = rfc2822(canonical.get("published_at"))
        if published:
            payload["published_date"] = published
        return payload
