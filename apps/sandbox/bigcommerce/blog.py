"""Blog posts (Store Content API v2 `blog/posts`), as SandboxObject rows.

resource "blog-post": name and unique_name hold the post's URL ("/blog/<slug>/"): filters use
the column and the unique constraint refuses a second post at one URL even when requests race
(409). `data` holds the rest. Lists are bare arrays sorted newest published first (the
platform's only order), 204 when empty. `published_date` is written as an RFC 2822 string and
read back as an object {date, timezone_type, timezone} plus `published_date_iso8601`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.text import slugify

from apps.sandbox.bigcommerce import errors as err
from apps.sandbox.bigcommerce.checks import Checker
from apps.sandbox.bigcommerce.errors import ApiError, not_found, v2_invalid
from apps.sandbox.bigcommerce.orders import v2_paging
from apps.sandbox.models import SandboxObject, SandboxStore

POST = "blog-post"
_TEXTS = (
    "title",
    "body",
    "summary",
    "author",
    "thumbnail_path",
    "meta_description",
    "meta_keywords",
)


def _posts(store: SandboxStore) -> QuerySet[SandboxObject]:
    return SandboxObject.objects.filter(store=store, resource=POST)


def _published(data: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(data["published_date"])


def post_json(row: SandboxObject) -> dict[str, Any]:
    data = row.data
    published = _published(data).astimezone(UTC)
    return {
        "id": row.object_id,
        "title": data.get("title", ""),
        "url": row.name,
        "preview_url": row.name,
        "body": data.get("body", ""),
        "tags": data.get("tags", []),
        "summary": data.get("summary", ""),
        "is_published": data.get("is_published", False),
        "published_date": {
            "date": published.strftime("%Y-%m-%d %H:%M:%S.000000"),
            "timezone_type": 1,
            "timezone": "+00:00",
        },
        "published_date_iso8601": published.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "meta_description": data.get("meta_description", ""),
        "meta_keywords": data.get("meta_keywords", ""),
        "author": data.get("author", ""),
        "thumbnail_path": data.get("thumbnail_path", ""),
    }


def _check(payload: Any, *, creating: bool) -> dict[str, Any]:
    problems: dict[str, str] = {}
    check = Checker(payload, problems)
    check.text("title", required=creating, min_length=1, max_length=255)
    check.text("body", required=creating)
    for name in _TEXTS[2:]:
        check.text(name)
    check.url_path("url")
    check.strings("tags")
    check.boolean("is_published")
    check.moment("published_date")
    if problems:
        raise v2_invalid(problems)
    return check.clean


def _save(row: SandboxObject) -> None:
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise ApiError(409, err.DUPLICATE_POST_URL, {"url": row.name}) from None


def _apply(row: SandboxObject, clean: dict[str, Any]) -> None:
    row.data = {
        **row.data,
        **{k: clean[k] for k in (*_TEXTS, "tags", "is_published") if k in clean},
    }
    if "published_date" in clean:
        row.data["published_date"] = clean["published_date"].astimezone(UTC).isoformat()
    if "url" in clean:
        row.name = row.unique_name = clean["url"]


def create_post(store: SandboxStore, payload: Any) -> dict[str, Any]:
    clean = _check(payload, creating=True)
    url = clean.get("url") or f"/blog/{slugify(clean['title']) or 'post'}/"
    if _posts(store).filter(unique_name=url).exists():
        raise ApiError(409, err.DUPLICATE_POST_URL, {"url": url})
    now = timezone.now().replace(microsecond=0)
    [post_id] = store.allocate_ids(1)
    row = SandboxObject(
        store=store,
        resource=POST,
        object_id=post_id,
        name=url,
        unique_name=url,
        # Posts are drafts unless published, and dated now unless given a date.
        data={"is_published": False, "tags": [], "published_date": now.isoformat()},
        date_created=now,
        date_modified=now,
    )
    _apply(row, {**clean, "url": url})
    _save(row)
    return post_json(row)


def _post(store: SandboxStore, post_id: int) -> SandboxObject:
    row = _posts(store).filter(object_id=post_id).first()
    if row is None:
        raise not_found()
    return row


def get_post(store: SandboxStore, post_id: int) -> dict[str, Any]:
    return post_json(_post(store, post_id))


def update_post(store: SandboxStore, post_id: int, payload: Any) -> dict[str, Any]:
    clean = _check(payload, creating=False)
    row = _post(store, post_id)
    if (
        "url" in clean
        and _posts(store).filter(unique_name=clean["url"]).exclude(pk=row.pk).exists()
    ):
        raise ApiError(409, err.DUPLICATE_POST_URL, {"url": clean["url"]})
    _apply(row, clean)
    row.date_modified = timezone.now().replace(microsecond=0)
    _save(row)
    return post_json(row)


def delete_post(store: SandboxStore, post_id: int) -> None:
    _post(store, post_id).delete()


def _filtered(store: SandboxStore, query: QueryDict) -> QuerySet[SandboxObject]:
    qs = _posts(store)
    if "url" in query:
        qs = qs.filter(unique_name=query["url"])
    if "is_published" in query:
        qs = qs.filter(data__is_published=query["is_published"].lower() in ("1", "true"))
    return qs


def list_posts(store: SandboxStore, query: QueryDict) -> list[dict[str, Any]]:
    page, limit = v2_paging(query)
    # Published dates are stored as UTC ISO strings of one format, so they sort as text.
    qs = _filtered(store, query).order_by("-data__published_date", "-object_id")
    if "tag" in query:
        # Tags live in a JSON list, which SQLite and PostgreSQL search differently: filter here.
        rows = [row for row in qs if query["tag"] in row.data.get("tags", [])]
        rows = rows[(page - 1) * limit : page * limit]
    else:
        rows = list(qs[(page - 1) * limit : page * limit])
    return [post_json(row) for row in rows]


def count_posts(store: SandboxStore) -> dict[str, int]:
    return {"count": _posts(store).count()}
