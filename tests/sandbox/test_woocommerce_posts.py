"""WordPress wp/v2 (posts, tags, users, media) in a WooCommerce sandbox, over HTTP."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.sandbox.demo_catalog import seed_store
from apps.sandbox.models import Flavor
from apps.sandbox.services import create_sandbox_store

pytestmark = [pytest.mark.django_db]


class Site:
    def __init__(self, slug: str = "blog") -> None:
        self.sandbox, self.credentials = create_sandbox_store(
            slug=slug, name=slug, flavor=Flavor.WOOCOMMERCE
        )
        self.root = f"/sandbox/{slug}/wp-json/wp/v2/"
        self.client = Client()

    def auth(self, secret: str | None = None) -> dict[str, str]:
        pair = f"{self.credentials['consumer_key']}:{secret or self.credentials['consumer_secret']}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}

    def call(self, method: str, path: str, body=None, *, headers=None, **params):
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return self.client.generic(
            method,
            self.root + path + (f"?{query}" if query else ""),
            data=json.dumps(body) if body is not None else "",
            content_type="application/json",
            headers=self.auth() if headers is None else headers,
        )

    def get(self, path: str, **params):
        return self.call("GET", path, **params)


@pytest.fixture
def site() -> Site:
    return Site()


def test_create_renders_and_answers_the_edit_context(site):
    response = site.call(
        "POST",
        "posts",
        {
            "title": "Tips & Tricks",
            "content": "Hello world",
            "excerpt": "Short",
            "status": "publish",
        },
    )
    assert response.status_code == 201
    post = response.json()
    assert post["title"] == {"raw": "Tips & Tricks", "rendered": "Tips &#038; Tricks"}
    assert post["content"]["rendered"] == "<p>Hello world</p>\n"
    assert post["excerpt"]["rendered"] == "<p>Short</p>\n"
    assert (post["slug"], post["status"], post["type"]) == ("tips-tricks", "publish", "post")
    assert post["link"].endswith("/sandbox/blog/tips-tricks/")
    assert post["date_gmt"] and post["modified_gmt"]
    assert post["author"] == site.get("users/me").json()["id"]  # the credentials' user
    view = site.get(f"posts/{post['id']}").json()
    assert "raw" not in view["title"] and "generated_slug" not in view
    again = site.call("POST", "posts", {"title": "Tips & Tricks"}).json()
    assert again["slug"] == "tips-tricks-2" and again["status"] == "draft"
    assert again["date_gmt"] is None  # a draft's date floats until it is published


def test_public_reads_private_reads_and_writes(site):
    published = site.call("POST", "posts", {"title": "Open", "status": "publish"}).json()
    draft = site.call("POST", "posts", {"title": "Secret"}).json()
    guest = {"headers": {}}
    assert site.get("posts").json()[0]["id"] == published["id"]
    assert [p["id"] for p in site.call("GET", "posts", **guest).json()] == [published["id"]]
    assert site.call("GET", f"posts/{draft['id']}", **guest).status_code == 401
    forbidden = site.call("GET", "posts", status="any", **guest)
    assert (forbidden.status_code, forbidden.json()["code"]) == (401, "rest_forbidden_status")
    assert site.call("GET", "posts", context="edit", **guest).json()["code"] == (
        "rest_forbidden_context"
    )
    create = site.call("POST", "posts", {"title": "x"}, **guest)
    assert (create.status_code, create.json()["code"]) == (401, "rest_cannot_create")
    wrong = site.call("GET", "posts", headers=site.auth(secret="cs_nope"))
    assert (wrong.status_code, wrong.json()["code"]) == (401, "incorrect_password")
    assert site.get("nowhere").json()["code"] == "rest_no_route"


def test_errors_in_wordpress_words(site):
    assert site.call("POST", "posts", {"status": "draft"}).json()["code"] == "empty_content"
    assert site.call("POST", "posts", {"title": "x", "author": 999999}).json()["code"] == (
        "rest_invalid_author"
    )
    assert site.call("POST", "posts", {"title": "x", "featured_media": 4}).json()["code"] == (
        "rest_invalid_featured_media"
    )
    missing = site.get("posts/424242")
    assert (missing.status_code, missing.json()["code"]) == (404, "rest_post_invalid_id")
    assert site.call("POST", "posts", {"title": "x", "status": "live"}).status_code == 400


def test_update_trash_and_force_delete(site):
    post = site.call("POST", "posts", {"title": "First", "status": "publish"}).json()
    updated = site.call("POST", f"posts/{post['id']}", {"title": "Renamed"}).json()
    assert (updated["title"]["raw"], updated["slug"]) == ("Renamed", "first")
    trashed = site.call("DELETE", f"posts/{post['id']}")
    assert trashed.json()["status"] == "trash"
    assert site.get("posts", status="any")["X-WP-Total"] == "0"
    assert site.call("DELETE", f"posts/{post['id']}").status_code == 410
    gone = site.call("DELETE", f"posts/{post['id']}", force="true").json()
    assert gone["deleted"] is True and gone["previous"]["id"] == post["id"]


def test_tags_users_and_embeds(site):
    tag = site.call("POST", "tags", {"name": "Care & Repair"}).json()
    assert tag["name"] == "Care &amp; Repair"  # WordPress answers term names escaped
    assert (tag["slug"], tag["taxonomy"]) == ("care-repair", "post_tag")
    dup = site.call("POST", "tags", {"name": "care & repair"})
    assert dup.json() == {
        "code": "term_exists",
        "message": "A term with the name provided already exists in this taxonomy.",
        "data": {"status": 400, "term_id": tag["id"]},
    }
    user = site.call(
        "POST",
        "users",
        {"username": "maya", "name": "Maya L", "email": "maya@x.example", "password": "p"},
    ).json()
    again = site.call(
        "POST", "users", {"username": "MAYA", "email": "m2@x.example", "password": "p"}
    )
    assert again.json()["code"] == "existing_user_login"
    assert site.call("GET", "users", headers={}).status_code == 401
    post = site.call(
        "POST",
        "posts",
        {"title": "T", "status": "publish", "author": user["id"], "tags": [tag["id"], 999]},
    ).json()
    assert post["tags"] == [tag["id"]]
    assert site.get(f"tags/{tag['id']}").json()["count"] == 1
    embedded = site.get(f"posts/{post['id']}", _embed="1").json()["_embedded"]
    assert embedded["author"][0]["name"] == "Maya L"
    assert "email" not in embedded["author"][0]
    assert embedded["wp:term"][1] == [
        {
            "id": tag["id"],
            "link": tag["link"],
            "name": "Care &amp; Repair",
            "slug": "care-repair",
            "taxonomy": "post_tag",
        }
    ]
    assert site.call("DELETE", f"tags/{tag['id']}").status_code == 501
    assert site.call("DELETE", f"tags/{tag['id']}", force="true").json()["deleted"] is True
    assert site.get(f"posts/{post['id']}").json()["tags"] == []


def test_listing_pagination_modified_after_slug_and_search():
    site = Site("seeded")
    seed_store(site.sandbox, 0, posts=25, now=timezone.now() - timedelta(days=1))
    page = site.get("posts", status="any", per_page=10, page=3, orderby="id", order="asc")
    assert (page["X-WP-Total"], page["X-WP-TotalPages"], len(page.json())) == ("25", "3", 5)
    published = site.get("posts", per_page=100)
    drafts = site.get("posts", status="draft", per_page=100)
    assert int(published["X-WP-Total"]) + int(drafts["X-WP-Total"]) == 25
    posts = site.get("posts", status="any", per_page=100, orderby="id", order="asc").json()
    target = posts[3]
    site.call("POST", f"posts/{target['id']}", {"excerpt": "Changed"})
    cutoff = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    recent = site.get("posts", status="any", modified_after=cutoff)
    assert [p["id"] for p in recent.json()] == [target["id"]]
    [by_slug] = site.get("posts", status="any", slug=target["slug"]).json()
    assert by_slug["id"] == target["id"]
    word = target["title"]["rendered"].split()[1]
    assert target["id"] in {p["id"] for p in site.get("posts", status="any", search=word).json()}
    with_image = next(p for p in posts if p["featured_media"])
    embedded = site.get(f"posts/{with_image['id']}", _embed="1").json()["_embedded"]
    assert embedded["wp:featuredmedia"][0]["source_url"].startswith("https://images.example.com/")
    assert site.get("posts", tags=1).json()["code"] == "rest_invalid_param"
