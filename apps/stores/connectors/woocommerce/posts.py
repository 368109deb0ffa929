"""Blog posts: WordPress's wp/v2 beside the shop, read with `context=edit&_embed` so a post
arrives with its author's name, its tags' names and its featured image.

Mapping (canonical ← WordPress): slug (or generated_slug for a draft WordPress has not given
one yet), title = title.rendered HTML-unescaped, body = content.rendered, summary =
excerpt.rendered, author = the embedded author's name, status "publish" → "published" and
everything else → "draft", published_at = date_gmt of a published post, tags = the embedded
post_tag names (unescaped, sorted), image_url = the embedded featured media's source_url.

Writes go one post a request (wp/v2 has no batch endpoint of its own). Tags are named on the
way in: missing ones are created (`term_exists` answers the holder's id). An author is a
WordPress user: one with the author's name is used, or created with the role author, an
address under the reserved .invalid domain and a random password nobody keeps. Not written: the
featured image (WordPress takes media as uploads, not URLs), so a post written here reads back
without one.
"""

from __future__ import annotations

import html
import re
import secrets
import unicodedata
from typing import Any

import httpx

from apps.stores.connectors.base import ConnectorError, RecordInvalid, WriteItem, WriteResult
from apps.stores.connectors.http import HttpClient
from apps.stores.connectors.woocommerce.common import (
    BATCH_LIMIT,
    chunks,
    failed,
    header_int,
    item_failed,
    mapping,
    record,
    response_error,
    text,
    utc,
    wp_gmt,
)

POST_BATCH = 10  # posts written per create/update call (one request each)
READ_PARAMS = {"context": "edit", "_embed": "1", "status": "any"}


# --- mapping -----------------------------------------------------------------------------------


def _embedded(raw: dict[str, Any], who: str) -> dict[str, Any]:
    embedded = raw.get("_embedded")
    if embedded is None:
        if raw.get("tags") or raw.get("author"):
            raise RecordInvalid(f"{who}: read without _embed (author and tags need it)")
        return {}
    if not isinstance(embedded, dict):
        raise RecordInvalid(f"{who}: _embedded is not an object")
    return embedded


def _rendered(raw: dict[str, Any], field: str, who: str) -> str:
    return text(mapping(raw, field, who), "rendered", f"{who}, {field}")


def post_to_canonical(raw: Any) -> dict[str, Any]:
    raw = record(raw, "post")
    who = f"post {raw.get('id', '?')}"
    embedded = _embedded(raw, who)
    authors = [a for a in embedded.get("author") or [] if isinstance(a, dict)]
    tags: list[str] = []
    for group in embedded.get("wp:term") or []:
        for term in group if isinstance(group, list) else []:
            if isinstance(term, dict) and term.get("taxonomy") == "post_tag":
                tags.append(html.unescape(text(term, "name", who)))
    media = [m for m in embedded.get("wp:featuredmedia") or [] if isinstance(m, dict)]
    published = raw.get("status") == "publish"
    slug = text(raw, "slug", who) or text(raw, "generated_slug", who)
    return {
        "slug": slug,
        "title": html.unescape(_rendered(raw, "title", who)),
        "body": _rendered(raw, "content", who),
        "summary": _rendered(raw, "excerpt", who),
        "author": text(authors[0], "name", who) if authors else "",
        "status": "published" if published else "draft",
        "published_at": utc(raw.get("date_gmt"), "date_gmt", who) if published else None,
        "tags": sorted(tags),
        "image_url": (text(media[0], "source_url", who) or None) if media else None,
    }


def post_from_canonical(canonical: dict[str, Any]) -> dict[str, Any]:
    """The canonical post → a wp/v2 payload, except that `tag_names` and `author_name` are
    names: the connector turns them into ids when it writes."""
    payload: dict[str, Any] = {
        "slug": canonical.get("slug") or "",
        "title": canonical.get("title") or "",
        "content": canonical.get("body") or "",
        "excerpt": canonical.get("summary") or "",
        "status": "publish" if canonical.get("status") == "published" else "draft",
        "tag_names": sorted(canonical.get("tags") or []),
        "author_name": canonical.get("author") or "",
    }
    if canonical.get("published_at"):
        payload["date_gmt"] = wp_gmt(canonical["published_at"])
    return payload


# --- reads and writes ----------------------------------------------------------------------


class PostsMixin:
    """The wp/v2 half of WooCommerceConnector (needs `self._wp`, an HttpClient on wp/v2)."""

    _wp: HttpClient
    _tag_cache: dict[str, int] | None = None
    _author_cache: dict[str, int] | None = None

    def _wp_list(self, path: str, params: dict[str, Any]) -> tuple[list[dict], httpx.Response]:
        body, response = self._wp.json("GET", path, params=params)
        if not isinstance(body, list):
            raise ConnectorError(f"GET {path}: expected a JSON list")
        return body, response

    def _wp_all(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            paging = {"per_page": BATCH_LIMIT, "page": page, "orderby": "id", "order": "asc"}
            batch, response = self._wp_list(path, {**params, **paging})
            found.extend(batch)
            if page >= (header_int(response, "X-WP-TotalPages") or 1) or not batch:
                return found
            page += 1

    def _posts_by_ids(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        numeric = [i for i in ids if str(i).isdigit()]
        for chunk in chunks(numeric, BATCH_LIMIT):
            params = {**READ_PARAMS, "include": ",".join(chunk), "per_page": BATCH_LIMIT}
            posts, _ = self._wp_list("posts", params)
            found.update({str(p["id"]): p for p in posts})
        return found

    def _find_post(self, slug: str) -> dict[str, Any] | None:
        if not slug:
            return None
        params = {**READ_PARAMS, "slug": slug, "orderby": "id", "order": "asc"}
        posts, _ = self._wp_list("posts", params)
        return next((p for p in posts if p.get("slug") == slug), None)

    # --- names → ids ---------------------------------------------------------------------

    def _tag_ids(self, names: list[str]) -> list[int]:
        if self._tag_cache is None:
            self._tag_cache = {
                html.unescape(str(t.get("name", ""))).lower(): t["id"]
                for t in self._wp_all("tags", {"context": "edit"})
            }
        ids = []
        for name in names:
            key = name.lower()
            if key not in self._tag_cache:
                response = self._wp.request("POST", "tags", json={"name": name})
                body = _json(response)
                if response.status_code < 300:
                    self._tag_cache[key] = body["id"]
                elif body.get("code") == "term_exists" and (body.get("data") or {}).get("term_id"):
                    self._tag_cache[key] = body["data"]["term_id"]  # created meanwhile
                else:
                    raise ConnectorError(
                        f"tag {name!r}: {body.get('message') or response.reason_phrase}",
                        status=response.status_code,
                    )
            ids.append(self._tag_cache[key])
        return ids

    def _author_id(self, name: str) -> int:
        if self._author_cache is None:
            self._author_cache = {}
            for user in self._wp_all("users", {"context": "edit"}):
                self._author_cache.setdefault(str(user.get("name", "")), user["id"])
        if name in self._author_cache:
            return self._author_cache[name]
        base = _login(name)
        for attempt in range(1, 6):
            login = base if attempt == 1 else f"{base}{attempt}"
            response = self._wp.request(
                "POST",
                "users",
                json={
                    "username": login,
                    "name": name,
                    "email": f"{login}@authors.invalid",
                    "password": secrets.token_urlsafe(24),
                    "roles": ["author"],
                },
            )
            body = _json(response)
            if response.status_code < 300:
                self._author_cache[name] = body["id"]
                return body["id"]
            if body.get("code") not in ("existing_user_login", "existing_user_email"):
                break
        raise ConnectorError(
            f"author {name!r}: {body.get('message') or response.reason_phrase}",
            status=response.status_code,
        )

    # --- writes --------------------------------------------------------------------------

    def _write_posts(self, op: str, items: list[WriteItem]) -> list[WriteResult]:
        results: dict[int, WriteResult] = {}
        written: dict[int, str] = {}
        sent_any = False
        for index, item in enumerate(items):
            payload = dict(item.payload)
            tag_names = payload.pop("tag_names", None)
            author = payload.pop("author_name", "")
            if op == "update" and not str(item.target_id or "").isdigit():
                results[index] = WriteResult(
                    item.ref, ok=False, error=f"target id {item.target_id!r} is not a post id"
                )
                continue
            try:
                if tag_names is not None:
                    payload["tags"] = self._tag_ids(tag_names)
                if author:
                    payload["author"] = self._author_id(author)
                path = "posts" if op == "create" else f"posts/{int(item.target_id)}"
                response = self._wp.request("POST", path, json=payload)
            except ConnectorError as exc:
                if not sent_any:
                    raise
                results[index] = failed(item.ref, exc)
                continue
            sent_any = True
            if response.status_code >= 400:
                results[index] = item_failed(item.ref, response_error(response))
            else:
                written[index] = str(_json(response).get("id"))
        # Read what was written back with its embeds, so the record hashes as a read would.
        records = self._posts_by_ids(list(written.values())) if written else {}
        for index, post_id in written.items():
            results[index] = WriteResult(
                items[index].ref, ok=True, target_id=post_id, record=records.get(post_id)
            )
        return [results[i] for i in range(len(items))]

    def _delete_posts(self, ids: list[str]) -> list[WriteResult]:
        results = []
        for post_id in ids:
            ref = str(post_id)
            if not ref.isdigit():
                results.append(WriteResult(ref, ok=False, error=f"{ref!r} is not a post id"))
                continue
            response = self._wp.request("DELETE", f"posts/{ref}", params={"force": "true"})
            body = _json(response)
            if response.status_code < 300:
                results.append(WriteResult(ref, ok=True, target_id=ref, record=body))
            elif body.get("code") == "rest_post_invalid_id":
                results.append(
                    WriteResult(ref, ok=True, target_id=ref, extra={"already_absent": True})
                )
            else:
                results.append(item_failed(ref, response_error(response)))
        return results


def _login(name: str) -> str:
    """A WordPress login from a display name: "Inès Laurent" → "ines.laurent"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", ".", ascii_name.lower()).strip(".") or "author"


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
